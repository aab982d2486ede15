// Package stacks reads CloudFormation for the on-call engineer: which
// stacks exist, their parameters, outputs, resources, events, template,
// and drift. It talks to CloudFormation through API, the few calls it
// needs with the SDK's exact signatures, so *cloudformation.Client and a
// hand-written fake both satisfy it.
package stacks

import (
	"context"
	"errors"
	"fmt"
	"path"
	"sort"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation"
	cfn "github.com/aws/aws-sdk-go-v2/service/cloudformation/types"

	"github.com/opsdeck/opsdeck/ops/awsx"
)

// API is the part of CloudFormation this package uses.
type API interface {
	cloudformation.ListStacksAPIClient
	cloudformation.ListStackResourcesAPIClient
	cloudformation.DescribeStackEventsAPIClient
	cloudformation.DescribeStackResourceDriftsAPIClient
	DescribeStacks(ctx context.Context, in *cloudformation.DescribeStacksInput, optFns ...func(*cloudformation.Options)) (*cloudformation.DescribeStacksOutput, error)
	GetTemplate(ctx context.Context, in *cloudformation.GetTemplateInput, optFns ...func(*cloudformation.Options)) (*cloudformation.GetTemplateOutput, error)
	DetectStackDrift(ctx context.Context, in *cloudformation.DetectStackDriftInput, optFns ...func(*cloudformation.Options)) (*cloudformation.DetectStackDriftOutput, error)
	DescribeStackDriftDetectionStatus(ctx context.Context, in *cloudformation.DescribeStackDriftDetectionStatusInput, optFns ...func(*cloudformation.Options)) (*cloudformation.DescribeStackDriftDetectionStatusOutput, error)
}

var _ API = (*cloudformation.Client)(nil)

// New returns the real client for cfg.
func New(cfg aws.Config) API { return cloudformation.NewFromConfig(cfg) }

// Summary is one stack in a listing.
type Summary struct {
	Name    string    `json:"name"`
	ID      string    `json:"id"`
	Status  string    `json:"status"`
	Reason  string    `json:"reason,omitempty"`
	Created time.Time `json:"created"`
	Updated time.Time `json:"updated"`
	Drift   string    `json:"drift"`
}

// LastChange is Updated, or Created for a stack never updated.
func (s Summary) LastChange() time.Time {
	if s.Updated.IsZero() {
		return s.Created
	}
	return s.Updated
}

// Filter narrows a listing.
type Filter struct {
	// Statuses to keep; empty means every status but DELETE_COMPLETE.
	Statuses []string
	// Name is a glob on the stack name ("" = all).
	Name string
}

// liveStatuses are every stack status except DELETE_COMPLETE.
func liveStatuses() []cfn.StackStatus {
	var out []cfn.StackStatus
	for _, s := range cfn.StackStatus("").Values() {
		if s != cfn.StackStatusDeleteComplete {
			out = append(out, s)
		}
	}
	return out
}

// ValidateFilter checks statuses and the glob before any call is made.
func ValidateFilter(f Filter) error {
	known := map[string]bool{}
	for _, s := range cfn.StackStatus("").Values() {
		known[string(s)] = true
	}
	for _, s := range f.Statuses {
		if !known[s] {
			return fmt.Errorf("unknown stack status %q (e.g. CREATE_COMPLETE, UPDATE_ROLLBACK_COMPLETE)", s)
		}
	}
	if _, err := path.Match(f.Name, ""); err != nil {
		return fmt.Errorf("bad --name pattern %q: %v", f.Name, err)
	}
	return nil
}

// List returns every stack matching f, all pages.
func List(ctx context.Context, api API, f Filter) ([]Summary, error) {
	in := &cloudformation.ListStacksInput{}
	if len(f.Statuses) > 0 {
		for _, s := range f.Statuses {
			in.StackStatusFilter = append(in.StackStatusFilter, cfn.StackStatus(s))
		}
	} else {
		in.StackStatusFilter = liveStatuses()
	}
	var out []Summary
	p := cloudformation.NewListStacksPaginator(api, in)
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return out, fmt.Errorf("list stacks: %w", err)
		}
		for _, s := range page.StackSummaries {
			name := aws.ToString(s.StackName)
			if f.Name != "" {
				if ok, _ := path.Match(f.Name, name); !ok {
					continue
				}
			}
			sum := Summary{Name: name, ID: aws.ToString(s.StackId), Status: string(s.StackStatus),
				Reason: aws.ToString(s.StackStatusReason), Created: aws.ToTime(s.CreationTime),
				Updated: aws.ToTime(s.LastUpdatedTime), Drift: "NOT_CHECKED"}
			if s.DriftInformation != nil && s.DriftInformation.StackDriftStatus != "" {
				sum.Drift = string(s.DriftInformation.StackDriftStatus)
			}
			out = append(out, sum)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// Detail is one stack described.
type Detail struct {
	Summary
	Description string            `json:"description,omitempty"`
	Parameters  []KV              `json:"parameters"`
	Outputs     []Output          `json:"outputs"`
	Tags        map[string]string `json:"tags"`
	LastDrift   time.Time         `json:"last_drift_check,omitempty"`
}

// KV is a parameter.
type KV struct {
	Key   string `json:"key"`
	Value string `json:"value"`
}

// Output is a stack output.
type Output struct {
	Key         string `json:"key"`
	Value       string `json:"value"`
	Description string `json:"description,omitempty"`
	Export      string `json:"export,omitempty"`
}

// Describe returns the stack's details.
func Describe(ctx context.Context, api API, name string) (*Detail, error) {
	out, err := api.DescribeStacks(ctx, &cloudformation.DescribeStacksInput{StackName: aws.String(name)})
	if err != nil {
		return nil, fmt.Errorf("describe stack %s: %w", name, err)
	}
	if len(out.Stacks) == 0 {
		return nil, fmt.Errorf("describe stack %s: not found", name)
	}
	s := out.Stacks[0]
	d := &Detail{Summary: Summary{Name: aws.ToString(s.StackName), ID: aws.ToString(s.StackId), Status: string(s.StackStatus),
		Reason: aws.ToString(s.StackStatusReason), Created: aws.ToTime(s.CreationTime), Updated: aws.ToTime(s.LastUpdatedTime), Drift: "NOT_CHECKED"},
		Description: aws.ToString(s.Description), Tags: map[string]string{}}
	if s.DriftInformation != nil {
		if s.DriftInformation.StackDriftStatus != "" {
			d.Drift = string(s.DriftInformation.StackDriftStatus)
		}
		d.LastDrift = aws.ToTime(s.DriftInformation.LastCheckTimestamp)
	}
	for _, p := range s.Parameters {
		d.Parameters = append(d.Parameters, KV{aws.ToString(p.ParameterKey), aws.ToString(p.ParameterValue)})
	}
	sort.Slice(d.Parameters, func(i, j int) bool { return d.Parameters[i].Key < d.Parameters[j].Key })
	for _, o := range s.Outputs {
		d.Outputs = append(d.Outputs, Output{aws.ToString(o.OutputKey), aws.ToString(o.OutputValue), aws.ToString(o.Description), aws.ToString(o.ExportName)})
	}
	sort.Slice(d.Outputs, func(i, j int) bool { return d.Outputs[i].Key < d.Outputs[j].Key })
	for _, t := range s.Tags {
		d.Tags[aws.ToString(t.Key)] = aws.ToString(t.Value)
	}
	return d, nil
}

// Resource is one resource of a stack.
type Resource struct {
	LogicalID  string    `json:"logical_id"`
	PhysicalID string    `json:"physical_id"`
	Type       string    `json:"type"`
	Status     string    `json:"status"`
	Reason     string    `json:"reason,omitempty"`
	Updated    time.Time `json:"updated"`
	Drift      string    `json:"drift,omitempty"`
}

// Resources lists the stack's resources, all pages.
func Resources(ctx context.Context, api API, name string) ([]Resource, error) {
	var out []Resource
	p := cloudformation.NewListStackResourcesPaginator(api, &cloudformation.ListStackResourcesInput{StackName: aws.String(name)})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return out, fmt.Errorf("stack %s resources: %w", name, err)
		}
		for _, r := range page.StackResourceSummaries {
			res := Resource{LogicalID: aws.ToString(r.LogicalResourceId), PhysicalID: aws.ToString(r.PhysicalResourceId),
				Type: aws.ToString(r.ResourceType), Status: string(r.ResourceStatus), Reason: aws.ToString(r.ResourceStatusReason),
				Updated: aws.ToTime(r.LastUpdatedTimestamp)}
			if r.DriftInformation != nil {
				res.Drift = string(r.DriftInformation.StackResourceDriftStatus)
			}
			out = append(out, res)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].LogicalID < out[j].LogicalID })
	return out, nil
}

// Event is one stack event.
type Event struct {
	ID         string    `json:"id"`
	Time       time.Time `json:"time"`
	LogicalID  string    `json:"logical_id"`
	PhysicalID string    `json:"physical_id,omitempty"`
	Type       string    `json:"type"`
	Status     string    `json:"status"`
	Reason     string    `json:"reason,omitempty"`
}

// Events returns events newest first. With since (an event id seen
// before), only newer events are returned and paging stops at it, so a
// tail costs one call per poll. limit > 0 caps the count.
func Events(ctx context.Context, api API, name, since string, limit int) ([]Event, error) {
	var out []Event
	p := cloudformation.NewDescribeStackEventsPaginator(api, &cloudformation.DescribeStackEventsInput{StackName: aws.String(name)})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return out, fmt.Errorf("stack %s events: %w", name, err)
		}
		for _, e := range page.StackEvents {
			id := aws.ToString(e.EventId)
			if since != "" && id == since {
				return out, nil
			}
			out = append(out, Event{ID: id, Time: aws.ToTime(e.Timestamp), LogicalID: aws.ToString(e.LogicalResourceId),
				PhysicalID: aws.ToString(e.PhysicalResourceId), Type: aws.ToString(e.ResourceType),
				Status: string(e.ResourceStatus), Reason: aws.ToString(e.ResourceStatusReason)})
			if limit > 0 && len(out) >= limit {
				return out, nil
			}
		}
	}
	return out, nil
}

// Template returns the template as deployed (the original text).
func Template(ctx context.Context, api API, name string) (string, error) {
	out, err := api.GetTemplate(ctx, &cloudformation.GetTemplateInput{StackName: aws.String(name)})
	if err != nil {
		return "", fmt.Errorf("stack %s template: %w", name, err)
	}
	return aws.ToString(out.TemplateBody), nil
}

// Terminal reports whether a stack status is final (not *_IN_PROGRESS).
func Terminal(status string) bool { return status != "" && !strings.HasSuffix(status, "_IN_PROGRESS") }

// Class groups statuses for colouring: complete, progress, failed,
// rollback or deleted.
func Class(status string) string {
	switch {
	case strings.HasSuffix(status, "_IN_PROGRESS"):
		return "progress"
	case strings.Contains(status, "ROLLBACK"):
		return "rollback"
	case strings.HasSuffix(status, "_FAILED"):
		return "failed"
	case strings.HasPrefix(status, "DELETE"):
		return "deleted"
	case strings.HasSuffix(status, "_COMPLETE"):
		return "complete"
	}
	return ""
}

// DriftReport is a finished drift detection.
type DriftReport struct {
	DetectionID string          `json:"detection_id"`
	Status      string          `json:"stack_drift_status"`
	Drifted     int             `json:"drifted_resources"`
	Checked     time.Time       `json:"checked"`
	Resources   []ResourceDrift `json:"resources"`
}

// ResourceDrift is one resource's drift with its property differences.
type ResourceDrift struct {
	LogicalID  string         `json:"logical_id"`
	PhysicalID string         `json:"physical_id"`
	Type       string         `json:"type"`
	Status     string         `json:"status"`
	Diffs      []PropertyDiff `json:"differences,omitempty"`
}

// PropertyDiff is one expected/actual difference.
type PropertyDiff struct {
	Path     string `json:"path"`
	Expected string `json:"expected"`
	Actual   string `json:"actual"`
	Kind     string `json:"kind"`
}

// DriftOptions tune Drift.
type DriftOptions struct {
	// Poll is the wait between status checks (default 2s).
	Poll time.Duration
	// Progress is told each detection status seen.
	Progress func(status string)
}

// ErrDriftUnavailable: the endpoint has no drift detection (the emulator).
var ErrDriftUnavailable = errors.New("drift detection is not available on this endpoint")

// Drift runs drift detection: DetectStackDrift, poll the detection status
// until it finishes, then DescribeStackResourceDrifts with the
// expected/actual property differences.
func Drift(ctx context.Context, api API, name string, o DriftOptions) (*DriftReport, error) {
	if o.Poll == 0 {
		o.Poll = 2 * time.Second
	}
	det, err := api.DetectStackDrift(ctx, &cloudformation.DetectStackDriftInput{StackName: aws.String(name)})
	if err != nil {
		if awsx.Unavailable(err) {
			return nil, fmt.Errorf("stack %s: %w", name, ErrDriftUnavailable)
		}
		return nil, fmt.Errorf("stack %s: detect drift: %w", name, err)
	}
	id := aws.ToString(det.StackDriftDetectionId)
	var st *cloudformation.DescribeStackDriftDetectionStatusOutput
	for {
		st, err = api.DescribeStackDriftDetectionStatus(ctx, &cloudformation.DescribeStackDriftDetectionStatusInput{StackDriftDetectionId: aws.String(id)})
		if err != nil {
			return nil, fmt.Errorf("stack %s: drift detection %s: %w", name, id, err)
		}
		if o.Progress != nil {
			o.Progress(string(st.DetectionStatus))
		}
		if st.DetectionStatus != cfn.StackDriftDetectionStatusDetectionInProgress {
			break
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(o.Poll):
		}
	}
	if st.DetectionStatus == cfn.StackDriftDetectionStatusDetectionFailed && st.StackDriftStatus == "" {
		return nil, fmt.Errorf("stack %s: drift detection failed: %s", name, aws.ToString(st.DetectionStatusReason))
	}
	rep := &DriftReport{DetectionID: id, Status: string(st.StackDriftStatus), Drifted: int(aws.ToInt32(st.DriftedStackResourceCount)), Checked: aws.ToTime(st.Timestamp)}
	p := cloudformation.NewDescribeStackResourceDriftsPaginator(api, &cloudformation.DescribeStackResourceDriftsInput{StackName: aws.String(name)})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return rep, fmt.Errorf("stack %s: resource drifts: %w", name, err)
		}
		for _, r := range page.StackResourceDrifts {
			rd := ResourceDrift{LogicalID: aws.ToString(r.LogicalResourceId), PhysicalID: aws.ToString(r.PhysicalResourceId),
				Type: aws.ToString(r.ResourceType), Status: string(r.StackResourceDriftStatus)}
			for _, d := range r.PropertyDifferences {
				rd.Diffs = append(rd.Diffs, PropertyDiff{Path: aws.ToString(d.PropertyPath), Expected: aws.ToString(d.ExpectedValue),
					Actual: aws.ToString(d.ActualValue), Kind: string(d.DifferenceType)})
			}
			rep.Resources = append(rep.Resources, rd)
		}
	}
	// Drifted first, then by logical id.
	sort.SliceStable(rep.Resources, func(i, j int) bool {
		a, b := rep.Resources[i], rep.Resources[j]
		if (a.Status == "IN_SYNC") != (b.Status == "IN_SYNC") {
			return b.Status == "IN_SYNC"
		}
		return a.LogicalID < b.LogicalID
	})
	return rep, nil
}
