package main

import (
	"bufio"
	"context"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"fmt"
	"github.com/opsdeck/opsdeck/ops/runbook/awsops"
	"github.com/opsdeck/opsdeck/profiles"
	"maps"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/opsdeck/opsdeck/ops/runbook"
)

const runbookUsage = `runbook ls
       opsdeck runbook plan FILE|NAME [--param k=v]...
       opsdeck runbook run FILE|NAME [--param k=v]... [--account NAME] [--yes] [--confirm-account NAME]
       opsdeck runbook resume JOURNAL [--yes] [--confirm-account NAME]
       opsdeck runbook report JOURNAL`

func cmdRunbook(ctx context.Context, e *env, args []string) error {
	verb, rest := splitCommand(args)
	switch verb {
	case "ls", "list":
		return runbookLs(e, rest)
	case "plan":
		return runbookPlan(e, rest)
	case "run":
		return runbookRun(ctx, e, rest, false)
	case "resume":
		return runbookRun(ctx, e, rest, true)
	case "report":
		return runbookReport(e, rest)
	case "":
		return usagef("usage: opsdeck %s", runbookUsage)
	}
	return usagef("unknown runbook command %q; usage: opsdeck %s", verb, runbookUsage)
}

func runbookLs(e *env, args []string) error {
	var g globals
	fs := newFlags("runbook ls", e, &g, "runbook ls")
	if _, _, err := parse(fs, args); err != nil {
		return err
	}
	rbs, err := runbook.Shipped(nil)
	if err != nil {
		return err
	}
	if g.json {
		type row struct {
			Name        string `json:"name"`
			Description string `json:"description"`
			RTO         string `json:"rto"`
			RPO         string `json:"rpo"`
			Steps       int    `json:"steps"`
		}
		out := make([]row, len(rbs))
		for i, r := range rbs {
			out[i] = row{r.Name, r.Description, r.Objectives.RTO, r.Objectives.RPO, len(r.Steps)}
		}
		return writeJSON(e.stdout, map[string]any{"runbooks": out})
	}
	tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tRTO\tRPO\tSTEPS\tDESCRIPTION")
	for _, r := range rbs {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%s\n", r.Name, r.Objectives.RTO, r.Objectives.RPO, len(r.Steps), r.Description)
	}
	return tw.Flush()
}

// runbookPlan prints the resolved plan: nothing is called, nothing changes.
func runbookPlan(e *env, args []string) error {
	var g globals
	var raw listFlag
	fs := newFlags("runbook plan", e, &g, "runbook plan FILE|NAME [--param k=v]...")
	fs.Var(&raw, "param", "runbook parameter `k=v` (repeat)")
	pos, _, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usagef("usage: opsdeck runbook plan FILE|NAME [--param k=v]...")
	}
	given, err := raw.pairs("param")
	if err != nil {
		return err
	}
	cfg, err := g.load()
	if err != nil {
		return err
	}
	r, err := runbook.Open(pos[0], cfg)
	if err != nil {
		return err
	}
	params, steps, err := r.Plan(given)
	if err != nil {
		return &usageError{err.Error()}
	}
	accts, err := cfg.Select(r.Targets.Select)
	if err != nil {
		return err
	}
	names := make([]string, len(accts))
	for i, a := range accts {
		names[i] = a.Name
	}
	if g.json {
		return writeJSON(e.stdout, map[string]any{"runbook": r.Name, "path": r.Path, "rto": r.Objectives.RTO, "rpo": r.Objectives.RPO,
			"accounts": names, "primary": r.Targets.Primary, "dr": r.Targets.DR, "params": params, "steps": steps})
	}
	fmt.Fprintf(e.stdout, "runbook %s — %s\n", r.Name, r.Description)
	fmt.Fprintf(e.stdout, "objectives: RTO %s, RPO %s\naccounts: %s (%s)\nregions: %s → %s\n", r.Objectives.RTO, r.Objectives.RPO,
		strings.Join(names, ", "), r.Targets.Select, r.Targets.Primary, r.Targets.DR)
	for _, k := range slices.Sorted(maps.Keys(params)) {
		fmt.Fprintf(e.stdout, "param %s = %s\n", k, params[k])
	}
	for _, s := range steps {
		fmt.Fprintf(e.stdout, "\n%2d. [%s] %s  (%s, on failure: %s)\n", s.N, s.Kind, s.Title, s.Op, s.OnFailure)
		if s.When != "" {
			fmt.Fprintf(e.stdout, "    when %s\n", s.When)
		}
		for _, k := range slices.Sorted(maps.Keys(s.Inputs)) {
			fmt.Fprintf(e.stdout, "    %s = %s\n", k, strings.ReplaceAll(s.Inputs[k], "\n", "\n      "))
		}
	}
	fmt.Fprintln(e.stdout, "\n(plan only: nothing was called or changed)")
	return nil
}

// runbookRun starts a run (or resumes the one in a journal): steps print
// as they go; every action asks its account's guard and is journaled.
func runbookRun(ctx context.Context, e *env, args []string, resume bool) error {
	var g globals
	var m mutFlags
	var raw listFlag
	var account string
	name := "runbook run"
	if resume {
		name = "runbook resume"
	}
	fs := newFlags(name, e, &g, runbookUsage)
	m.register(fs)
	if !resume {
		fs.Var(&raw, "param", "runbook parameter `k=v` (repeat)")
		fs.StringVar(&account, "account", "", "the `NAME` of the account to act in, when the runbook's selector matches several")
	}
	pos, _, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usagef("usage: opsdeck %s", runbookUsage)
	}
	if m.dryRun {
		return usagef("runbook %s has no --dry-run: use `opsdeck runbook plan`", name)
	}
	cfg, err := g.load()
	if err != nil {
		return err
	}
	var (
		rb     *runbook.Runbook
		j      *runbook.Journal
		params map[string]string
	)
	if resume {
		j = &runbook.Journal{Path: pos[0]}
		st, err := runbook.Read(j.Path)
		if err != nil {
			return err
		}
		if rb, err = runbook.Parse(st.Start.Path, []byte(st.Start.Source), cfg); err != nil {
			return err
		}
		account = st.Start.Account
	} else {
		given, err := raw.pairs("param")
		if err != nil {
			return err
		}
		if rb, err = runbook.Open(pos[0], cfg); err != nil {
			return err
		}
		if params, err = rb.Resolve(given); err != nil {
			return &usageError{err.Error()}
		}
	}
	a, err := runbookAccount(cfg, rb, account)
	if err != nil {
		return err
	}
	role := cfg.DefaultRole(a)
	b := g.broker(e, cfg)
	x := &awsops.Executor{Account: a, Role: role, Operator: cfg.Operator.Name, Plans: m.runner(e, &g, cfg), Template: awsops.FileTemplate,
		Configs: func(ctx context.Context, region string) (aws.Config, error) {
			c, _, err := b.Config(ctx, a, role, region)
			return c, err
		},
		Manual: func(ctx context.Context, st runbook.Step, instructions string) (string, error) {
			fmt.Fprintf(e.stderr, "\nMANUAL STEP %s: %s\n  %s\nType what you did (one line) and press enter when it is done: ", st.ID, st.Title, instructions)
			line, err := bufio.NewReader(e.stdin).ReadString('\n')
			if strings.TrimSpace(line) == "" {
				return "", fmt.Errorf("manual step %s was not confirmed (%v): resume the run when it is done", st.ID, err)
			}
			return strings.TrimSpace(line), nil
		}}
	started := map[string]time.Time{}
	r := &runbook.Runner{Exec: x, Operator: cfg.Operator.Name, Account: a.Name, OnEvent: func(ev runbook.Event) {
		n := fmt.Sprintf("[%d/%d]", ev.N, len(rb.Steps))
		switch ev.Status {
		case "running":
			started[ev.Step.ID] = time.Now()
			fmt.Fprintf(e.stderr, "%s %s — %s (%s)…\n", n, ev.Step.ID, ev.Step.Title, ev.Step.Op)
		case "done":
			fmt.Fprintf(e.stderr, "%s %s done in %s %s\n", n, ev.Step.ID, time.Since(started[ev.Step.ID]).Round(time.Millisecond), runbook.Pairs(ev.Outputs))
		case "skipped":
			fmt.Fprintf(e.stderr, "%s %s skipped (when %s)\n", n, ev.Step.ID, ev.Step.When)
		default:
			fmt.Fprintf(e.stderr, "%s %s %s: %v\n", n, ev.Step.ID, ev.Status, ev.Err)
		}
	}}
	if resume {
		fmt.Fprintf(e.stderr, "resuming %s (%s in %s)\n", j.Path, rb.Name, a.Name)
		err = r.Resume(ctx, j, cfg)
	} else {
		j = runbook.NewJournal(runbook.Dir(), rb.Name, time.Now())
		fmt.Fprintf(e.stderr, "run %s in %s; journal %s\n", rb.Name, a.Name, j.Path)
		err = r.Start(ctx, rb, params, j)
	}
	if err != nil {
		return fmt.Errorf("%w\nthe run is journaled: fix what stopped it, then `opsdeck runbook resume %s`", err, j.Path)
	}
	if g.json {
		st, err := runbook.Read(j.Path)
		if err != nil {
			return err
		}
		outs := map[string]map[string]string{}
		for id, d := range st.Done {
			outs[id] = d.Outputs
		}
		return writeJSON(e.stdout, map[string]any{"runbook": rb.Name, "account": a.Name, "journal": j.Path, "finished": st.Finished.Reason, "outputs": outs})
	}
	fmt.Fprintf(e.stdout, "%s finished in %s. Evidence: opsdeck runbook report %s\n", rb.Name, a.Name, j.Path)
	return nil
}

// runbookAccount is the one account a run acts in.
func runbookAccount(cfg *profiles.Config, rb *runbook.Runbook, name string) (*profiles.Account, error) {
	accts, err := cfg.Select(rb.Targets.Select)
	if err != nil {
		return nil, err
	}
	names := make([]string, len(accts))
	for i, a := range accts {
		if a.Name == name {
			return a, nil
		}
		names[i] = a.Name
	}
	switch {
	case name != "":
		return nil, &usageError{fmt.Sprintf("account %q is not one of the runbook's targets (%s): %s", name, rb.Targets.Select, strings.Join(names, ", "))}
	case len(accts) == 1:
		return accts[0], nil
	}
	return nil, &usageError{fmt.Sprintf("runbook %s targets %d accounts (%s): choose one with --account NAME", rb.Name, len(accts), strings.Join(names, ", "))}
}

func runbookReport(e *env, args []string) error {
	var g globals
	fs := newFlags("runbook report", e, &g, "runbook report JOURNAL")
	pos, _, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usagef("usage: opsdeck runbook report JOURNAL")
	}
	st, err := runbook.Read(pos[0])
	if err != nil {
		return err
	}
	rep, err := runbook.Report(st)
	if err != nil {
		return err
	}
	_, err = fmt.Fprint(e.stdout, rep)
	return err
}
