package main

import (
	"bufio"
	"context"
	"encoding/json"
	"os/exec"
	"syscall"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/rds"

	"github.com/opsdeck/opsdeck/ops/runbook"
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

// The failover runbook's runner is killed with SIGKILL after its third
// step; `runbook resume` finishes the run and every resource exists once.
func TestRunbookSurvivesSIGKILL(t *testing.T) {
	cfg := seededConfig(t)
	state := t.TempDir()
	t.Setenv("XDG_STATE_HOME", state)
	bin := buildBinary(t)
	ctx := context.Background()
	a := seedDemo.Config.Account("initech-prod")
	dr, _, err := seedDemo.Broker.Config(ctx, a, "read", "eu-west-1")
	if err != nil {
		t.Fatal(err)
	}
	count := func() (snaps, images, dbs int) {
		s, err := rds.NewFromConfig(dr).DescribeDBSnapshots(ctx, &rds.DescribeDBSnapshotsInput{SnapshotType: aws.String("manual")})
		if err != nil {
			t.Fatal(err)
		}
		im, err := ec2.NewFromConfig(dr).DescribeImages(ctx, &ec2.DescribeImagesInput{Owners: []string{"self"}})
		if err != nil {
			t.Fatal(err)
		}
		d, err := rds.NewFromConfig(dr).DescribeDBInstances(ctx, &rds.DescribeDBInstancesInput{})
		if err != nil {
			t.Fatal(err)
		}
		return len(s.DBSnapshots), len(im.Images), len(d.DBInstances)
	}
	snaps0, images0, dbs0 := count()
	// Other tests in this package count initech's stacks: the app stack
	// this run makes is removed afterwards.
	t.Cleanup(func() {
		cloudformation.NewFromConfig(dr).DeleteStack(ctx, &cloudformation.DeleteStackInput{StackName: aws.String("initech-app-dr")})
	})

	cmd := exec.Command(bin, "runbook", "run", "region-failover", "--config", cfg, "--account", "initech-prod",
		"--param", "db=initech-prod-db", "--param", "stack=initech-app-dr", "--confirm-account", "initech-prod")
	cmd.Env = os.Environ()
	cmd.Stdin = strings.NewReader("checked the health page\n")
	stderr, _ := cmd.StderrPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(stderr)
	var seen []string
	for sc.Scan() {
		seen = append(seen, sc.Text())
		if strings.HasPrefix(sc.Text(), "[3/10] snapshot_ready done") {
			cmd.Process.Signal(syscall.SIGKILL)
			break
		}
	}
	cmd.Wait()
	journals, _ := filepath.Glob(filepath.Join(state, "opsdeck", "runbooks", "region-failover-*.jsonl"))
	if len(journals) != 1 {
		t.Fatalf("journals %v; output:\n%s", journals, strings.Join(seen, "\n"))
	}
	before, err := runbook.Read(journals[0])
	if err != nil || before.Finished != nil || len(before.Done) < 3 {
		t.Fatalf("after the kill: %v; done %d, finished %v; output:\n%s", err, len(before.Done), before.Finished, strings.Join(seen, "\n"))
	}

	res := exec.Command(bin, "runbook", "resume", journals[0], "--config", cfg, "--confirm-account", "initech-prod", "--json")
	res.Env = os.Environ()
	res.Stdin = strings.NewReader("checked the health page\n")
	var out, errs strings.Builder
	res.Stdout, res.Stderr = &out, &errs
	if err := res.Run(); err != nil {
		t.Fatalf("resume: %v\n%s\n%s", err, out.String(), errs.String())
	}
	st, err := runbook.Read(journals[0])
	if err != nil || st.Finished == nil || len(st.Done) != 10 {
		t.Fatalf("after resume: %+v %v", st, err)
	}
	for id := range before.Done {
		n := 0
		for _, r := range st.Records {
			if r.Type == "step-done" && r.Step == id {
				n++
			}
		}
		if n != 1 {
			t.Fatalf("step %s done %d times", id, n)
		}
	}
	snaps, images, dbs := count()
	if snaps != snaps0+1 || images != images0+1 || dbs != dbs0+1 {
		t.Fatalf("created: %d snapshot copies, %d AMIs, %d DB instances; want 1 each\n%s", snaps-snaps0, images-images0, dbs-dbs0, errs.String())
	}
	code, rep, _ := opsdeck(t, "runbook", "report", journals[0])
	if code != 0 || !strings.Contains(rep, "Account: initech-prod") || !strings.Contains(rep, "checked the health page") {
		t.Fatalf("report: %d\n%s", code, rep)
	}
}
