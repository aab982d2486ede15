package emulator

import (
	"context"
	"os"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/aws-sdk-go-v2/service/rds"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
)

var moto *Server

func TestMain(m *testing.M) { os.Exit(RunTests(m, &moto)) }

func TestSeedDemo(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	d, err := SeedDemo(ctx, moto, DemoEstate(), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if len(d.Seeded.Accounts) != 11 || len(d.Config.Customers()) != 4 {
		t.Fatalf("seeded %d accounts, %d customers", len(d.Seeded.Accounts), len(d.Config.Customers()))
	}
	// Every account holds its own resources, visible only through its role.
	for _, name := range []string{"acme-prod", "globex-test", "platform-dr"} {
		a := d.Config.Account(name)
		seeded := d.Seeded.Accounts[name]
		cfg, _, err := d.Broker.Config(ctx, a, "read", a.Regions[0])
		if err != nil {
			t.Fatal(err)
		}
		stacks, err := cloudformation.NewFromConfig(cfg).ListStacks(ctx, &cloudformation.ListStacksInput{})
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, s := range stacks.StackSummaries {
			got = append(got, aws.ToString(s.StackName))
		}
		want := append([]string(nil), seeded.Stacks[a.Regions[0]]...)
		sort.Strings(got)
		sort.Strings(want)
		if len(got) != len(want) || (len(got) > 0 && got[0] != want[0]) {
			t.Errorf("%s stacks = %v, want %v", name, got, want)
		}
		if name == "platform-dr" {
			continue
		}
		inst, err := ec2.NewFromConfig(cfg).DescribeInstances(ctx, &ec2.DescribeInstancesInput{
			Filters: []ec2types.Filter{{Name: aws.String("tag:Role"), Values: []string{"jumpbox"}}}})
		if err != nil {
			t.Fatal(err)
		}
		if len(inst.Reservations) != 1 || aws.ToString(inst.Reservations[0].Instances[0].InstanceId) != seeded.Jumpbox {
			t.Errorf("%s: jumpbox not found by tag", name)
		}
		snaps, err := rds.NewFromConfig(cfg).DescribeDBSnapshots(ctx, &rds.DescribeDBSnapshotsInput{DBInstanceIdentifier: aws.String(seeded.DBInstance)})
		if err != nil {
			t.Fatal(err)
		}
		if len(snaps.DBSnapshots) < 2 {
			t.Errorf("%s: %d DB snapshots", name, len(snaps.DBSnapshots))
		}
		p, err := ssm.NewFromConfig(cfg).GetParameter(ctx, &ssm.GetParameterInput{Name: aws.String("/opsdeck/images/golden-base/stable")})
		if err != nil {
			t.Fatal(err)
		}
		if aws.ToString(p.Parameter.Value) != seeded.Images["stable"] {
			t.Errorf("%s: stable channel = %s", name, aws.ToString(p.Parameter.Value))
		}
	}
}

func TestStartStopLeavesNothing(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	s, err := Start(ctx, Options{})
	if err != nil {
		t.Fatal(err)
	}
	pid := s.PID()
	s.Stop()
	s.Stop() // idempotent
	if err := s.Reset(ctx); err == nil {
		t.Fatal("stopped server still answers")
	}
	// Stop waited for the process; signal 0 probes whether the pid is gone.
	if err := syscall.Kill(pid, 0); err == nil {
		t.Fatalf("moto pid %d still alive", pid)
	}
}

func TestMissingMotoSaysHowToInstall(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	_, err := Start(context.Background(), Options{})
	if err != ErrNoMoto {
		t.Fatalf("err = %v", err)
	}
	if want := "pip install 'moto[server]'"; !strings.Contains(err.Error(), want) {
		t.Fatalf("error lacks %s", want)
	}
}
