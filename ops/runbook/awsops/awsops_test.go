package awsops

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/rds"
	"github.com/aws/aws-sdk-go-v2/service/ssm"

	"github.com/opsdeck/opsdeck/ops/audit"
	"github.com/opsdeck/opsdeck/ops/emulator"
	"github.com/opsdeck/opsdeck/ops/plan"
	"github.com/opsdeck/opsdeck/ops/runbook"
	"github.com/opsdeck/opsdeck/profiles"
)

var moto *emulator.Server

func TestMain(m *testing.M) { os.Exit(emulator.RunTests(m, &moto)) }

// executor acts in acct through the demo's broker, answering every guard
// (protected accounts by their name) and every manual step.
func executor(t *testing.T, d *emulator.Demo, acct string) (*Executor, *audit.Journal) {
	return executorSeeing(t, d, acct, nil)
}

// executorSeeing also hands every plan the guard sees to seen.
func executorSeeing(t *testing.T, d *emulator.Demo, acct string, seen func(plan.Plan)) (*Executor, *audit.Journal) {
	a := d.Config.Account(acct)
	j := audit.Open(filepath.Join(t.TempDir(), "audit.jsonl"))
	return &Executor{Account: a, Role: d.Config.DefaultRole(a), Operator: "ops-test", Poll: 10 * time.Millisecond,
		Configs: func(ctx context.Context, region string) (aws.Config, error) {
			c, _, err := d.Broker.Config(ctx, a, d.Config.DefaultRole(a), region)
			return c, err
		},
		Plans: &plan.Runner{Journal: j, Operator: "ops-test", Confirm: func(ctx context.Context, g profiles.Gate, p plan.Plan) (string, error) {
			if seen != nil {
				seen(p)
			}
			return p.Account.Name, nil
		}},
		Manual: func(ctx context.Context, st runbook.Step, instructions string) (string, error) {
			return "checked: " + instructions, nil
		},
		Template: FileTemplate,
	}, j
}

// The shipped failover runbook runs to completion against the seeded
// estate, and everything it says it made exists in the DR region.
func TestRegionFailoverAgainstMoto(t *testing.T) {
	d := moto.SharedDemo(t)
	ctx := context.Background()
	rb, err := runbook.Open("region-failover", d.Config)
	if err != nil {
		t.Fatal(err)
	}
	var deployPlan plan.Plan
	x, aj := executorSeeing(t, d, "acme-prod", func(p plan.Plan) {
		if p.Action == "runbook.stack.deploy" {
			deployPlan = p
		}
	})
	params, err := rb.Resolve(map[string]string{"db": "acme-prod-db", "stack": "acme-app-dr"})
	if err != nil {
		t.Fatal(err)
	}
	j := runbook.NewJournal(t.TempDir(), rb.Name, time.Now())
	r := &runbook.Runner{Exec: x, Operator: "ops-test"}
	if err := r.Start(ctx, rb, params, j); err != nil {
		t.Fatal(err)
	}
	st, err := runbook.Read(j.Path)
	if err != nil || st.Finished == nil || len(st.Done) != len(rb.Steps) {
		t.Fatalf("run: %+v %v", st, err)
	}
	t.Logf("run took %s", st.Finished.At.Sub(st.Start.At))
	dr := func() aws.Config {
		c, err := x.Configs(ctx, "eu-west-1")
		if err != nil {
			t.Fatal(err)
		}
		return c
	}()
	out := func(step, k string) string { return st.Done[step].Outputs[k] }

	snap := out("copy_snapshot", "snapshot_id")
	if s, err := rds.NewFromConfig(dr).DescribeDBSnapshots(ctx, &rds.DescribeDBSnapshotsInput{DBSnapshotIdentifier: aws.String(snap)}); err != nil || len(s.DBSnapshots) != 1 {
		t.Fatalf("snapshot copy %s in the DR region: %v", snap, err)
	}
	db, err := rds.NewFromConfig(dr).DescribeDBInstances(ctx, &rds.DescribeDBInstancesInput{DBInstanceIdentifier: aws.String("acme-prod-db-dr")})
	if err != nil || len(db.DBInstances) != 1 || out("db_ready", "endpoint") == "" {
		t.Fatalf("restored db: %v %q", err, out("db_ready", "endpoint"))
	}
	ami := out("copy_ami", "ami")
	if im, err := ec2.NewFromConfig(dr).DescribeImages(ctx, &ec2.DescribeImagesInput{ImageIds: []string{ami}}); err != nil || len(im.Images) != 1 {
		t.Fatalf("AMI copy %s: %v", ami, err)
	}
	stk, err := cloudformation.NewFromConfig(dr).DescribeStacks(ctx, &cloudformation.DescribeStacksInput{StackName: aws.String("acme-app-dr")})
	if err != nil || len(stk.Stacks) != 1 || aws.ToString(stk.Stacks[0].StackId) != out("deploy", "stack_id") {
		t.Fatalf("stack: %v", err)
	}
	// The guard was shown the change set's changes before it ran.
	if !strings.Contains(strings.Join(deployPlan.Steps, "\n"), "change set: Add Image (AWS::SSM::Parameter)") {
		t.Fatalf("deploy plan steps: %q", deployPlan.Steps)
	}
	// The emulator gives a stack made through a change set no Outputs:
	// the stack's own resources show it ran with the copied AMI.
	if p, err := ssm.NewFromConfig(dr).GetParameter(ctx, &ssm.GetParameterInput{Name: aws.String("/app/acme-app-dr/image")}); err != nil || aws.ToString(p.Parameter.Value) != ami {
		t.Fatalf("the stack's image parameter: %v", err)
	}
	p, err := ssm.NewFromConfig(dr).GetParameter(ctx, &ssm.GetParameterInput{Name: aws.String("/app/db/endpoint")})
	if err != nil || aws.ToString(p.Parameter.Value) != out("db_ready", "endpoint") {
		t.Fatalf("endpoint parameter: %v", err)
	}
	// Every action went through the guard and the journal: intent and outcome.
	es, _, _ := audit.Read(aj.Path)
	if len(es) != 2*5 {
		t.Fatalf("audit entries: %d", len(es))
	}
	rep, err := runbook.Report(st)
	if err != nil || !strings.Contains(rep, "| RPO | 24h0m0s |") || !strings.Contains(rep, "| 10 | smoke") {
		t.Fatalf("report: %v\n%s", err, rep)
	}
}

// The restore drill restores in the DR region and leaves nothing behind.
func TestRestoreDrillCleansUp(t *testing.T) {
	d := moto.SharedDemo(t)
	ctx := context.Background()
	rb, err := runbook.Open("restore-drill", d.Config)
	if err != nil {
		t.Fatal(err)
	}
	x, _ := executor(t, d, "initech-prod")
	params, err := rb.Resolve(map[string]string{"db": "initech-prod-db"})
	if err != nil {
		t.Fatal(err)
	}
	j := runbook.NewJournal(t.TempDir(), rb.Name, time.Now())
	if err := (&runbook.Runner{Exec: x}).Start(ctx, rb, params, j); err != nil {
		t.Fatal(err)
	}
	st, err := runbook.Read(j.Path)
	if err != nil || st.Finished == nil || st.Finished.Reason != "all steps done" {
		t.Fatalf("run: %+v %v", st.Finished, err)
	}
	dr, _ := x.Configs(ctx, "eu-west-1")
	if _, err := rds.NewFromConfig(dr).DescribeDBInstances(ctx, &rds.DescribeDBInstancesInput{DBInstanceIdentifier: aws.String("initech-prod-db-drill")}); err == nil {
		t.Fatal("the drill instance is still there")
	}
	copyID := st.Done["copy"].Outputs["snapshot_id"]
	if s, err := rds.NewFromConfig(dr).DescribeDBSnapshots(ctx, &rds.DescribeDBSnapshotsInput{DBSnapshotIdentifier: aws.String(copyID)}); err == nil && len(s.DBSnapshots) > 0 {
		t.Fatalf("the snapshot copy %s is still there", copyID)
	}
	if !strings.HasPrefix(st.Done["verify"].Outputs["note"], "checked: Connect to ") {
		t.Fatalf("manual step: %+v", st.Done["verify"])
	}
}
