package patch

import (
	"context"
	"errors"
	"os"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	ssmtypes "github.com/aws/aws-sdk-go-v2/service/ssm/types"

	"github.com/opsdeck/opsdeck/ops/awsx"
	"github.com/opsdeck/opsdeck/ops/emulator"
	"github.com/opsdeck/opsdeck/ops/plan"
)

var moto *emulator.Server

func TestMain(m *testing.M) { os.Exit(emulator.RunTests(m, &moto)) }

var scan = Options{Operation: "Scan", MaxConcurrency: "10%", MaxErrors: "1", Reboot: "NoReboot"}

// Against the emulator: the command goes to tag-selected instances in
// several accounts (the emulator targets by tag, not id), each account
// sees only its own command, and a retry of a plan does not send twice.
func TestSendByTagInSeveralAccounts(t *testing.T) {
	ctx := context.Background()
	d, err := emulator.SeedDemo(ctx, moto, emulator.DemoEstate(), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	targets, _ := ParseTargets("tag:Role=app", nil)
	ids := map[string]string{}
	for _, name := range []string{"acme-test", "globex-qa", "initech-prod"} {
		a := d.Config.Account(name)
		c, _, err := d.Broker.Config(ctx, a, "read", "eu-north-1")
		if err != nil {
			t.Fatal(err)
		}
		api := ssm.NewFromConfig(c)
		p := plan.Plan{Action: "patch.scan", Account: a, Region: "eu-north-1", Targets: []string{targets.String()}, Params: map[string]string{"at": "x"}}
		res := &plan.Result{}
		id, err := Send(ctx, api, p, targets, scan, res)
		if err != nil {
			t.Fatal(err)
		}
		ids[name] = id
		if res.Results["target_count"] != "2" {
			t.Errorf("%s: target count %s, want the 2 app servers", name, res.Results["target_count"])
		}
		again, err := Send(ctx, api, p, targets, scan, &plan.Result{})
		if err != nil || again != id {
			t.Errorf("%s: retry sent %s, want the first command %s", name, again, id)
		}
		out, err := api.ListCommands(ctx, &ssm.ListCommandsInput{})
		if err != nil {
			t.Fatal(err)
		}
		if len(out.Commands) != 1 {
			t.Fatalf("%s sees %d commands, want only its own", name, len(out.Commands))
		}
		cmd := out.Commands[0]
		if aws.ToString(cmd.DocumentName) != Document || aws.ToString(cmd.MaxConcurrency) != "10%" || len(cmd.Targets) != 1 ||
			aws.ToString(cmd.Targets[0].Key) != "tag:Role" || cmd.Parameters["Operation"][0] != "Scan" {
			t.Errorf("%s: command %+v", name, cmd)
		}
		// Per-instance results are not in the emulator: a clear error.
		_, err = Follow(ctx, api, id, time.Millisecond, nil)
		var ue *awsx.UnavailableError
		if !errors.As(err, &ue) {
			t.Errorf("Follow against the emulator: %v", err)
		}
	}
	if ids["acme-test"] == ids["globex-qa"] {
		t.Fatal("accounts share a command")
	}
}

// fakeSSM stands in for ListCommandInvocations and
// DescribeInstancePatchStates, which the emulator lacks: two instances,
// one finishing a poll later than the other.
type fakeSSM struct {
	SSMAPI
	polls int
}

func (f *fakeSSM) ListCommandInvocations(_ context.Context, in *ssm.ListCommandInvocationsInput, _ ...func(*ssm.Options)) (*ssm.ListCommandInvocationsOutput, error) {
	if in.NextToken == nil {
		f.polls++ // one round = both pages
	}
	second := ssmtypes.CommandInvocationStatusInProgress
	if f.polls >= 2 {
		second = ssmtypes.CommandInvocationStatusFailed
	}
	if in.NextToken == nil {
		return &ssm.ListCommandInvocationsOutput{NextToken: aws.String("p2"), CommandInvocations: []ssmtypes.CommandInvocation{
			{InstanceId: aws.String("i-2"), Status: ssmtypes.CommandInvocationStatusSuccess}}}, nil
	}
	return &ssm.ListCommandInvocationsOutput{CommandInvocations: []ssmtypes.CommandInvocation{
		{InstanceId: aws.String("i-1"), Status: second, StatusDetails: aws.String("Failed")}}}, nil
}

func (f *fakeSSM) DescribeInstancePatchStates(_ context.Context, in *ssm.DescribeInstancePatchStatesInput, _ ...func(*ssm.Options)) (*ssm.DescribeInstancePatchStatesOutput, error) {
	var out []ssmtypes.InstancePatchState
	for i, id := range in.InstanceIds {
		out = append(out, ssmtypes.InstancePatchState{InstanceId: aws.String(id), InstalledCount: int32(40 + i), MissingCount: int32(i * 3),
			FailedCount: 0, Operation: ssmtypes.PatchOperationTypeScan, OperationEndTime: aws.Time(time.Unix(1_800_000_000, 0)), BaselineId: aws.String("pb-1")})
	}
	return &ssm.DescribeInstancePatchStatesOutput{InstancePatchStates: out}, nil
}

func TestFollowAndStatesWithFakes(t *testing.T) {
	f := &fakeSSM{}
	var rounds [][2]int
	invs, err := Follow(context.Background(), f, "cmd-1", time.Millisecond, func(done, total int) { rounds = append(rounds, [2]int{done, total}) })
	if err != nil || len(invs) != 2 || invs[0].InstanceID != "i-1" || invs[0].Status != "Failed" || invs[1].Status != "Success" {
		t.Fatalf("invocations %+v %v", invs, err)
	}
	if len(rounds) != 2 || rounds[0] != [2]int{1, 2} || rounds[1] != [2]int{2, 2} {
		t.Fatalf("progress rounds %v", rounds)
	}
	ids := make([]string, 120)
	for i := range ids {
		ids[i] = "i-" + string(rune('a'+i%26)) + string(rune('a'+i/26))
	}
	states, err := States(context.Background(), f, ids)
	if err != nil || len(states) != 120 {
		t.Fatalf("states: %d %v", len(states), err)
	}
	nc := 0
	for _, s := range states {
		if s.NonCompliant {
			nc++
		}
	}
	if nc == 0 || nc == 120 {
		t.Fatalf("non-compliant count %d", nc)
	}
}

func TestParseTargetsAndOptions(t *testing.T) {
	tests := []struct {
		tag     string
		ids     []string
		wantErr bool
	}{
		{"tag:Role=app", nil, false}, {"Role=app", nil, true}, {"tag:Role=", nil, true},
		{"", []string{"i-1", "i-2"}, false}, {"", []string{"vol-1"}, true}, {"", nil, true}, {"tag:a=b", []string{"i-1"}, true},
	}
	for _, tt := range tests {
		if _, err := ParseTargets(tt.tag, tt.ids); (err != nil) != tt.wantErr {
			t.Errorf("ParseTargets(%q, %v) = %v", tt.tag, tt.ids, err)
		}
	}
	bad := []Options{{Operation: "Nuke", MaxConcurrency: "1", MaxErrors: "1", Reboot: "NoReboot"},
		{Operation: "Scan", MaxConcurrency: "0", MaxErrors: "1", Reboot: "NoReboot"},
		{Operation: "Scan", MaxConcurrency: "ten", MaxErrors: "1", Reboot: "NoReboot"},
		{Operation: "Scan", MaxConcurrency: "10%", MaxErrors: "1", Reboot: "maybe"}}
	for _, o := range bad {
		if o.Validate() == nil {
			t.Errorf("%+v accepted", o)
		}
	}
	if scan.Validate() != nil {
		t.Fatal("valid options refused")
	}
}
