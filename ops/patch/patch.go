// Package patch runs SSM Patch Manager: AWS-RunPatchBaseline scan or
// install through SendCommand with SSM's own rate control (max
// concurrency, max errors), following the command to per-instance
// results, and compliance from DescribeInstancePatchStates.
//
// SSM does the fan-out to instances; opsdeck only fans out over accounts
// and regions. The emulator lacks ListCommandInvocations and
// DescribeInstancePatchStates: tests use fakes behind SSMAPI, and against
// such an endpoint opsdeck says those results are not available.
package patch

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	ssmtypes "github.com/aws/aws-sdk-go-v2/service/ssm/types"

	"github.com/opsdeck/opsdeck/ops/awsx"
	"github.com/opsdeck/opsdeck/ops/plan"
)

// SSMAPI is what patching needs; *ssm.Client satisfies it.
type SSMAPI interface {
	SendCommand(ctx context.Context, in *ssm.SendCommandInput, o ...func(*ssm.Options)) (*ssm.SendCommandOutput, error)
	ssm.ListCommandsAPIClient
	ssm.ListCommandInvocationsAPIClient
	ssm.DescribeInstancePatchStatesAPIClient
}

var _ SSMAPI = (*ssm.Client)(nil)

// Document is the patch document.
const Document = "AWS-RunPatchBaseline"

// Targets select instances: a tag or explicit ids.
type Targets struct {
	TagKey, TagValue string
	InstanceIDs      []string
}

// ParseTargets reads "tag:KEY=VALUE" (or an instance list).
func ParseTargets(tag string, ids []string) (Targets, error) {
	switch {
	case tag != "" && len(ids) > 0:
		return Targets{}, errors.New("give --targets or --instances, not both")
	case tag != "":
		kv, ok := strings.CutPrefix(tag, "tag:")
		k, v, ok2 := strings.Cut(kv, "=")
		if !ok || !ok2 || k == "" || v == "" {
			return Targets{}, fmt.Errorf("--targets %q: want tag:KEY=VALUE", tag)
		}
		return Targets{TagKey: k, TagValue: v}, nil
	case len(ids) > 0:
		for _, id := range ids {
			if !strings.HasPrefix(id, "i-") && !strings.HasPrefix(id, "mi-") {
				return Targets{}, fmt.Errorf("--instances: %q is not an instance id", id)
			}
		}
		return Targets{InstanceIDs: ids}, nil
	}
	return Targets{}, errors.New("choose instances with --targets tag:KEY=VALUE or --instances ID,...")
}

func (t Targets) String() string {
	if t.TagKey != "" {
		return "tag:" + t.TagKey + "=" + t.TagValue
	}
	return strings.Join(t.InstanceIDs, ",")
}

// Options of a patch run.
type Options struct {
	Operation      string // Scan | Install
	MaxConcurrency string // "10%" or "5"
	MaxErrors      string
	Reboot         string // RebootIfNeeded | NoReboot
}

var rateRe = regexp.MustCompile(`^([1-9][0-9]*%?|0)$`)

// Validate checks the rate control values SSM accepts.
func (o Options) Validate() error {
	if o.Operation != "Scan" && o.Operation != "Install" {
		return fmt.Errorf("operation %q: scan or install", o.Operation)
	}
	if !rateRe.MatchString(o.MaxConcurrency) || strings.HasPrefix(o.MaxConcurrency, "0") {
		return fmt.Errorf("--max-concurrency %q: a number or a percentage such as 10%%", o.MaxConcurrency)
	}
	if !rateRe.MatchString(o.MaxErrors) {
		return fmt.Errorf("--max-errors %q: a number or a percentage", o.MaxErrors)
	}
	if o.Reboot != "RebootIfNeeded" && o.Reboot != "NoReboot" {
		return fmt.Errorf("--reboot %q: if-needed or never", o.Reboot)
	}
	return nil
}

// Send issues the command (or finds the one an earlier attempt of the same
// plan sent: SendCommand has no idempotency token, so the plan token goes
// in the comment and recent commands are checked first).
func Send(ctx context.Context, api SSMAPI, p plan.Plan, t Targets, o Options, res *plan.Result) (string, error) {
	comment := "opsdeck " + p.Token()
	if id := findCommand(ctx, api, comment); id != "" {
		res.Set("command_id", id)
		return id, nil
	}
	in := &ssm.SendCommandInput{DocumentName: aws.String(Document), Comment: aws.String(comment),
		Parameters:     map[string][]string{"Operation": {o.Operation}, "RebootOption": {o.Reboot}},
		MaxConcurrency: aws.String(o.MaxConcurrency), MaxErrors: aws.String(o.MaxErrors), TimeoutSeconds: aws.Int32(600)}
	if t.TagKey != "" {
		in.Targets = []ssmtypes.Target{{Key: aws.String("tag:" + t.TagKey), Values: []string{t.TagValue}}}
	} else {
		in.InstanceIds = t.InstanceIDs
	}
	out, err := api.SendCommand(ctx, in)
	if err != nil {
		return "", fmt.Errorf("send %s (%s) to %s: %w", Document, o.Operation, t, err)
	}
	res.Add(out.ResultMetadata)
	id := aws.ToString(out.Command.CommandId)
	res.Set("command_id", id)
	res.Set("target_count", fmt.Sprint(out.Command.TargetCount))
	return id, nil
}

func findCommand(ctx context.Context, api SSMAPI, comment string) string {
	out, err := api.ListCommands(ctx, &ssm.ListCommandsInput{Filters: []ssmtypes.CommandFilter{
		{Key: ssmtypes.CommandFilterKeyInvokedAfter, Value: aws.String(time.Now().Add(-24 * time.Hour).UTC().Format(time.RFC3339))}}})
	if err != nil {
		return "" // best effort: no list, no dedupe
	}
	for _, c := range out.Commands {
		if aws.ToString(c.Comment) == comment {
			return aws.ToString(c.CommandId)
		}
	}
	return ""
}

// Invocation is one instance's result.
type Invocation struct {
	InstanceID string `json:"instance_id"`
	Name       string `json:"name,omitempty"`
	Status     string `json:"status"`
	Detail     string `json:"detail,omitempty"`
}

func terminal(s ssmtypes.CommandInvocationStatus) bool {
	switch s {
	case ssmtypes.CommandInvocationStatusSuccess, ssmtypes.CommandInvocationStatusFailed,
		ssmtypes.CommandInvocationStatusCancelled, ssmtypes.CommandInvocationStatusTimedOut:
		return true
	}
	return false
}

// Follow polls the command's invocations until every instance is in a
// terminal state; progress gets each round's counts.
func Follow(ctx context.Context, api SSMAPI, commandID string, poll time.Duration, progress func(done, total int)) ([]Invocation, error) {
	if poll == 0 {
		poll = 5 * time.Second
	}
	for {
		var invs []Invocation
		done := 0
		p := ssm.NewListCommandInvocationsPaginator(api, &ssm.ListCommandInvocationsInput{CommandId: aws.String(commandID)})
		for p.HasMorePages() {
			page, err := p.NextPage(ctx)
			if err != nil {
				return nil, fmt.Errorf("command %s: %w", commandID, awsx.Classify("per-instance results (ListCommandInvocations)", err))
			}
			for _, c := range page.CommandInvocations {
				invs = append(invs, Invocation{InstanceID: aws.ToString(c.InstanceId), Name: aws.ToString(c.InstanceName),
					Status: string(c.Status), Detail: aws.ToString(c.StatusDetails)})
				if terminal(c.Status) {
					done++
				}
			}
		}
		if progress != nil {
			progress(done, len(invs))
		}
		if len(invs) > 0 && done == len(invs) {
			sort.Slice(invs, func(i, j int) bool { return invs[i].InstanceID < invs[j].InstanceID })
			return invs, nil
		}
		select {
		case <-ctx.Done():
			return invs, ctx.Err()
		case <-time.After(poll):
		}
	}
}

// State is one instance's patch compliance.
type State struct {
	InstanceID    string    `json:"instance_id"`
	Installed     int32     `json:"installed"`
	Missing       int32     `json:"missing"`
	Failed        int32     `json:"failed"`
	Operation     string    `json:"last_operation"`
	OperationEnd  time.Time `json:"last_operation_time"`
	BaselineID    string    `json:"baseline_id"`
	NonCompliant  bool      `json:"non_compliant"`
	RebootPending int32     `json:"reboot_pending"`
}

// States reads compliance for instances.
func States(ctx context.Context, api SSMAPI, ids []string) ([]State, error) {
	var out []State
	for i := 0; i < len(ids); i += 50 {
		batch := ids[i:min(i+50, len(ids))]
		p := ssm.NewDescribeInstancePatchStatesPaginator(api, &ssm.DescribeInstancePatchStatesInput{InstanceIds: batch})
		for p.HasMorePages() {
			page, err := p.NextPage(ctx)
			if err != nil {
				return nil, awsx.Classify("patch compliance (DescribeInstancePatchStates)", err)
			}
			for _, s := range page.InstancePatchStates {
				out = append(out, State{InstanceID: aws.ToString(s.InstanceId), Installed: s.InstalledCount,
					Missing: s.MissingCount, Failed: s.FailedCount, Operation: string(s.Operation),
					OperationEnd: aws.ToTime(s.OperationEndTime), BaselineID: aws.ToString(s.BaselineId),
					NonCompliant:  s.MissingCount > 0 || s.FailedCount > 0,
					RebootPending: aws.ToInt32(s.InstalledPendingRebootCount)})
			}
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].InstanceID < out[j].InstanceID })
	return out, nil
}
