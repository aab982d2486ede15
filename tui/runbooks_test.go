package tui

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"

	"github.com/opsdeck/opsdeck/ops/runbook"
	"github.com/opsdeck/opsdeck/profiles"
)

// :runbooks against the emulator: the failover runbook runs in the current
// account with its parameters edited, every action asks the guard (a
// protected account: its name is typed), the manual step takes a note,
// and the run finishes with its journal.
func TestFlowRunbook(t *testing.T) {
	t.Setenv("XDG_STATE_HOME", t.TempDir())
	demo := seededDemo(t, context.Background())
	b := profiles.NewBroker(demo.Config, profiles.BrokerOptions{RetryMaxAttempts: 1})
	m := New(Options{Config: demo.Config, Broker: b, Now: time.Now})
	d := newDriver(t, m)
	d.send(tea.WindowSizeMsg{Width: 140, Height: 40})
	a := demo.Config.Account("initech-prod")
	m.ctx.Identity = Identity{Account: a, Role: demo.Config.DefaultRole(a), Region: "eu-north-1"}
	asked := 0
	d.dialogConfirm(nil)
	d.keys(":")
	d.typeText("runbooks")
	d.keys("enter")
	d.waitFor("the runbooks screen", func() bool { _, ok := m.current().(*runbooksScreen); return ok })
	s := m.current().(*runbooksScreen)
	d.keys("r")
	if s.asking == nil || !strings.HasPrefix(s.edit.value, "db=app-db ") {
		t.Fatalf("parameters prompt: %q", s.edit.value)
	}
	if v := s.View(); !strings.Contains(v, "the RDS instance in the primary region") {
		t.Fatalf("parameters prompt view:\n%s", v)
	}
	d.send(tea.KeyPressMsg{Code: 'u', Mod: tea.ModCtrl})
	d.typeText("db=initech-prod-db stack=initech-app-dr")
	d.keys("enter")
	for {
		d.waitFor("a guard, the manual step or the end", func() bool {
			return m.mode == modeConfirm || (s.run != nil && (s.run.manual != nil || s.run.done))
		})
		if s.run.done {
			break
		}
		if s.run.manual != nil {
			if !strings.Contains(s.View(), "MANUAL: Check the application answers") {
				t.Fatalf("manual step view:\n%s", s.View())
			}
			d.typeText("health page ok")
			d.keys("enter")
			continue
		}
		asked++
		if m.confirm.gate.Level != profiles.Protected {
			t.Fatalf("initech-prod's gate: %v", m.confirm.gate.Level)
		}
		d.typeText("initech-prod")
		d.keys("enter")
	}
	if s.run.err != nil {
		t.Fatalf("run: %v\n%s", s.run.err, s.View())
	}
	if asked != 5 {
		t.Fatalf("guard dialogs: %d, want one per action (5)", asked)
	}
	st, err := runbook.Read(s.run.journal)
	if err != nil || st.Finished == nil || st.Done["smoke"].Outputs["note"] != "health page ok" || st.Start.Account != "initech-prod" {
		t.Fatalf("journal: %+v %v", st, err)
	}
	v := s.View()
	for _, want := range []string{"✓ 10. smoke", "of RTO 2h0m0s", "finished", "RTO  2h0m0s", "RPO  24h0m0s"} {
		if !strings.Contains(v, want) {
			t.Errorf("view lacks %q:\n%s", want, v)
		}
	}
	d.waitFor("the footer", func() bool { return strings.Contains(m.footer, "opsdeck runbook report") })
}

// The runbooks list, the parameters prompt and a run in progress (one step
// done, one retrying, a manual step asking), at both sizes.
func TestGoldenRunbooks(t *testing.T) {
	cfg := demoConfig(t)
	for _, sz := range goldenSizes {
		t.Run(sz.name, func(t *testing.T) {
			m := newTestModel(t, cfg, sz.w, sz.h, Options{})
			identify(m, "acme-prod", "operate", 42*time.Minute)
			m.Update(NavigateMsg{Kind: RunbooksKind})
			golden(t, "runbooks_list_"+sz.name, m.Render())
			press(m, "r")
			golden(t, "runbooks_params_"+sz.name, m.Render())
			press(m, "esc")

			s := m.current().(*runbooksScreen)
			rb := s.rbs[0]
			s.run = &runState{rb: rb, journal: "/state/opsdeck/runbooks/region-failover-20261122-030000.jsonl", account: "acme-prod",
				started: fixedNow.Add(-95 * time.Minute), status: map[string]runbook.Event{
					"latest":        {Step: rb.Steps[0], Status: "done", Outputs: map[string]string{"snapshot_id": "acme-prod-db-nightly-2", "age": "3h0m0s"}},
					"copy_snapshot": {Step: rb.Steps[1], Status: "retrying", Attempt: 2, Inputs: map[string]string{"snapshot": "acme-prod-db-nightly-2", "to_region": "eu-west-1"}, Err: fmt.Errorf("Throttling: rate exceeded")},
				}, current: "copy_snapshot",
				manual: &manualAsk{step: rb.Steps[9], instructions: "Open the app's health page and confirm it reads from the DR database."}}
			golden(t, "runbooks_run_"+sz.name, m.Render())
		})
	}
}
