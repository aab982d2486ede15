package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// runbook ls and plan: the shipped runbook resolves against the demo
// estate without calling AWS; bad parameters and files are bad input.
func TestRunbookLsAndPlan(t *testing.T) {
	cfg := demoConfigFile(t)
	code, out, errs := opsdeck(t, "runbook", "ls")
	if code != 0 || !strings.Contains(out, "region-failover  2h") {
		t.Fatalf("ls: %d %s %s", code, out, errs)
	}
	code, out, errs = opsdeck(t, "runbook", "plan", "region-failover", "--config", cfg, "--param", "db=orders-db", "--json")
	if code != 0 {
		t.Fatalf("plan: %d %s %s", code, out, errs)
	}
	var p struct {
		Accounts []string          `json:"accounts"`
		Params   map[string]string `json:"params"`
		Steps    []struct {
			ID     string            `json:"id"`
			Inputs map[string]string `json:"inputs"`
		} `json:"steps"`
	}
	if err := json.Unmarshal([]byte(out), &p); err != nil {
		t.Fatal(err)
	}
	if len(p.Accounts) == 0 || p.Params["db"] != "orders-db" || p.Params["image"] != "golden-base" || len(p.Steps) != 10 {
		t.Fatalf("plan %+v", p)
	}
	if in := p.Steps[3].Inputs; in["instance"] != "orders-db-dr" || in["region"] != "eu-west-1" || in["snapshot"] != "${steps.copy_snapshot.outputs.snapshot_id}" {
		t.Fatalf("restore inputs %v", in)
	}
	if code, _, errs := opsdeck(t, "runbook", "plan", "region-failover", "--config", cfg, "--param", "db=Orders DB", "--param", "colour=red"); code != exitBadInput ||
		!strings.Contains(errs, `parameter db: "Orders DB" does not match`) || !strings.Contains(errs, "--param colour") {
		t.Fatalf("bad params: %d %s", code, errs)
	}
	bad := filepath.Join(t.TempDir(), "bad.toml")
	os.WriteFile(bad, []byte("name = \"x\"\nsteps = 3\n"), 0o600)
	if code, _, errs := opsdeck(t, "runbook", "plan", bad, "--config", cfg); code != exitBadInput || !strings.Contains(errs, "bad.toml:2:") {
		t.Fatalf("bad file: %d %s", code, errs)
	}
	if code, _, errs := opsdeck(t, "runbook", "plan", "no-such-runbook", "--config", cfg); code == 0 || !strings.Contains(errs, "opsdeck runbook ls") {
		t.Fatalf("unknown: %d %s", code, errs)
	}
}
