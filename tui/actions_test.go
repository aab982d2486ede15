package tui

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"

	"github.com/opsdeck/opsdeck/ops/audit"
	"github.com/opsdeck/opsdeck/ops/backup"
	"github.com/opsdeck/opsdeck/ops/fleet"
	"github.com/opsdeck/opsdeck/ops/plan"
	"github.com/opsdeck/opsdeck/profiles"
	"github.com/opsdeck/opsdeck/tui/table"
)

// The guard dialog: protected accounts want the name typed; confirm
// accounts take y/N; both drive the real runner and journal.
func TestGuardDialog(t *testing.T) {
	cfg := demoConfig(t)
	m := newTestModel(t, cfg, 120, 34, Options{})
	d := newDriver(t, m)
	m.ctx.AuditPath = filepath.Join(t.TempDir(), "audit.jsonl")
	// The dialog is reached the way Run wires it: the runner's Confirm
	// sends a message to the program and waits for the answer.
	m.ctx.Confirm = func(ctx context.Context, gate profiles.Gate, p plan.Plan) (string, error) {
		reply := make(chan mfaReply, 1)
		d.msgs <- confirmPromptMsg{plan: p, gate: gate, reply: reply}
		r := <-reply
		return r.code, r.err
	}
	run := func(account string) tea.Cmd {
		p := plan.New("backup.snapshot", cfg.Account(account), "eu-north-1", "read", "ops-demo", "test", []string{"vol-1"}, map[string]string{"resource": "vol-1"})
		p.Params["at"] = "2026-11-22T09:00Z"
		return runAction(m.ctx, p, func(ctx context.Context, res *plan.Result) error { res.Set("snapshot_id", "snap-123"); return nil })
	}
	results := make(chan tea.Msg, 4)
	start := func(cmd tea.Cmd) {
		go func() { results <- cmd() }()
		d.waitFor("the dialog", func() bool { return m.mode == modeConfirm })
	}
	finish := func() actionDoneMsg {
		select {
		case r := <-results:
			return r.(actionDoneMsg)
		case <-time.After(20 * time.Second):
			t.Fatal("the action never finished")
		}
		return actionDoneMsg{}
	}

	// Protected: a wrong name refuses; nothing runs.
	start(run("acme-prod"))
	golden(t, "guard_protected_120x34", m.Render())
	d.typeText("acme-pro")
	d.keys("enter")
	if done := finish(); done.err == nil || !strings.Contains(done.err.Error(), "type the account name") {
		t.Fatalf("wrong name: %v", done.err)
	}
	// Protected: the exact name runs it.
	start(run("acme-prod"))
	d.typeText("acme-prod")
	d.keys("enter")
	if done := finish(); done.err != nil || done.res.Results["snapshot_id"] != "snap-123" {
		t.Fatalf("confirmed run: %+v %v", done.res, done.err)
	}
	// Confirm level: y runs, without enter.
	start(run("acme-qa"))
	golden(t, "guard_confirm_120x34", m.Render())
	d.keys("y")
	if done := finish(); done.err != nil {
		t.Fatal(done.err)
	}
	if m.mode != modeNormal {
		t.Fatal("dialog still open")
	}
	es, _, _ := audit.Read(m.ctx.AuditPath)
	var phases []string
	for _, e := range es {
		phases = append(phases, e.Phase+":"+e.Outcome)
	}
	if strings.Join(phases, " ") != "outcome:refused intent: outcome:ok intent: outcome:ok" {
		t.Fatalf("journal: %v", phases)
	}
	// :audit shows them, newest first.
	m.Update(NavigateMsg{Kind: AuditKind})
	golden(t, "audit_120x34", strings.ReplaceAll(stripTimes(m.Render()), m.ctx.AuditPath, "$XDG_STATE_HOME/opsdeck/audit.jsonl"))
}

func TestReadOnlyHidesMutatingKeys(t *testing.T) {
	cfg := demoConfig(t)
	m := newTestModel(t, cfg, 120, 30, Options{ReadOnly: true})
	for _, c := range m.commands() {
		if c.Name == "patch" {
			t.Fatal("read-only offers :patch")
		}
	}
	s := newBackups(m.ctx).(*backupsScreen)
	for _, k := range s.Keys() {
		if h := k.Help().Key; h == "s" || h == "c" || h == "r" {
			t.Fatalf("read-only shows %s", h)
		}
	}
}

func TestGoldenBackups(t *testing.T) {
	cfg := demoConfig(t)
	m := newTestModel(t, cfg, 140, 30, Options{})
	s := newBackups(m.ctx).(*backupsScreen)
	openFixture(m, BackupsKind, s)
	s.fan.reqID, s.fan.total, s.fan.loading = 1, 2, true
	tg := fleet.Target{Account: cfg.Account("acme-prod"), Region: "eu-north-1"}
	now := fixedNow
	rs := []backup.Resource{
		{ID: "acme-prod-db", Kind: backup.RDSInstance, Points: []backup.Point{{ID: "acme-prod-db-nightly-2", Created: now.Add(-30 * time.Hour)}}, Newest: now.Add(-30 * time.Hour), Stale: true},
		{ID: "vol-0a1b2c3d4e5f60718", Kind: backup.EBSVolume, Points: []backup.Point{{ID: "snap-0123456789abcdef0", Created: now.Add(-2 * time.Hour)}}, Newest: now.Add(-2 * time.Hour)},
		{ID: "vol-0ffffeeee11112222", Kind: backup.EBSVolume, Stale: true},
	}
	var rows []table.Row
	for _, r := range rs {
		newest, ag := "never", "-"
		if len(r.Points) > 0 {
			newest, ag = r.Points[0].ID, age(now, r.Newest)
		}
		rpo := "24h0m0s"
		if r.Stale {
			rpo = "BREACH 24h00m"
		}
		rows = append(rows, table.Row{Key: tg.String() + "/" + r.ID, Data: backupRef{tg, r}, Cells: []string{tg.Account.Name, tg.Region, r.ID, string(r.Kind), "1", newest, ag, rpo}})
	}
	s.Update(fanRowsMsg{owner: BackupsKind, reqID: 1, rows: rows})
	s.Update(fanDoneMsg{owner: BackupsKind, reqID: 1})
	golden(t, "backups_140x30", m.Render())
}

// stripTimes blanks wall-clock times so the audit golden is stable.
func stripTimes(s string) string {
	for i := 0; i+19 <= len(s); i++ {
		if s[i:i+2] == "20" && len(s) > i+19 && s[i+4] == '-' && s[i+7] == '-' && s[i+10] == ' ' && s[i+13] == ':' {
			s = s[:i] + "YYYY-MM-DD hh:mm:ss" + s[i+19:]
		}
	}
	return s
}
