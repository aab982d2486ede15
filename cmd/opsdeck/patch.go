package main

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/aws-sdk-go-v2/service/ssm"

	"github.com/opsdeck/opsdeck/ops/awsx"
	"github.com/opsdeck/opsdeck/ops/fleet"
	"github.com/opsdeck/opsdeck/ops/patch"
	"github.com/opsdeck/opsdeck/ops/plan"
)

const patchUsage = `patch scan|install [--select SEL] [--regions R1,R2] (--targets tag:KEY=VALUE | --instances ID,...)
                     [--max-concurrency 10%|N] [--max-errors N] [--reboot if-needed|never] [--dry-run] [--yes] [--confirm-account NAME]
       opsdeck patch status [--select SEL] [--regions R1,R2] [--targets tag:KEY=VALUE]`

func cmdPatch(ctx context.Context, e *env, args []string) error {
	verb, rest := splitCommand(args) // global flags may come first
	if verb == "" {
		return usagef("usage: opsdeck %s", patchUsage)
	}
	args = append([]string{verb}, rest...)
	switch args[0] {
	case "scan", "install":
		return patchRun(ctx, e, args[0], args[1:])
	case "status":
		return patchStatus(ctx, e, args[1:])
	}
	return usagef("unknown patch command %q; usage: opsdeck %s", args[0], patchUsage)
}

type patchResult struct {
	Account     string             `json:"account"`
	Region      string             `json:"region"`
	CommandID   string             `json:"command_id,omitempty"`
	TargetCount string             `json:"target_count,omitempty"`
	Invocations []patch.Invocation `json:"invocations,omitempty"`
	Note        string             `json:"note,omitempty"`
	Error       string             `json:"error,omitempty"`
	Request     []string           `json:"request_ids,omitempty"`
	Results     map[string]string  `json:"-"`
}

func patchRun(ctx context.Context, e *env, op string, args []string) error {
	var g globals
	var ff fanFlags
	var m mutFlags
	var tag, instances, maxConc, maxErr, reboot string
	fs := newFlags("patch "+op, e, &g, patchUsage)
	ff.register(fs)
	m.register(fs)
	fs.StringVar(&tag, "targets", "", "instances by tag: `tag:KEY=VALUE`")
	fs.StringVar(&instances, "instances", "", "instance `IDS`, comma-separated")
	fs.StringVar(&maxConc, "max-concurrency", "10%", "SSM rate control: instances at once (N or N%)")
	fs.StringVar(&maxErr, "max-errors", "1", "SSM rate control: stop after this many errors (N or N%)")
	fs.StringVar(&reboot, "reboot", "if-needed", "if-needed or never")
	if _, _, err := parse(fs, args); err != nil {
		return err
	}
	var ids []string
	if instances != "" {
		ids = strings.Split(instances, ",")
	}
	t, err := patch.ParseTargets(tag, ids)
	if err != nil {
		return usagef("%v", err)
	}
	o := patch.Options{Operation: map[string]string{"scan": "Scan", "install": "Install"}[op], MaxConcurrency: maxConc, MaxErrors: maxErr,
		Reboot: map[string]string{"if-needed": "RebootIfNeeded", "never": "NoReboot"}[reboot]}
	if err := o.Validate(); err != nil {
		return usagef("%v", err)
	}
	cfg, err := g.load()
	if err != nil {
		return err
	}
	targets, err := ff.targets(cfg)
	if err != nil {
		return err
	}
	b := g.broker(e, cfg)
	r := m.runner(e, &g, cfg)
	var results []patchResult
	failed := 0
	for _, tg := range targets {
		p := newPlan("patch."+op, tg.Account, tg.Region, ff.role, cfg.Operator.Name, m.reason, []string{t.String()},
			map[string]string{"operation": o.Operation, "max_concurrency": o.MaxConcurrency, "max_errors": o.MaxErrors, "reboot": o.Reboot})
		p.Steps = []string{fmt.Sprintf("SendCommand %s (%s) to %s; SSM runs it %s at a time and stops after %s errors", patch.Document, o.Operation, t, o.MaxConcurrency, o.MaxErrors),
			"follow every instance to a terminal state"}
		if m.dryRun {
			if err := runPlan(ctx, e, &g, r, p, nil); err != nil {
				return err
			}
			continue
		}
		pr := patchResult{Account: tg.Account.Name, Region: tg.Region}
		res, err := r.Run(ctx, p, func(ctx context.Context, res *plan.Result) error {
			c, _, err := b.Config(ctx, tg.Account, ff.role, tg.Region)
			if err != nil {
				return err
			}
			api := ssm.NewFromConfig(c)
			id, err := patch.Send(ctx, api, p, t, o, res)
			if err != nil {
				return err
			}
			fmt.Fprintf(e.stderr, "%s: command %s sent\n", tg, id)
			invs, err := patch.Follow(ctx, api, id, 0, func(done, total int) {
				fmt.Fprintf(e.stderr, "%s: %d/%d instances done\n", tg, done, total)
			})
			var ue *awsx.UnavailableError
			if errors.As(err, &ue) {
				pr.Note = "per-instance results are not available on this endpoint; the command was sent"
				return nil
			}
			pr.Invocations = invs
			for _, inv := range invs {
				if inv.Status != "Success" {
					return fmt.Errorf("%d of %d instances did not succeed", countNot(invs, "Success"), len(invs))
				}
			}
			return err
		})
		if res != nil {
			pr.CommandID, pr.TargetCount, pr.Request = res.Results["command_id"], res.Results["target_count"], res.RequestIDs
		}
		if err != nil {
			failed++
			pr.Error = err.Error()
			var ge *plan.RefusedError
			if errors.As(err, &ge) {
				pr.Error = "refused: " + ge.Reason
			}
		}
		results = append(results, pr)
	}
	if m.dryRun {
		return nil
	}
	if g.json {
		if err := writeJSON(e.stdout, map[string]any{"commands": results}); err != nil {
			return err
		}
	} else {
		tw := newTab(e.stdout)
		fmt.Fprintln(tw, "ACCOUNT\tREGION\tCOMMAND\tTARGETS\tRESULT")
		for _, pr := range results {
			out := "ok"
			switch {
			case pr.Error != "":
				out = pr.Error
			case pr.Note != "":
				out = pr.Note
			case len(pr.Invocations) > 0:
				out = fmt.Sprintf("%d/%d succeeded", len(pr.Invocations)-countNot(pr.Invocations, "Success"), len(pr.Invocations))
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", pr.Account, pr.Region, pr.CommandID, pr.TargetCount, out)
		}
		tw.Flush()
	}
	first := ""
	for _, pr := range results {
		if pr.Error != "" && first == "" {
			first = pr.Account + "/" + pr.Region + ": " + pr.Error
		}
	}
	return fanOutcome(e, "patch "+op, failed, len(results), first)
}

func countNot(invs []patch.Invocation, status string) int {
	n := 0
	for _, i := range invs {
		if i.Status != status {
			n++
		}
	}
	return n
}

type stateRow struct {
	Account string `json:"account"`
	Region  string `json:"region"`
	patch.State
}

func patchStatus(ctx context.Context, e *env, args []string) error {
	var g globals
	var ff fanFlags
	var tag string
	fs := newFlags("patch status", e, &g, "patch status [--select SEL] [--targets tag:KEY=VALUE]")
	ff.register(fs)
	fs.StringVar(&tag, "targets", "", "only instances with this `tag:KEY=VALUE`")
	if _, _, err := parse(fs, args); err != nil {
		return err
	}
	var filters []ec2types.Filter
	if tag != "" {
		t, err := patch.ParseTargets(tag, nil)
		if err != nil {
			return usagef("%v", err)
		}
		filters = append(filters, ec2types.Filter{Name: aws.String("tag:" + t.TagKey), Values: []string{t.TagValue}})
	}
	filters = append(filters, ec2types.Filter{Name: aws.String("instance-state-name"), Values: []string{"running", "stopped"}})
	cfg, err := g.load()
	if err != nil {
		return err
	}
	return runListing(ctx, e, &g, &ff, cfg, listing[patch.State, stateRow]{
		key:    "instances",
		header: []string{"ACCOUNT", "REGION", "INSTANCE", "INSTALLED", "MISSING", "FAILED", "LAST OPERATION", "WHEN"},
		fetch: func(ctx context.Context, c aws.Config, t fleet.Target) ([]patch.State, error) {
			var ids []string
			p := ec2.NewDescribeInstancesPaginator(ec2.NewFromConfig(c), &ec2.DescribeInstancesInput{Filters: filters})
			for p.HasMorePages() {
				page, err := p.NextPage(ctx)
				if err != nil {
					return nil, err
				}
				for _, res := range page.Reservations {
					for _, in := range res.Instances {
						ids = append(ids, aws.ToString(in.InstanceId))
					}
				}
			}
			if len(ids) == 0 {
				return nil, nil
			}
			return patch.States(ctx, ssm.NewFromConfig(c), ids)
		},
		row: func(t fleet.Target, s patch.State) stateRow { return stateRow{t.Account.Name, t.Region, s} },
		cells: func(s stateRow) []string {
			return []string{s.Account, s.Region, s.InstanceID, fmt.Sprint(s.Installed), fmt.Sprint(s.Missing), fmt.Sprint(s.Failed),
				s.Operation, s.OperationEnd.Local().Format(time.DateTime)}
		},
	})
}
