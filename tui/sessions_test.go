package tui

import (
	"strings"
	"testing"
	"time"

	"github.com/opsdeck/opsdeck/ops/fleet"
	"github.com/opsdeck/opsdeck/ops/sessions"
	"github.com/opsdeck/opsdeck/tui/table"
)

// openFixture puts screen k on the model without running its loader.
func openFixture(m *Model, k Kind, s Screen) {
	m.screens[k] = s
	m.stack = append(m.stack, k)
	s.SetSize(m.bodySize())
}

func TestGoldenJumpboxes(t *testing.T) {
	cfg := demoConfig(t)
	m := newTestModel(t, cfg, 120, 30, Options{})
	identify(m, "acme-prod", "read", 50*time.Minute)
	s := newJumpboxes(m.ctx).(*jumpboxesScreen)
	openFixture(m, JumpboxesKind, s)
	s.fan.reqID, s.fan.total, s.fan.loading = 1, 3, true
	tg := func(a, r string) fleet.Target { return fleet.Target{Account: cfg.Account(a), Region: r} }
	rows := func(t fleet.Target, jbs ...sessions.Jumpbox) []table.Row {
		out := make([]table.Row, len(jbs))
		for i, j := range jbs {
			out[i] = table.Row{Key: t.String() + "/" + j.InstanceID, Data: jumpboxRef{t, j},
				Cells: []string{t.Account.Name, t.Region, j.InstanceID, j.Name, j.State, j.Ping, j.AgentVersion, j.PrivateIP}}
		}
		return out
	}
	s.Update(fanRowsMsg{owner: JumpboxesKind, reqID: 1, rows: rows(tg("acme-prod", "eu-north-1"),
		sessions.Jumpbox{InstanceID: "i-0a1b2c3d4e5f60718", Name: "acme-prod-jumpbox", State: "running", Ping: "Online", AgentVersion: "3.3.1000.0", PrivateIP: "10.0.1.10"},
		sessions.Jumpbox{InstanceID: "i-0ffffeeee11112222", Name: "acme-prod-jumpbox-old", State: "running", Ping: "ConnectionLost", AgentVersion: "3.1.90.0", PrivateIP: "10.0.1.11"})})
	s.Update(fanRowsMsg{owner: JumpboxesKind, reqID: 1, rows: rows(tg("acme-test", "eu-north-1"),
		sessions.Jumpbox{InstanceID: "i-0123456789abcdef0", Name: "acme-test-jumpbox", State: "running", Ping: "unknown", PrivateIP: "10.1.1.10"})})
	s.Update(fanRowsMsg{owner: JumpboxesKind, reqID: 1, err: true, rows: []table.Row{s.fan.errRow(tg("globex-prod", "eu-north-1"), "AccessDenied: not authorized")}})
	s.Update(fanDoneMsg{owner: JumpboxesKind, reqID: 1})
	golden(t, "jumpboxes_120x30", m.Render())
	out := stripANSI(m.Render())
	for _, want := range []string{"3/3 targets", "1 failed", "3 jumpboxes", "TARGET FAILED"} {
		if !strings.Contains(out, want) {
			t.Errorf("screen lacks %q", want)
		}
	}
	// f asks for HOST:PORT; a bad answer explains the format.
	press(m, "f")
	if !s.asking {
		t.Fatal("f did not open the forward prompt")
	}
	golden(t, "jumpboxes_forward_prompt_120x30", m.Render())
	for range "localhost:22" {
		m.Update(keyMsg("backspace"))
	}
	typeText(m, "db.internal")
	_, cmd := m.Update(keyMsg("enter"))
	if msg, ok := cmd().(ErrorMsg); !ok || !strings.Contains(msg.Err.Error(), "is not HOST:PORT") {
		t.Fatalf("bad HOST:PORT: %#v", msg)
	}
	// Read-only hides the forward key.
	ro := newTestModel(t, cfg, 120, 30, Options{ReadOnly: true})
	jr := newJumpboxes(ro.ctx).(*jumpboxesScreen)
	for _, k := range jr.Keys() {
		if k.Help().Key == "f" {
			t.Fatal("read-only shows the forward key")
		}
	}
}

func TestGoldenTunnels(t *testing.T) {
	cfg := demoConfig(t)
	m := newTestModel(t, cfg, 120, 30, Options{})
	s := newTunnels(m.ctx).(*tunnelsScreen)
	openFixture(m, TunnelsKind, s)
	a := cfg.Account("acme-prod")
	rows := []table.Row{
		{Key: "1", Data: 1, Cells: []string{"127.0.0.1:15432", "acme-prod-db (acme-prod-db.x.eu-north-1.rds.amazonaws.com:5432)", "i-0a1b2c3d4e5f60718", a.Name, "open", countdown(42 * time.Minute), "0", ""}},
		{Key: "2", Data: 2, Cells: []string{"127.0.0.1:2222", "i-0a1b2c3d4e5f60718:22", "i-0a1b2c3d4e5f60718", a.Name, "restarting", "", "3", "connection dropped by the service"}},
	}
	s.tbl.SetRows(rows)
	golden(t, "tunnels_120x30", m.Render())
	// Without a manager (no Run), x is harmless.
	press(m, "x")
}
