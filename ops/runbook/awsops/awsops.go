// Package awsops binds the runbook operations to AWS: backups, restores,
// image channels, change-set deploys, SSM parameters and commands. Every
// action runs through the guard and the audit journal (plan.Runner) with
// the step's idempotency token as its plan key, so a retry or a resume
// after a crash finds what the first attempt made.
package awsops

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation"
	cfntypes "github.com/aws/aws-sdk-go-v2/service/cloudformation/types"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/aws-sdk-go-v2/service/rds"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	ssmtypes "github.com/aws/aws-sdk-go-v2/service/ssm/types"

	"github.com/opsdeck/opsdeck/images/promote"
	"github.com/opsdeck/opsdeck/ops/awsx"
	"github.com/opsdeck/opsdeck/ops/backup"
	"github.com/opsdeck/opsdeck/ops/plan"
	"github.com/opsdeck/opsdeck/ops/runbook"
	"github.com/opsdeck/opsdeck/profiles"
)

// Configs gives an aws.Config for the run's account in a region (the
// broker, in opsdeck).
type Configs func(ctx context.Context, region string) (aws.Config, error)

// Executor runs steps in one account.
type Executor struct {
	Account  *profiles.Account
	Role     string
	Operator string
	Configs  Configs
	Plans    *plan.Runner
	// Manual shows a manual step's instructions and returns the operator's
	// note once they confirm it is done.
	Manual func(ctx context.Context, st runbook.Step, instructions string) (string, error)
	// Template reads a stack template named in a runbook (relative to it).
	Template func(rb *runbook.Runbook, name string) ([]byte, error)
	// Poll is the wait between state checks (default 5s).
	Poll time.Duration
	// Now is the clock for recovery-point ages.
	Now func() time.Time
}

// Exec implements runbook.Executor.
func (x *Executor) Exec(ctx context.Context, rb *runbook.Runbook, st runbook.Step, in map[string]string, token string) (runbook.Outcome, error) {
	region := in["region"]
	if region == "" {
		region = rb.Targets.Primary
	}
	cfg, err := x.Configs(ctx, region)
	if err != nil {
		return runbook.Outcome{}, err
	}
	switch st.Op {
	case "backup.latest":
		return x.latest(ctx, rb, cfg, in)
	case "image.current":
		ami, err := promote.Current(ctx, ssm.NewFromConfig(cfg), in["image"], cmp.Or(in["channel"], "stable"))
		if err == nil && ami == "" {
			err = fmt.Errorf("channel %s of image %s is empty in %s/%s", cmp.Or(in["channel"], "stable"), in["image"], x.Account.Name, region)
		}
		return out("ami", ami), err
	case "wait.snapshot":
		return x.waitSnapshot(ctx, cfg, in)
	case "wait.db":
		return x.waitDB(ctx, cfg, in)
	case "wait.stack":
		return x.waitStack(ctx, cfg, in)
	case "manual":
		if x.Manual == nil {
			return runbook.Outcome{}, errors.New("a manual step needs an operator: run it from the terminal or the UI")
		}
		note, err := x.Manual(ctx, st, in["instructions"])
		return out("confirmed_by", x.Operator, "note", note), err
	}
	// Actions: through the guard and the journal.
	p := plan.New("runbook."+st.Op, x.Account, region, x.Role, x.Operator, rb.Name+" step "+st.ID, []string{st.ID}, copyMap(in))
	p.Key = token
	p.Steps = []string{st.Title}
	var prepared *changeSet
	if st.Op == "stack.deploy" {
		// The change set is made first, so the guard shows its changes.
		body, err := x.Template(rb, in["template"])
		if err != nil {
			return runbook.Outcome{}, err
		}
		if prepared, err = prepareChangeSet(ctx, cloudformation.NewFromConfig(cfg), in, string(body), p.Token(), x.poll()); err != nil {
			return runbook.Outcome{}, err
		}
		for _, c := range prepared.changes {
			p.Steps = append(p.Steps, "change set: "+c)
		}
		if len(prepared.changes) == 0 {
			p.Steps = append(p.Steps, "change set: no resource changes")
		}
	}
	var o runbook.Outcome
	res, err := x.Plans.Run(ctx, p, func(ctx context.Context, res *plan.Result) error {
		var err error
		o, err = x.action(ctx, rb, st, cfg, region, in, p, res, prepared)
		return err
	})
	if res != nil {
		o.RequestIDs = append(o.RequestIDs, res.RequestIDs...)
	}
	return o, err
}

func (x *Executor) action(ctx context.Context, rb *runbook.Runbook, st runbook.Step, cfg aws.Config, region string, in map[string]string, p plan.Plan, res *plan.Result, prepared *changeSet) (runbook.Outcome, error) {
	bo := backup.Options{Poll: x.poll()}
	switch st.Op {
	case "backup.copy":
		dst, err := x.Configs(ctx, in["to_region"])
		if err != nil {
			return runbook.Outcome{}, err
		}
		// The copy is made (and found again) in the destination.
		p.Region = in["to_region"]
		err = backup.Copy(ctx, clients(cfg), clients(dst), p, in["snapshot"], region, in["kms_key"], res, bo)
		return out("snapshot_id", cmp.Or(res.Results["snapshot_id"], res.Results["db_snapshot_id"])), err
	case "rds.restore":
		ro := backup.RestoreOptions{NewID: in["instance"], SubnetGroup: in["subnet_group"]}
		if sg := in["security_groups"]; sg != "" {
			ro.SecurityGroups = strings.Split(sg, ",")
		}
		err := backup.Restore(ctx, clients(cfg), p, in["snapshot"], ro, res, bo)
		return out("instance", res.Results["db_instance"], "endpoint", res.Results["endpoint"]), err
	case "image.copy":
		return x.copyImage(ctx, cfg, region, in, p, res)
	case "rds.delete":
		return deleteDB(ctx, rds.NewFromConfig(cfg), in["instance"], res)
	case "snapshot.delete":
		return deleteSnapshot(ctx, ec2.NewFromConfig(cfg), rds.NewFromConfig(cfg), in["snapshot"], res)
	case "image.promote":
		ami, err := promote.Move(ctx, ssm.NewFromConfig(cfg), in["image"], in["from"], in["to"])
		return out("ami", ami), err
	case "ssm.put_parameter":
		return putParameter(ctx, ssm.NewFromConfig(cfg), in, res)
	case "ssm.run_command":
		return runCommand(ctx, ssm.NewFromConfig(cfg), in, p, res)
	case "stack.deploy":
		if prepared == nil {
			return runbook.Outcome{}, errors.New("stack.deploy without a change set")
		}
		return deploy(ctx, cloudformation.NewFromConfig(cfg), prepared, res, x.poll())
	}
	return runbook.Outcome{}, fmt.Errorf("op %s is not bound to AWS", st.Op)
}

func clients(c aws.Config) backup.Clients {
	return backup.Clients{EC2: ec2.NewFromConfig(c), RDS: rds.NewFromConfig(c)}
}

// latest finds the newest completed recovery point of a resource and
// fails when it is older than max_age (default: the RPO).
func (x *Executor) latest(ctx context.Context, rb *runbook.Runbook, cfg aws.Config, in map[string]string) (runbook.Outcome, error) {
	_, rpo := rb.Objectives.Durations()
	if s := in["max_age"]; s != "" {
		d, err := time.ParseDuration(s)
		if err != nil {
			return runbook.Outcome{}, fmt.Errorf("max_age %q: %v", s, err)
		}
		rpo = d
	}
	now := x.now()
	rs, err := backup.List(ctx, clients(cfg), now, rpo, in["resource"])
	if err != nil {
		return runbook.Outcome{}, err
	}
	for _, r := range rs {
		if r.ID != in["resource"] {
			continue
		}
		for _, pt := range r.Points {
			if pt.State != "" && pt.State != "available" && pt.State != "completed" {
				continue
			}
			age := now.Sub(pt.Created).Round(time.Second)
			o := out("snapshot_id", pt.ID, "created_at", pt.Created.UTC().Format(time.RFC3339), "age", age.String())
			if age > rpo {
				return o, fmt.Errorf("the newest recovery point of %s (%s) is %s old, beyond the %s allowed: take a snapshot first (opsdeck backup snapshot)", r.ID, pt.ID, age, rpo)
			}
			return o, nil
		}
		return runbook.Outcome{}, fmt.Errorf("%s has no completed recovery point in %s", r.ID, x.Account.Name)
	}
	return runbook.Outcome{}, fmt.Errorf("no resource %q in %s: check the runbook's parameters", in["resource"], x.Account.Name)
}

func (x *Executor) waitSnapshot(ctx context.Context, cfg aws.Config, in map[string]string) (runbook.Outcome, error) {
	id := in["snapshot"]
	return x.wait(ctx, in, "snapshot "+id, func() (string, bool, error) {
		if strings.HasPrefix(id, "snap-") {
			o, err := ec2.NewFromConfig(cfg).DescribeSnapshots(ctx, &ec2.DescribeSnapshotsInput{SnapshotIds: []string{id}})
			if err != nil || len(o.Snapshots) == 0 {
				return "", false, notFound(id, err)
			}
			s := string(o.Snapshots[0].State)
			return s, s == "completed", nil
		}
		o, err := rds.NewFromConfig(cfg).DescribeDBSnapshots(ctx, &rds.DescribeDBSnapshotsInput{DBSnapshotIdentifier: aws.String(id)})
		if err != nil || len(o.DBSnapshots) == 0 {
			return "", false, notFound(id, err)
		}
		s := aws.ToString(o.DBSnapshots[0].Status)
		return s, s == "available", nil
	}, nil)
}

func (x *Executor) waitDB(ctx context.Context, cfg aws.Config, in map[string]string) (runbook.Outcome, error) {
	id, want := in["instance"], cmp.Or(in["state"], "available")
	endpoint := ""
	return x.wait(ctx, in, "DB instance "+id, func() (string, bool, error) {
		o, err := rds.NewFromConfig(cfg).DescribeDBInstances(ctx, &rds.DescribeDBInstancesInput{DBInstanceIdentifier: aws.String(id)})
		if err != nil || len(o.DBInstances) == 0 {
			return "", false, notFound(id, err)
		}
		db := o.DBInstances[0]
		if db.Endpoint != nil {
			endpoint = aws.ToString(db.Endpoint.Address)
		}
		s := aws.ToString(db.DBInstanceStatus)
		return s, s == want, nil
	}, func(o map[string]string) { o["endpoint"] = endpoint })
}

func (x *Executor) waitStack(ctx context.Context, cfg aws.Config, in map[string]string) (runbook.Outcome, error) {
	name := in["stack"]
	return x.wait(ctx, in, "stack "+name, func() (string, bool, error) {
		o, err := cloudformation.NewFromConfig(cfg).DescribeStacks(ctx, &cloudformation.DescribeStacksInput{StackName: aws.String(name)})
		if err != nil || len(o.Stacks) == 0 {
			return "", false, notFound(name, err)
		}
		s := string(o.Stacks[0].StackStatus)
		if want := in["state"]; want != "" {
			return s, s == want, nil
		}
		if strings.HasSuffix(s, "_IN_PROGRESS") {
			return s, false, nil
		}
		if strings.Contains(s, "ROLLBACK") || strings.HasSuffix(s, "_FAILED") {
			return s, false, fmt.Errorf("stack %s is %s", name, s)
		}
		return s, true, nil
	}, nil)
}

// wait polls check until it is done, fails, or the step's timeout (default
// 30m) passes.
func (x *Executor) wait(ctx context.Context, in map[string]string, what string, check func() (string, bool, error), extra func(map[string]string)) (runbook.Outcome, error) {
	timeout := 30 * time.Minute
	if s := in["timeout"]; s != "" {
		d, err := time.ParseDuration(s)
		if err != nil {
			return runbook.Outcome{}, fmt.Errorf("timeout %q: %v", s, err)
		}
		timeout = d
	}
	deadline := time.Now().Add(timeout)
	for {
		state, done, err := check()
		if err != nil {
			return runbook.Outcome{}, err
		}
		if done {
			o := out("state", state)
			if extra != nil {
				extra(o.Outputs)
			}
			return o, nil
		}
		if time.Now().After(deadline) {
			return runbook.Outcome{}, fmt.Errorf("%s is still %s after %s: look at it in the console, then resume the run (the wait starts again)", what, state, timeout)
		}
		select {
		case <-ctx.Done():
			return runbook.Outcome{}, ctx.Err()
		case <-time.After(x.poll()):
		}
	}
}

// copyImage copies an AMI into another region once per token: the emulator
// ignores CopyImage's ClientToken, so the copy is found by its tag too.
func (x *Executor) copyImage(ctx context.Context, cfg aws.Config, region string, in map[string]string, p plan.Plan, res *plan.Result) (runbook.Outcome, error) {
	dstCfg, err := x.Configs(ctx, in["to_region"])
	if err != nil {
		return runbook.Outcome{}, err
	}
	dst := ec2.NewFromConfig(dstCfg)
	found, err := dst.DescribeImages(ctx, &ec2.DescribeImagesInput{Owners: []string{"self"},
		Filters: []ec2types.Filter{{Name: aws.String("tag:" + backup.TagPlan), Values: []string{p.Token()}}}})
	if err != nil {
		return runbook.Outcome{}, fmt.Errorf("look for an earlier copy: %w", err)
	}
	if len(found.Images) > 0 {
		return out("ami", aws.ToString(found.Images[0].ImageId)), nil
	}
	src, err := ec2.NewFromConfig(cfg).DescribeImages(ctx, &ec2.DescribeImagesInput{ImageIds: []string{in["ami"]}})
	if err != nil || len(src.Images) == 0 {
		return runbook.Outcome{}, fmt.Errorf("AMI %s in %s: %v", in["ami"], region, awsx.OrNotFound(err))
	}
	o, err := dst.CopyImage(ctx, &ec2.CopyImageInput{SourceImageId: aws.String(in["ami"]), SourceRegion: aws.String(region),
		Name: src.Images[0].Name, Description: src.Images[0].Description, ClientToken: aws.String(p.Token()), CopyImageTags: aws.Bool(true)})
	if err != nil {
		return runbook.Outcome{}, fmt.Errorf("copy %s to %s: %w", in["ami"], in["to_region"], err)
	}
	res.Add(o.ResultMetadata)
	ami := aws.ToString(o.ImageId)
	tags := []ec2types.Tag{{Key: aws.String(backup.TagPlan), Value: aws.String(p.Token())}, {Key: aws.String("opsdeck:copied-from"), Value: aws.String(region + ":" + in["ami"])}}
	for _, t := range src.Images[0].Tags {
		if strings.HasPrefix(aws.ToString(t.Key), "opsdeck:") && aws.ToString(t.Key) != backup.TagPlan {
			tags = append(tags, t)
		}
	}
	if _, err := dst.CreateTags(ctx, &ec2.CreateTagsInput{Resources: []string{ami}, Tags: tags}); err != nil {
		return out("ami", ami), fmt.Errorf("tag the copy %s: %w", ami, err)
	}
	return out("ami", ami), nil
}

// RDSDeleter is what a drill's RDS cleanup needs.
type RDSDeleter interface {
	DeleteDBInstance(ctx context.Context, in *rds.DeleteDBInstanceInput, o ...func(*rds.Options)) (*rds.DeleteDBInstanceOutput, error)
	DeleteDBSnapshot(ctx context.Context, in *rds.DeleteDBSnapshotInput, o ...func(*rds.Options)) (*rds.DeleteDBSnapshotOutput, error)
}

// EBSDeleter is what a drill's EBS cleanup needs.
type EBSDeleter interface {
	DeleteSnapshot(ctx context.Context, in *ec2.DeleteSnapshotInput, o ...func(*ec2.Options)) (*ec2.DeleteSnapshotOutput, error)
}

// deleteDB deletes an instance without a final snapshot; one already gone
// (an earlier attempt) is success.
func deleteDB(ctx context.Context, api RDSDeleter, id string, res *plan.Result) (runbook.Outcome, error) {
	o, err := api.DeleteDBInstance(ctx, &rds.DeleteDBInstanceInput{DBInstanceIdentifier: aws.String(id), SkipFinalSnapshot: aws.Bool(true),
		DeleteAutomatedBackups: aws.Bool(true)})
	if awsx.IsNotFound(err) {
		return out("deleted", id+" (already gone)"), nil
	}
	if err != nil {
		return runbook.Outcome{}, fmt.Errorf("delete DB instance %s: %w", id, err)
	}
	res.Add(o.ResultMetadata)
	return out("deleted", id), nil
}

// deleteSnapshot deletes an EBS or RDS snapshot; one already gone is
// success.
func deleteSnapshot(ctx context.Context, ebs EBSDeleter, db RDSDeleter, id string, res *plan.Result) (runbook.Outcome, error) {
	var err error
	if strings.HasPrefix(id, "snap-") {
		var o *ec2.DeleteSnapshotOutput
		if o, err = ebs.DeleteSnapshot(ctx, &ec2.DeleteSnapshotInput{SnapshotId: aws.String(id)}); err == nil {
			res.Add(o.ResultMetadata)
		}
	} else {
		var o *rds.DeleteDBSnapshotOutput
		if o, err = db.DeleteDBSnapshot(ctx, &rds.DeleteDBSnapshotInput{DBSnapshotIdentifier: aws.String(id)}); err == nil {
			res.Add(o.ResultMetadata)
		}
	}
	if awsx.IsNotFound(err) {
		return out("deleted", id+" (already gone)"), nil
	}
	if err != nil {
		return runbook.Outcome{}, fmt.Errorf("delete snapshot %s: %w", id, err)
	}
	return out("deleted", id), nil
}

// SSMParams is what ssm.put_parameter needs.
type SSMParams interface {
	PutParameter(ctx context.Context, in *ssm.PutParameterInput, o ...func(*ssm.Options)) (*ssm.PutParameterOutput, error)
	GetParameter(ctx context.Context, in *ssm.GetParameterInput, o ...func(*ssm.Options)) (*ssm.GetParameterOutput, error)
}

// putParameter is idempotent by nature; it records the value it replaced.
func putParameter(ctx context.Context, api SSMParams, in map[string]string, res *plan.Result) (runbook.Outcome, error) {
	prev := ""
	if g, err := api.GetParameter(ctx, &ssm.GetParameterInput{Name: aws.String(in["name"])}); err == nil && g.Parameter != nil {
		prev = aws.ToString(g.Parameter.Value)
		if prev == in["value"] {
			return out("version", fmt.Sprint(g.Parameter.Version), "previous", prev), nil
		}
	}
	typ := ssmtypes.ParameterType(cmp.Or(in["type"], "String"))
	o, err := api.PutParameter(ctx, &ssm.PutParameterInput{Name: aws.String(in["name"]), Value: aws.String(in["value"]), Type: typ, Overwrite: aws.Bool(true)})
	if err != nil {
		return runbook.Outcome{}, fmt.Errorf("put %s: %w", in["name"], err)
	}
	res.Add(o.ResultMetadata)
	return out("version", fmt.Sprint(o.Version), "previous", prev), nil
}

// SSMCommands is what ssm.run_command needs.
type SSMCommands interface {
	SendCommand(ctx context.Context, in *ssm.SendCommandInput, o ...func(*ssm.Options)) (*ssm.SendCommandOutput, error)
	ListCommands(ctx context.Context, in *ssm.ListCommandsInput, o ...func(*ssm.Options)) (*ssm.ListCommandsOutput, error)
}

// runCommand sends a shell script to tagged instances once per token (the
// token is the command's comment; a retry finds the command by it).
func runCommand(ctx context.Context, api SSMCommands, in map[string]string, p plan.Plan, res *plan.Result) (runbook.Outcome, error) {
	k, v, ok := strings.Cut(in["tag"], "=")
	if !ok {
		return runbook.Outcome{}, fmt.Errorf("tag %q: want Key=Value", in["tag"])
	}
	list, err := api.ListCommands(ctx, &ssm.ListCommandsInput{})
	if err != nil {
		return runbook.Outcome{}, fmt.Errorf("look for an earlier attempt: %w", err)
	}
	for _, c := range list.Commands {
		if aws.ToString(c.Comment) == p.Token() {
			return out("command_id", aws.ToString(c.CommandId), "succeeded", fmt.Sprint(c.CompletedCount-c.ErrorCount), "failed", fmt.Sprint(c.ErrorCount)), nil
		}
	}
	o, err := api.SendCommand(ctx, &ssm.SendCommandInput{DocumentName: aws.String("AWS-RunShellScript"), Comment: aws.String(p.Token()),
		Targets:        []ssmtypes.Target{{Key: aws.String("tag:" + k), Values: []string{v}}},
		Parameters:     map[string][]string{"commands": strings.Split(in["commands"], "\n")},
		MaxConcurrency: aws.String(cmp.Or(in["max_concurrency"], "10%")), MaxErrors: aws.String(cmp.Or(in["max_errors"], "1"))})
	if err != nil {
		return runbook.Outcome{}, fmt.Errorf("send command: %w", err)
	}
	res.Add(o.ResultMetadata)
	return out("command_id", aws.ToString(o.Command.CommandId), "succeeded", "0", "failed", "0"), nil
}

// StacksAPI is what stack.deploy needs.
type StacksAPI interface {
	DescribeStacks(ctx context.Context, in *cloudformation.DescribeStacksInput, o ...func(*cloudformation.Options)) (*cloudformation.DescribeStacksOutput, error)
	CreateChangeSet(ctx context.Context, in *cloudformation.CreateChangeSetInput, o ...func(*cloudformation.Options)) (*cloudformation.CreateChangeSetOutput, error)
	DescribeChangeSet(ctx context.Context, in *cloudformation.DescribeChangeSetInput, o ...func(*cloudformation.Options)) (*cloudformation.DescribeChangeSetOutput, error)
	ExecuteChangeSet(ctx context.Context, in *cloudformation.ExecuteChangeSetInput, o ...func(*cloudformation.Options)) (*cloudformation.ExecuteChangeSetOutput, error)
}

// changeSet is a prepared change set: made (or found again, by the
// token-derived name) before the guard is asked, so the dialog and the
// journal show what the deploy will change.
type changeSet struct {
	stack, name string
	desc        *cloudformation.DescribeChangeSetOutput
	changes     []string
}

// prepareChangeSet creates the change set for a stack.deploy step (or finds
// the one an earlier attempt made) and waits until it can be read.
func prepareChangeSet(ctx context.Context, api StacksAPI, in map[string]string, body, token string, poll time.Duration) (*changeSet, error) {
	cs := &changeSet{stack: in["stack"], name: strings.ReplaceAll(token, "_", "-")}
	typ := cfntypes.ChangeSetTypeCreate
	if s, err := api.DescribeStacks(ctx, &cloudformation.DescribeStacksInput{StackName: aws.String(cs.stack)}); err == nil && len(s.Stacks) > 0 && s.Stacks[0].StackStatus != cfntypes.StackStatusReviewInProgress {
		typ = cfntypes.ChangeSetTypeUpdate
	}
	describe := func() error {
		d, err := api.DescribeChangeSet(ctx, &cloudformation.DescribeChangeSetInput{StackName: aws.String(cs.stack), ChangeSetName: aws.String(cs.name)})
		cs.desc = d
		return err
	}
	if err := describe(); err != nil {
		var params []cfntypes.Parameter
		for _, line := range strings.Split(in["parameters"], "\n") {
			if k, v, ok := strings.Cut(line, "="); ok {
				params = append(params, cfntypes.Parameter{ParameterKey: aws.String(k), ParameterValue: aws.String(v)})
			}
		}
		if _, err := api.CreateChangeSet(ctx, &cloudformation.CreateChangeSetInput{StackName: aws.String(cs.stack), ChangeSetName: aws.String(cs.name),
			ChangeSetType: typ, TemplateBody: aws.String(body), Parameters: params, ClientToken: aws.String(token),
			Capabilities: []cfntypes.Capability{cfntypes.CapabilityCapabilityIam, cfntypes.CapabilityCapabilityNamedIam}}); err != nil {
			return nil, fmt.Errorf("change set for %s: %w", cs.stack, err)
		}
		for {
			if err := describe(); err != nil {
				return nil, fmt.Errorf("change set for %s: %w", cs.stack, err)
			}
			if cs.desc.Status != cfntypes.ChangeSetStatusCreatePending && cs.desc.Status != cfntypes.ChangeSetStatusCreateInProgress {
				break
			}
			if err := awsx.Sleep(ctx, poll); err != nil {
				return nil, err
			}
		}
	}
	if cs.desc.Status == cfntypes.ChangeSetStatusFailed {
		return nil, fmt.Errorf("change set for %s failed: %s", cs.stack, aws.ToString(cs.desc.StatusReason))
	}
	for _, c := range cs.desc.Changes {
		if rc := c.ResourceChange; rc != nil {
			cs.changes = append(cs.changes, fmt.Sprintf("%s %s (%s)", rc.Action, aws.ToString(rc.LogicalResourceId), aws.ToString(rc.ResourceType)))
		}
	}
	return cs, nil
}

// deploy executes a prepared change set (unless an earlier attempt did)
// and waits for the stack.
func deploy(ctx context.Context, api StacksAPI, cs *changeSet, res *plan.Result, poll time.Duration) (runbook.Outcome, error) {
	name := cs.stack
	if cs.desc.ExecutionStatus == cfntypes.ExecutionStatusAvailable {
		e, err := api.ExecuteChangeSet(ctx, &cloudformation.ExecuteChangeSetInput{StackName: aws.String(name), ChangeSetName: aws.String(cs.name)})
		if err != nil {
			return runbook.Outcome{}, fmt.Errorf("execute change set for %s: %w", name, err)
		}
		res.Add(e.ResultMetadata)
	}
	for {
		s, err := api.DescribeStacks(ctx, &cloudformation.DescribeStacksInput{StackName: aws.String(name)})
		if err != nil || len(s.Stacks) == 0 {
			return runbook.Outcome{}, notFound(name, err)
		}
		st := s.Stacks[0]
		status := string(st.StackStatus)
		if !strings.HasSuffix(status, "_IN_PROGRESS") {
			if strings.Contains(status, "ROLLBACK") || strings.HasSuffix(status, "_FAILED") {
				return runbook.Outcome{}, fmt.Errorf("stack %s is %s: %s", name, status, aws.ToString(st.StackStatusReason))
			}
			outs := make([]string, 0, len(st.Outputs))
			for _, o := range st.Outputs {
				outs = append(outs, aws.ToString(o.OutputKey)+"="+aws.ToString(o.OutputValue))
			}
			return out("stack_id", aws.ToString(st.StackId), "outputs", strings.Join(outs, "\n"), "changes", strings.Join(cs.changes, "\n")), nil
		}
		if err := awsx.Sleep(ctx, poll); err != nil {
			return runbook.Outcome{}, err
		}
	}
}

// FileTemplate reads templates next to the runbook file, or from the
// shipped runbooks for a shipped one.
func FileTemplate(rb *runbook.Runbook, name string) ([]byte, error) {
	if data, err := runbook.ShippedFile(rb, name); err == nil {
		return data, nil
	}
	path := name
	if !filepath.IsAbs(name) {
		path = filepath.Join(filepath.Dir(rb.Path), name)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("template for %s: %w", rb.Name, err)
	}
	return data, nil
}

func (x *Executor) poll() time.Duration {
	if x.Poll > 0 {
		return x.Poll
	}
	return 5 * time.Second
}

func (x *Executor) now() time.Time {
	if x.Now != nil {
		return x.Now()
	}
	return time.Now()
}

func out(kv ...string) runbook.Outcome {
	m := map[string]string{}
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i]] = kv[i+1]
	}
	return runbook.Outcome{Outputs: m}
}

func copyMap(m map[string]string) map[string]string {
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

func notFound(id string, err error) error {
	return fmt.Errorf("%s: %v", id, awsx.OrNotFound(err))
}
