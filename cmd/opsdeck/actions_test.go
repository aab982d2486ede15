package main

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/rds"

	"github.com/opsdeck/opsdeck/ops/audit"
)

// dbSnapshots counts the DB snapshots of a seeded account's database.
func dbSnapshots(t *testing.T, account, region string) int {
	t.Helper()
	a := seedDemo.Config.Account(account)
	c, _, err := seedDemo.Broker.Config(context.Background(), a, "read", region)
	if err != nil {
		t.Fatal(err)
	}
	out, err := rds.NewFromConfig(c).DescribeDBSnapshots(context.Background(), &rds.DescribeDBSnapshotsInput{
		DBInstanceIdentifier: aws.String(seedDemo.Seeded.Accounts[account].DBInstance)})
	if err != nil {
		t.Fatal(err)
	}
	return len(out.DBSnapshots)
}

func journal(t *testing.T) []audit.Entry {
	t.Helper()
	es, warns, err := audit.Read(audit.DefaultPath())
	if err != nil || len(warns) > 0 {
		t.Fatalf("journal: %v %v", warns, err)
	}
	return es
}

func TestMutatingCommandsGuardAuditDryRun(t *testing.T) {
	cfg := seededConfig(t)
	t.Setenv("XDG_STATE_HOME", t.TempDir())
	db := seedDemo.Seeded.Accounts["globex-prod"].DBInstance
	before := dbSnapshots(t, "globex-prod", "eu-north-1")
	snap := []string{"backup", "snapshot", "globex-prod", "eu-north-1", db, "--config", cfg, "--reason", "pre-change"}

	// --dry-run prints the plan and creates nothing.
	code, out, errs := opsdeck(t, append(snap, "--dry-run", "--json")...)
	if code != 0 || !strings.Contains(out, `"dry_run": true`) || !strings.Contains(out, `"plan_hash"`) {
		t.Fatalf("dry run: exit %d %s %s", code, out, errs)
	}
	// Protected without the account name: refused, nothing sent.
	code, _, errs = opsdeck(t, snap...)
	if code != exitFailure || !strings.Contains(errs, "pass --confirm-account globex-prod") {
		t.Fatalf("protected without name: exit %d %s", code, errs)
	}
	// A near miss is no confirmation.
	code, _, _ = opsdeck(t, append(snap, "--confirm-account", "globex-qa", "--yes")...)
	if code != exitFailure {
		t.Fatalf("wrong account name accepted: exit %d", code)
	}
	// --read-only wins over everything.
	code, _, errs = opsdeck(t, append([]string{"--read-only"}, append(snap, "--confirm-account", "globex-prod")...)...)
	if code != exitFailure || !strings.Contains(errs, "--read-only") {
		t.Fatalf("read-only: exit %d %s", code, errs)
	}
	if got := dbSnapshots(t, "globex-prod", "eu-north-1"); got != before {
		t.Fatalf("refusals and the dry run created %d snapshots", got-before)
	}
	if es := journal(t); len(es) != 3 || es[0].Outcome != audit.Refused || es[2].Outcome != audit.Refused {
		t.Fatalf("refusals not journaled: %+v", es)
	}
	// With the exact name it proceeds: intent then outcome, with results.
	code, out, errs = opsdeck(t, append(snap, "--confirm-account", "globex-prod", "--json")...)
	if code != 0 {
		t.Fatalf("confirmed: exit %d %s", code, errs)
	}
	var res struct {
		Results map[string]string `json:"results"`
	}
	json.Unmarshal([]byte(out), &res)
	if dbSnapshots(t, "globex-prod", "eu-north-1") != before+1 || res.Results["db_snapshot_id"] == "" {
		t.Fatalf("snapshot not taken: %s", out)
	}
	es := journal(t)
	intent, outcome := es[len(es)-2], es[len(es)-1]
	if intent.Phase != audit.Intent || outcome.Phase != audit.Outcome || outcome.Outcome != audit.OK || intent.PlanHash != outcome.PlanHash ||
		intent.AccountID != seedDemo.Config.Account("globex-prod").ID || intent.Params["reason"] != "pre-change" || outcome.Results["db_snapshot_id"] == "" {
		t.Fatalf("intent/outcome: %+v / %+v", intent, outcome)
	}

	// Copy and restore across regions through the CLI.
	sid := res.Results["db_snapshot_id"]
	code, out, errs = opsdeck(t, "backup", "copy", "globex-prod", "eu-north-1", sid, "--to-region", "eu-west-1", "--confirm-account", "globex-prod", "--config", cfg, "--json")
	if code != 0 {
		t.Fatalf("copy: %d %s", code, errs)
	}
	json.Unmarshal([]byte(out), &res)
	code, out, errs = opsdeck(t, "backup", "restore", "globex-prod", "eu-west-1", res.Results["db_snapshot_id"], "--new-id", "globex-prod-db-dr",
		"--confirm-account", "globex-prod", "--config", cfg, "--json")
	if code != 0 || !strings.Contains(out, "globex-prod-db-dr") {
		t.Fatalf("restore: %d %s %s", code, out, errs)
	}
	// Confirm-level accounts take --yes; without it (and no terminal) they refuse.
	code, _, errs = opsdeck(t, "patch", "scan", "--select", "globex-test", "--regions", "eu-north-1", "--targets", "tag:Role=app", "--config", cfg)
	if code != exitFailure || !strings.Contains(errs, "pass --yes") {
		t.Fatalf("patch without --yes: exit %d %s", code, errs)
	}
	code, out, errs = opsdeck(t, "patch", "scan", "--select", "globex-test,globex-qa", "--regions", "eu-north-1", "--targets", "tag:Role=app", "--yes", "--config", cfg, "--json")
	if code != 0 || strings.Count(out, `"command_id"`) != 2 || !strings.Contains(out, "not available on this endpoint") {
		t.Fatalf("patch scan: exit %d\n%s\n%s", code, out, errs)
	}
	// Every change is in the journal as intent + outcome.
	pairs := map[string]int{}
	for _, e := range journal(t) {
		if e.Outcome != audit.Refused {
			pairs[e.Action+" "+e.Phase]++
		}
	}
	for _, a := range []string{"backup.snapshot", "backup.copy", "backup.restore", "patch.scan"} {
		if pairs[a+" intent"] == 0 || pairs[a+" intent"] != pairs[a+" outcome"] {
			t.Errorf("%s: %d intents, %d outcomes", a, pairs[a+" intent"], pairs[a+" outcome"])
		}
	}
	code, out, _ = opsdeck(t, "audit", "--account", "globex-prod", "--json")
	if code != 0 || !strings.Contains(out, "backup.restore") || strings.Contains(out, "globex-test") {
		t.Fatalf("audit --account: %d %s", code, out)
	}
}
