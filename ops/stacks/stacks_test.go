package stacks

import (
	"context"
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation"
	cfn "github.com/aws/aws-sdk-go-v2/service/cloudformation/types"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/smithy-go"

	"github.com/opsdeck/opsdeck/ops/emulator"
	"github.com/opsdeck/opsdeck/ops/fleet"
	"github.com/opsdeck/opsdeck/profiles"
)

var moto *emulator.Server

func TestMain(m *testing.M) { os.Exit(emulator.RunTests(m, &moto)) }

// seeded returns the demo estate, seeded once for the package.
func seeded(t *testing.T) *emulator.Demo { return moto.SharedDemo(t) }

// denySTS refuses AssumeRole into one account, as a missing trust policy
// would; everything else goes to moto.
type denySTS struct {
	profiles.STSAPI
	account string
}

func (d denySTS) AssumeRole(ctx context.Context, in *sts.AssumeRoleInput, o ...func(*sts.Options)) (*sts.AssumeRoleOutput, error) {
	if strings.Contains(aws.ToString(in.RoleArn), d.account) {
		return nil, &smithy.GenericAPIError{Code: "AccessDenied", Message: "User is not authorized to perform: sts:AssumeRole"}
	}
	return d.STSAPI.AssumeRole(ctx, in, o...)
}

func TestListAcrossAccountsAndRegions(t *testing.T) {
	d := seeded(t)
	ctx := context.Background()
	accts, err := d.Config.Select("customer=acme,customer=globex")
	if err != nil {
		t.Fatal(err)
	}
	globexProd := d.Config.Account("globex-prod")
	acmeQA := d.Config.Account("acme-qa")
	b := profiles.NewBroker(d.Config, profiles.BrokerOptions{RetryMaxAttempts: 1, NewSTS: func(c aws.Config) profiles.STSAPI {
		return denySTS{sts.NewFromConfig(c), globexProd.ID}
	}})
	// acme-qa's eu-west-1 endpoint refuses connections.
	factory := func(c aws.Config, t fleet.Target) API {
		if t.Account == acmeQA && t.Region == "eu-west-1" {
			c.BaseEndpoint = aws.String("http://127.0.0.1:1")
		}
		return New(c)
	}
	targets := fleet.Targets(accts, nil)
	got := map[string][]string{}
	errs := map[string]string{}
	for r := range ListAcross(ctx, b, targets, fleet.Options{Concurrency: 4}, Filter{}, factory) {
		if r.Err != nil {
			errs[r.Target.String()] = r.Err.Error()
			continue
		}
		for _, s := range r.Value {
			got[r.Target.String()] = append(got[r.Target.String()], s.Name)
		}
	}
	if len(errs) != 3 {
		t.Fatalf("errors = %v", errs)
	}
	if !strings.Contains(errs["globex-prod/eu-north-1"], "AccessDenied") || !strings.Contains(errs["globex-prod/eu-west-1"], "AccessDenied") {
		t.Errorf("role failure not reported per target: %v", errs)
	}
	if !strings.Contains(errs["acme-qa/eu-west-1"], "connect") {
		t.Errorf("refused endpoint not reported: %v", errs)
	}
	// Every other target answered, with its own account's stacks only.
	for _, tg := range targets {
		k := tg.String()
		if _, failed := errs[k]; failed {
			continue
		}
		want := d.Seeded.Accounts[tg.Account.Name].Stacks[tg.Region]
		if strings.Join(got[k], ",") != strings.Join(sortedCopy(want), ",") {
			t.Errorf("%s: stacks %v, want %v", k, got[k], want)
		}
		for _, n := range got[k] {
			if !strings.HasPrefix(n, tg.Account.Name+"-") {
				t.Errorf("%s lists %s from another account", k, n)
			}
		}
	}
}

func sortedCopy(s []string) []string {
	c := append([]string(nil), s...)
	for i := range c {
		for j := i + 1; j < len(c); j++ {
			if c[j] < c[i] {
				c[i], c[j] = c[j], c[i]
			}
		}
	}
	return c
}

func TestShowResourcesEventsTemplate(t *testing.T) {
	d := seeded(t)
	ctx := context.Background()
	cfg, _, err := d.Broker.Config(ctx, d.Config.Account("initech-qa"), "read", "eu-north-1")
	if err != nil {
		t.Fatal(err)
	}
	api := New(cfg)
	det, err := Describe(ctx, api, "initech-qa-network")
	if err != nil {
		t.Fatal(err)
	}
	if det.Status != "CREATE_COMPLETE" || len(det.Outputs) != 3 || det.Outputs[0].Key != "SecurityGroupId" || !strings.HasPrefix(det.Outputs[2].Value, "vpc-") {
		t.Fatalf("detail = %+v", det)
	}
	if len(det.Parameters) != 2 || det.Tags["opsdeck:demo"] != "true" {
		t.Fatalf("parameters %v tags %v", det.Parameters, det.Tags)
	}
	res, err := Resources(ctx, api, "initech-qa-network")
	if err != nil {
		t.Fatal(err)
	}
	if len(res) != 3 || res[2].LogicalID != "Vpc" || res[2].Type != "AWS::EC2::VPC" || !strings.HasPrefix(res[2].PhysicalID, "vpc-") {
		t.Fatalf("resources = %+v", res)
	}
	evs, err := Events(ctx, api, "initech-qa-network", "", 20)
	if err != nil || len(evs) == 0 {
		t.Fatalf("events %v %v", evs, err)
	}
	for i := 1; i < len(evs); i++ {
		if evs[i].Time.After(evs[i-1].Time) {
			t.Fatal("events not newest first")
		}
	}
	// The since cursor returns only newer events: none after the newest.
	newer, err := Events(ctx, api, "initech-qa-network", evs[0].ID, 0)
	if err != nil || len(newer) != 0 {
		t.Fatalf("since newest: %v %v", newer, err)
	}
	tpl, err := Template(ctx, api, "initech-qa-network")
	if err != nil || !strings.Contains(tpl, "AWS::EC2::VPC") {
		t.Fatalf("template %q %v", tpl, err)
	}
	if _, err := Describe(ctx, api, "no-such-stack"); err == nil || !strings.Contains(err.Error(), "no-such-stack") {
		t.Fatalf("missing stack: %v", err)
	}
}

func TestDriftUnavailableOnEmulator(t *testing.T) {
	d := seeded(t)
	ctx := context.Background()
	cfg, _, err := d.Broker.Config(ctx, d.Config.Account("acme-test"), "read", "eu-north-1")
	if err != nil {
		t.Fatal(err)
	}
	_, err = Drift(ctx, New(cfg), "acme-test-app", DriftOptions{})
	if !errors.Is(err, ErrDriftUnavailable) || !strings.Contains(err.Error(), "drift detection is not available on this endpoint") {
		t.Fatalf("err = %v", err)
	}
}

func TestFilter(t *testing.T) {
	d := seeded(t)
	ctx := context.Background()
	cfg, _, _ := d.Broker.Config(ctx, d.Config.Account("acme-test"), "read", "eu-north-1")
	got, err := List(ctx, New(cfg), Filter{Name: "*-app"})
	if err != nil || len(got) != 1 || got[0].Name != "acme-test-app" {
		t.Fatalf("name filter: %v %v", got, err)
	}
	got, err = List(ctx, New(cfg), Filter{Statuses: []string{"UPDATE_IN_PROGRESS"}})
	if err != nil || len(got) != 0 {
		t.Fatalf("status filter: %v %v", got, err)
	}
	if err := ValidateFilter(Filter{Statuses: []string{"DONE"}}); err == nil {
		t.Fatal("unknown status accepted")
	}
}

// fakeDrift stands in for CloudFormation drift detection, which the
// emulator lacks: detection runs for two polls, then reports one drifted
// resource with two differences across two pages.
type fakeDrift struct {
	API
	polls int
}

func (f *fakeDrift) DetectStackDrift(context.Context, *cloudformation.DetectStackDriftInput, ...func(*cloudformation.Options)) (*cloudformation.DetectStackDriftOutput, error) {
	return &cloudformation.DetectStackDriftOutput{StackDriftDetectionId: aws.String("det-1")}, nil
}

func (f *fakeDrift) DescribeStackDriftDetectionStatus(_ context.Context, in *cloudformation.DescribeStackDriftDetectionStatusInput, _ ...func(*cloudformation.Options)) (*cloudformation.DescribeStackDriftDetectionStatusOutput, error) {
	f.polls++
	out := &cloudformation.DescribeStackDriftDetectionStatusOutput{StackDriftDetectionId: in.StackDriftDetectionId,
		DetectionStatus: cfn.StackDriftDetectionStatusDetectionInProgress, Timestamp: aws.Time(time.Unix(1_800_000_000, 0))}
	if f.polls >= 3 {
		out.DetectionStatus = cfn.StackDriftDetectionStatusDetectionComplete
		out.StackDriftStatus = cfn.StackDriftStatusDrifted
		out.DriftedStackResourceCount = aws.Int32(1)
	}
	return out, nil
}

func (f *fakeDrift) DescribeStackResourceDrifts(_ context.Context, in *cloudformation.DescribeStackResourceDriftsInput, _ ...func(*cloudformation.Options)) (*cloudformation.DescribeStackResourceDriftsOutput, error) {
	if in.NextToken == nil {
		return &cloudformation.DescribeStackResourceDriftsOutput{NextToken: aws.String("p2"), StackResourceDrifts: []cfn.StackResourceDrift{
			{LogicalResourceId: aws.String("Bucket"), PhysicalResourceId: aws.String("b-1"), ResourceType: aws.String("AWS::S3::Bucket"), StackResourceDriftStatus: cfn.StackResourceDriftStatusInSync},
		}}, nil
	}
	return &cloudformation.DescribeStackResourceDriftsOutput{StackResourceDrifts: []cfn.StackResourceDrift{
		{LogicalResourceId: aws.String("AppSecurityGroup"), PhysicalResourceId: aws.String("sg-1"), ResourceType: aws.String("AWS::EC2::SecurityGroup"),
			StackResourceDriftStatus: cfn.StackResourceDriftStatusModified, PropertyDifferences: []cfn.PropertyDifference{
				{PropertyPath: aws.String("/SecurityGroupIngress/0/CidrIp"), ExpectedValue: aws.String("10.0.0.0/16"), ActualValue: aws.String("0.0.0.0/0"), DifferenceType: cfn.DifferenceTypeNotEqual},
				{PropertyPath: aws.String("/Tags/1"), ActualValue: aws.String(`{"Key":"hotfix","Value":"yes"}`), DifferenceType: cfn.DifferenceTypeAdd},
			}},
	}}, nil
}

var _ API = (*fakeDrift)(nil)

func TestDriftWithFake(t *testing.T) {
	f := &fakeDrift{}
	var seen []string
	rep, err := Drift(context.Background(), f, "web", DriftOptions{Poll: time.Millisecond, Progress: func(s string) { seen = append(seen, s) }})
	if err != nil {
		t.Fatal(err)
	}
	if f.polls != 3 || len(seen) != 3 || seen[2] != "DETECTION_COMPLETE" {
		t.Fatalf("polls %d, progress %v", f.polls, seen)
	}
	if rep.Status != "DRIFTED" || rep.Drifted != 1 || len(rep.Resources) != 2 {
		t.Fatalf("report = %+v", rep)
	}
	sg := rep.Resources[0] // drifted first
	if sg.LogicalID != "AppSecurityGroup" || sg.Status != "MODIFIED" || len(sg.Diffs) != 2 ||
		sg.Diffs[0].Expected != "10.0.0.0/16" || sg.Diffs[0].Actual != "0.0.0.0/0" || sg.Diffs[1].Kind != "ADD" {
		t.Fatalf("drifted resource = %+v", sg)
	}
}

func TestClassAndTerminal(t *testing.T) {
	tests := []struct{ give, class string }{
		{"CREATE_COMPLETE", "complete"}, {"UPDATE_IN_PROGRESS", "progress"}, {"UPDATE_ROLLBACK_COMPLETE", "rollback"},
		{"ROLLBACK_IN_PROGRESS", "progress"}, {"CREATE_FAILED", "failed"}, {"DELETE_COMPLETE", "deleted"},
	}
	for _, tt := range tests {
		if got := Class(tt.give); got != tt.class {
			t.Errorf("Class(%s) = %s, want %s", tt.give, got, tt.class)
		}
	}
	if Terminal("UPDATE_IN_PROGRESS") || !Terminal("UPDATE_COMPLETE") {
		t.Fatal("Terminal")
	}
}
