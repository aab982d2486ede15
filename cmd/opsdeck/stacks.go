package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/opsdeck/opsdeck/ops/awsx"
	"github.com/opsdeck/opsdeck/ops/fleet"
	"github.com/opsdeck/opsdeck/ops/stacks"
	"github.com/opsdeck/opsdeck/profiles"
)

// exitPartial: some targets failed, results for the rest were printed.
const exitPartial = 3

const stacksUsage = `stacks ls [--select SEL] [--regions R1,R2] [--status S1,S2] [--name GLOB] [--concurrency N]
       opsdeck stacks show ACCOUNT REGION STACK [--template]
       opsdeck stacks events ACCOUNT REGION STACK [--follow] [--interval 5s]
       opsdeck stacks drift ACCOUNT REGION STACK`

func cmdStacks(ctx context.Context, e *env, args []string) error {
	verb, rest := splitCommand(args) // global flags may come first
	if verb == "" {
		return usagef("usage: opsdeck %s", stacksUsage)
	}
	args = append([]string{verb}, rest...)
	switch args[0] {
	case "ls", "list":
		return stacksLs(ctx, e, args[1:])
	case "show":
		return stacksShow(ctx, e, args[1:])
	case "events":
		return stacksEvents(ctx, e, args[1:])
	case "drift":
		return stacksDrift(ctx, e, args[1:])
	}
	return usagef("unknown stacks command %q; usage: opsdeck %s", args[0], stacksUsage)
}

// fanFlags are the flags of every command that fans out over accounts.
type fanFlags struct {
	sel, regions, role string
	concurrency        int
}

func (f *fanFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&f.sel, "select", "all", "accounts: all, name globs, or key=value terms (customer=acme,environment=prod)")
	fs.StringVar(&f.regions, "regions", "", "comma-separated regions (default: each account's regions)")
	fs.StringVar(&f.role, "role", "", "role `KEY` (default: each account's role)")
	fs.IntVar(&f.concurrency, "concurrency", 16, "targets in flight at once")
}

func (f *fanFlags) targets(cfg *profiles.Config) ([]fleet.Target, error) {
	accts, err := cfg.Select(f.sel)
	if err != nil {
		return nil, err
	}
	var regions []string
	for _, r := range strings.Split(f.regions, ",") {
		if r = strings.TrimSpace(r); r == "" {
			continue
		}
		if !profiles.ValidRegion(r) {
			return nil, usagef("--regions: %q is not a region name", r)
		}
		regions = append(regions, r)
	}
	if f.concurrency < 1 || f.concurrency > 256 {
		return nil, usagef("--concurrency must be 1..256")
	}
	if f.role != "" {
		if _, err := cfg.Role(f.role); err != nil {
			return nil, err
		}
	}
	return fleet.Targets(accts, regions), nil
}

// progressLine writes "42/120 targets" to stderr when it is a terminal.
func progressLine(e *env) func(fleet.Progress) {
	f, ok := e.stderr.(*os.File)
	if !ok {
		return nil
	}
	if st, err := f.Stat(); err != nil || st.Mode()&os.ModeCharDevice == 0 {
		return nil
	}
	return func(p fleet.Progress) {
		fmt.Fprintf(f, "\r%d/%d targets", p.Done+p.Failed, p.Total)
		if p.Failed > 0 {
			fmt.Fprintf(f, " · %d failed", p.Failed)
		}
		if p.Done+p.Failed == p.Total {
			fmt.Fprint(f, "\r\033[K")
		}
	}
}

type stackRow struct {
	Account   string    `json:"account"`
	AccountID string    `json:"account_id"`
	Region    string    `json:"region"`
	Name      string    `json:"name"`
	Status    string    `json:"status"`
	Updated   time.Time `json:"updated"`
	Drift     string    `json:"drift"`
}

type targetError struct {
	Account string `json:"account"`
	Region  string `json:"region"`
	Error   string `json:"error"`
}

func stacksLs(ctx context.Context, e *env, args []string) error {
	var g globals
	var ff fanFlags
	var status, name string
	fs := newFlags("stacks ls", e, &g, "stacks ls [--select SEL] [--regions R1,R2] [--status S1,S2] [--name GLOB]")
	ff.register(fs)
	fs.StringVar(&status, "status", "", "comma-separated stack statuses (default: all but DELETE_COMPLETE)")
	fs.StringVar(&name, "name", "", "stack name glob")
	pos, _, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usagef("stacks ls takes no arguments; use --select and --name")
	}
	cfg, err := g.load()
	if err != nil {
		return err
	}
	f := stacks.Filter{Name: name}
	for _, s := range strings.Split(status, ",") {
		if s = strings.ToUpper(strings.TrimSpace(s)); s != "" {
			f.Statuses = append(f.Statuses, s)
		}
	}
	if err := stacks.ValidateFilter(f); err != nil {
		return usagef("%v", err)
	}
	return runListing(ctx, e, &g, &ff, cfg, listing[stacks.Summary, stackRow]{
		key:    "stacks",
		header: []string{"ACCOUNT", "REGION", "STACK", "STATUS", "UPDATED", "DRIFT"},
		fetch: func(ctx context.Context, c aws.Config, _ fleet.Target) ([]stacks.Summary, error) {
			return stacks.List(ctx, stacks.New(c), f)
		},
		row: func(t fleet.Target, s stacks.Summary) stackRow {
			return stackRow{t.Account.Name, t.Account.ID, t.Region, s.Name, s.Status, s.LastChange(), s.Drift}
		},
		less: func(a, b stackRow) bool {
			return a.Account+"/"+a.Region+"/"+a.Name < b.Account+"/"+b.Region+"/"+b.Name
		},
		cells: func(r stackRow) []string {
			return []string{r.Account, r.Region, r.Name, r.Status, r.Updated.Local().Format("2006-01-02 15:04"), r.Drift}
		},
	})
}

// stackTarget parses ACCOUNT REGION STACK and returns the API for it.
func stackTarget(ctx context.Context, e *env, g *globals, role string, pos []string, cmd string) (stacks.API, *profiles.Account, string, string, error) {
	if len(pos) != 3 {
		return nil, nil, "", "", usagef("usage: opsdeck stacks %s ACCOUNT REGION STACK", cmd)
	}
	cfg, a, role, _, err := resolve(g, pos[0], role)
	if err != nil {
		return nil, nil, "", "", err
	}
	if !profiles.ValidRegion(pos[1]) {
		return nil, nil, "", "", usagef("%q is not a region name (e.g. eu-west-1)", pos[1])
	}
	c, _, err := g.broker(e, cfg).Config(ctx, a, role, pos[1])
	if err != nil {
		return nil, nil, "", "", err
	}
	return stacks.New(c), a, pos[1], pos[2], nil
}

func stacksShow(ctx context.Context, e *env, args []string) error {
	var g globals
	var role string
	var withTemplate bool
	fs := newFlags("stacks show", e, &g, "stacks show ACCOUNT REGION STACK [--template]")
	fs.StringVar(&role, "role", "", "role `KEY`")
	fs.BoolVar(&withTemplate, "template", false, "include the template as deployed")
	pos, _, err := parse(fs, args)
	if err != nil {
		return err
	}
	api, a, region, name, err := stackTarget(ctx, e, &g, role, pos, "show")
	if err != nil {
		return err
	}
	where := fmt.Sprintf("%s/%s", a.Name, region)
	det, err := stacks.Describe(ctx, api, name)
	if err != nil {
		return fmt.Errorf("%s: %s", where, awsx.Summary(err))
	}
	res, err := stacks.Resources(ctx, api, name)
	if err != nil {
		return fmt.Errorf("%s: %w", where, err)
	}
	evs, err := stacks.Events(ctx, api, name, "", 20)
	if err != nil {
		return fmt.Errorf("%s: %w", where, err)
	}
	var tpl string
	if withTemplate {
		if tpl, err = stacks.Template(ctx, api, name); err != nil {
			return fmt.Errorf("%s: %w", where, err)
		}
	}
	if g.json {
		out := map[string]any{"account": a.Name, "account_id": a.ID, "region": region, "stack": det, "resources": res, "events": evs}
		if withTemplate {
			out["template"] = tpl
		}
		return writeJSON(e.stdout, out)
	}
	w := e.stdout
	fmt.Fprintf(w, "%s  %s  (%s %s)\n", det.Name, det.Status, a.Name, region)
	if det.Reason != "" {
		fmt.Fprintf(w, "reason: %s\n", det.Reason)
	}
	fmt.Fprintf(w, "created %s, last change %s, drift %s\n", det.Created.Local().Format(time.DateTime), det.LastChange().Local().Format(time.DateTime), det.Drift)
	tw := newTab(w)
	fmt.Fprintln(tw, "\nPARAMETER\tVALUE")
	for _, p := range det.Parameters {
		fmt.Fprintf(tw, "%s\t%s\n", p.Key, p.Value)
	}
	fmt.Fprintln(tw, "\nOUTPUT\tVALUE\tEXPORT")
	for _, o := range det.Outputs {
		fmt.Fprintf(tw, "%s\t%s\t%s\n", o.Key, o.Value, o.Export)
	}
	fmt.Fprintln(tw, "\nRESOURCE\tTYPE\tPHYSICAL ID\tSTATUS")
	for _, r := range res {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", r.LogicalID, r.Type, r.PhysicalID, r.Status)
	}
	fmt.Fprintln(tw, "\nTIME\tRESOURCE\tSTATUS\tREASON")
	for _, ev := range evs {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", ev.Time.Local().Format(time.DateTime), ev.LogicalID, ev.Status, ev.Reason)
	}
	tw.Flush()
	if withTemplate {
		fmt.Fprintf(w, "\nTEMPLATE\n%s\n", tpl)
	}
	return nil
}

func stacksEvents(ctx context.Context, e *env, args []string) error {
	var g globals
	var role string
	var follow bool
	var interval time.Duration
	fs := newFlags("stacks events", e, &g, "stacks events ACCOUNT REGION STACK [--follow]")
	fs.StringVar(&role, "role", "", "role `KEY`")
	fs.BoolVar(&follow, "follow", false, "keep printing new events until the stack reaches a terminal state")
	fs.DurationVar(&interval, "interval", 5*time.Second, "poll interval with --follow")
	pos, _, err := parse(fs, args)
	if err != nil {
		return err
	}
	if interval < 100*time.Millisecond {
		return usagef("--interval must be at least 100ms")
	}
	api, a, region, name, err := stackTarget(ctx, e, &g, role, pos, "events")
	if err != nil {
		return err
	}
	where := fmt.Sprintf("%s/%s", a.Name, region)
	print := func(evs []stacks.Event) {
		// Oldest first on a terminal, like a log.
		for i := len(evs) - 1; i >= 0; i-- {
			ev := evs[i]
			if g.json {
				writeJSONLine(e, ev)
				continue
			}
			fmt.Fprintf(e.stdout, "%s  %-28s %-24s %s\n", ev.Time.Local().Format(time.DateTime), ev.LogicalID, ev.Status, ev.Reason)
		}
	}
	evs, err := stacks.Events(ctx, api, name, "", 20)
	if err != nil {
		return fmt.Errorf("%s: %s", where, awsx.Summary(err))
	}
	print(evs)
	if !follow {
		return nil
	}
	cursor := ""
	if len(evs) > 0 {
		cursor = evs[0].ID
	}
	for {
		det, err := stacks.Describe(ctx, api, name)
		if err != nil {
			return fmt.Errorf("%s: %s", where, awsx.Summary(err))
		}
		newer, err := stacks.Events(ctx, api, name, cursor, 0)
		if err != nil {
			return fmt.Errorf("%s: %s", where, awsx.Summary(err))
		}
		print(newer)
		if len(newer) > 0 {
			cursor = newer[0].ID
		}
		if stacks.Terminal(det.Status) {
			if !g.json {
				fmt.Fprintf(e.stderr, "%s is %s\n", name, det.Status)
			}
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(interval):
		}
	}
}

func writeJSONLine(e *env, v any) {
	enc := jsonEncoder(e.stdout)
	_ = enc.Encode(v)
}

func stacksDrift(ctx context.Context, e *env, args []string) error {
	var g globals
	var role string
	fs := newFlags("stacks drift", e, &g, "stacks drift ACCOUNT REGION STACK")
	fs.StringVar(&role, "role", "", "role `KEY`")
	pos, _, err := parse(fs, args)
	if err != nil {
		return err
	}
	api, a, region, name, err := stackTarget(ctx, e, &g, role, pos, "drift")
	if err != nil {
		return err
	}
	where := fmt.Sprintf("%s/%s", a.Name, region)
	rep, err := stacks.Drift(ctx, api, name, stacks.DriftOptions{})
	if errors.Is(err, stacks.ErrDriftUnavailable) {
		return fmt.Errorf("%s: stack %s: drift detection is not available on this endpoint (the emulator lacks it; run against AWS)", where, name)
	}
	if err != nil {
		return fmt.Errorf("%s: %s", where, awsx.Summary(err))
	}
	if g.json {
		return writeJSON(e.stdout, rep)
	}
	fmt.Fprintf(e.stdout, "%s: %s (%d drifted) at %s\n", name, rep.Status, rep.Drifted, rep.Checked.Local().Format(time.DateTime))
	for _, r := range rep.Resources {
		fmt.Fprintf(e.stdout, "  %-10s %s (%s) %s\n", r.Status, r.LogicalID, r.Type, r.PhysicalID)
		for _, d := range r.Diffs {
			fmt.Fprintf(e.stdout, "      %s %s: expected %s, actual %s\n", d.Kind, d.Path, orNone(d.Expected), orNone(d.Actual))
		}
	}
	return nil
}

func orNone(s string) string {
	if s == "" {
		return "(none)"
	}
	return s
}
