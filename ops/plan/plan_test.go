package plan

import (
	"context"
	"errors"
	"path/filepath"
	"testing"

	"github.com/opsdeck/opsdeck/ops/audit"
	"github.com/opsdeck/opsdeck/ops/emulator"
	"github.com/opsdeck/opsdeck/profiles"
)

func estate(t *testing.T) *profiles.Config {
	cfg, err := profiles.Parse("p.toml", []byte(emulator.DemoEstate().ConfigTOML()+"\n[environments.sandbox]\nprotection = \"read-only\"\n\n[[accounts]]\nid = \"299999999999\"\nname = \"sandbox\"\nenvironment = \"sandbox\"\n"))
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

func TestGuardAndAudit(t *testing.T) {
	cfg := estate(t)
	tests := []struct {
		name      string
		account   string
		readOnly  bool
		answer    string
		wantRun   bool
		wantPhase []string // journal phases, in order
	}{
		{"read-only flag refuses and sends nothing", "acme-test", true, "y", false, []string{"outcome:refused"}},
		{"read-only environment refuses", "sandbox", false, "y", false, []string{"outcome:refused"}},
		{"protected without the exact name refuses", "acme-prod", false, "y", false, []string{"outcome:refused"}},
		{"protected with a near miss refuses", "acme-prod", false, "acme-prod ", false, []string{"outcome:refused"}},
		{"protected with the name proceeds", "acme-prod", false, "acme-prod", true, []string{"intent:", "outcome:ok"}},
		{"confirm with y proceeds", "acme-qa", false, "y", true, []string{"intent:", "outcome:ok"}},
		{"confirm with no refuses", "acme-qa", false, "n", false, []string{"outcome:refused"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			j := audit.Open(filepath.Join(t.TempDir(), "audit.jsonl"))
			r := &Runner{Guard: profiles.Guard{ReadOnly: tt.readOnly}, Journal: j, Operator: "ops-jane",
				Confirm: func(context.Context, profiles.Gate, Plan) (string, error) { return tt.answer, nil }}
			p := Plan{Action: "backup.snapshot", Account: cfg.Account(tt.account), Region: "eu-north-1", Targets: []string{"vol-1"},
				Params: map[string]string{"reason": "test"}}
			ran := false
			_, err := r.Run(context.Background(), p, func(ctx context.Context, res *Result) error {
				ran = true
				res.Set("snapshot_id", "snap-1")
				return nil
			})
			if ran != tt.wantRun {
				t.Fatalf("executed = %v, want %v (err %v)", ran, tt.wantRun, err)
			}
			var re *RefusedError
			if !tt.wantRun && !errors.As(err, &re) {
				t.Fatalf("err = %v, want a refusal", err)
			}
			es, _, _ := audit.Read(j.Path)
			if len(es) != len(tt.wantPhase) {
				t.Fatalf("journal has %d entries, want %d: %+v", len(es), len(tt.wantPhase), es)
			}
			for i, w := range tt.wantPhase {
				if got := es[i].Phase + ":" + es[i].Outcome; got != w {
					t.Errorf("entry %d = %s, want %s", i, got, w)
				}
				if es[i].PlanHash != p.Hash() || es[i].Operator != "ops-jane" || es[i].AccountID != p.Account.ID {
					t.Errorf("entry %d lacks plan/operator/account: %+v", i, es[i])
				}
			}
			if tt.wantRun && es[1].Results["snapshot_id"] != "snap-1" {
				t.Error("outcome lacks the results")
			}
		})
	}
}

func TestFailedExecutionIsJournaled(t *testing.T) {
	cfg := estate(t)
	j := audit.Open(filepath.Join(t.TempDir(), "audit.jsonl"))
	r := &Runner{Journal: j, Confirm: func(context.Context, profiles.Gate, Plan) (string, error) { return "y", nil }}
	_, err := r.Run(context.Background(), Plan{Action: "x", Account: cfg.Account("acme-qa")}, func(context.Context, *Result) error {
		return errors.New("AccessDenied")
	})
	es, _, _ := audit.Read(j.Path)
	if err == nil || len(es) != 2 || es[1].Outcome != audit.Failed || es[1].Error != "AccessDenied" {
		t.Fatalf("err %v entries %+v", err, es)
	}
}

func TestUnwritableJournalStopsTheAction(t *testing.T) {
	cfg := estate(t)
	r := &Runner{Journal: audit.Open("/proc/opsdeck-cannot-write/audit.jsonl"),
		Confirm: func(context.Context, profiles.Gate, Plan) (string, error) { return "y", nil }}
	ran := false
	_, err := r.Run(context.Background(), Plan{Action: "x", Account: cfg.Account("acme-qa")}, func(context.Context, *Result) error { ran = true; return nil })
	if err == nil || ran {
		t.Fatalf("acted without a journal: err %v ran %v", err, ran)
	}
}

func TestHashAndDryRun(t *testing.T) {
	cfg := estate(t)
	a := Plan{Action: "x", Account: cfg.Account("acme-qa"), Params: map[string]string{"a": "1", "b": "2"}}
	b := Plan{Action: "x", Account: cfg.Account("acme-qa"), Params: map[string]string{"b": "2", "a": "1"}}
	c := Plan{Action: "x", Account: cfg.Account("acme-qa"), Params: map[string]string{"a": "1", "b": "3"}}
	if a.Hash() != b.Hash() || a.Hash() == c.Hash() || len(a.Token()) > 64 {
		t.Fatal("hash must depend on content only")
	}
	r := &Runner{DryRun: true}
	if _, err := r.Run(context.Background(), a, nil); !errors.Is(err, ErrDryRun) {
		t.Fatalf("dry run: %v", err)
	}
}
