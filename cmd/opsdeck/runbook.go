package main

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/opsdeck/opsdeck/ops/runbook"
)

const runbookUsage = `runbook ls
       opsdeck runbook plan FILE|NAME [--param k=v]...`

func cmdRunbook(ctx context.Context, e *env, args []string) error {
	verb, rest := splitCommand(args)
	switch verb {
	case "ls", "list":
		return runbookLs(e, rest)
	case "plan":
		return runbookPlan(e, rest)
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
