package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"regexp"
	"strings"
	"sync"

	"golang.org/x/term"

	"github.com/opsdeck/opsdeck/ops/audit"
	"github.com/opsdeck/opsdeck/ops/plan"
	"github.com/opsdeck/opsdeck/profiles"
)

// listFlag is a repeatable string flag.
type listFlag []string

func (l *listFlag) String() string     { return strings.Join(*l, ",") }
func (l *listFlag) Set(v string) error { *l = append(*l, v); return nil }

// pairNameRe is what a --var or --param name may be.
var pairNameRe = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// pairs reads repeated --flag name=value values.
func (l listFlag) pairs(flag string) (map[string]string, error) {
	out := map[string]string{}
	for _, kv := range l {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || !pairNameRe.MatchString(k) {
			return nil, usagef("--%s %q: want name=value (name: letters, digits, underscores)", flag, kv)
		}
		out[k] = v
	}
	return out, nil
}

// mutFlags are the flags of every command that changes something.
type mutFlags struct {
	dryRun  bool
	yes     bool
	confirm listFlag
	reason  string
}

func (m *mutFlags) register(fs *flag.FlagSet) {
	fs.BoolVar(&m.dryRun, "dry-run", false, "print the plan and change nothing")
	fs.BoolVar(&m.yes, "yes", false, "answer yes for accounts whose environment asks for confirmation")
	fs.Var(&m.confirm, "confirm-account", "`NAME` of a protected account to act on (repeat per account)")
	fs.StringVar(&m.reason, "reason", "", "why: recorded in names, tags and the audit journal")
}

// runner builds the guard → audit runner for these flags.
func (m *mutFlags) runner(e *env, g *globals, cfg *profiles.Config) *plan.Runner {
	var mu sync.Mutex
	answered := map[string]string{} // one answer per account, whatever the regions
	return &plan.Runner{
		Guard: profiles.Guard{ReadOnly: g.readOnly}, Journal: audit.Open(""), Operator: cfg.Operator.Name, DryRun: m.dryRun,
		Confirm: func(_ context.Context, gate profiles.Gate, p plan.Plan) (string, error) {
			mu.Lock()
			defer mu.Unlock()
			if a, ok := answered[p.Account.ID]; ok {
				return a, nil
			}
			var a string
			switch gate.Level {
			case profiles.Protected:
				for _, n := range m.confirm {
					if n == p.Account.Name {
						a = n
					}
				}
			default:
				if m.yes {
					a = "y"
				}
			}
			if a == "" {
				var err error
				if a, err = ask(e, gate, p); err != nil {
					return "", err
				}
			}
			answered[p.Account.ID] = a
			return a, nil
		}}
}

// ask shows the plan and asks on the terminal; without one, it says which
// flag answers instead.
func ask(e *env, gate profiles.Gate, p plan.Plan) (string, error) {
	f, ok := e.stdin.(*os.File)
	if !ok || !term.IsTerminal(int(f.Fd())) {
		if gate.Level == profiles.Protected {
			return "", fmt.Errorf("%s is protected: pass --confirm-account %s", p.Account.Name, p.Account.Name)
		}
		return "", errors.New("needs confirmation: pass --yes")
	}
	fmt.Fprint(e.stderr, p.String())
	if gate.Level == profiles.Protected {
		fmt.Fprintf(e.stderr, "%s is PROTECTED (%s). Type the account name to go ahead: ", p.Account.Name, p.Account.Environment)
	} else {
		fmt.Fprintf(e.stderr, "Go ahead in %s? [y/N] ", p.Account.Name)
	}
	line, err := bufio.NewReader(f).ReadString('\n')
	return strings.TrimSpace(line), err
}

// newPlan is plan.New (the CLI and the TUI build plans the same way).
var newPlan = plan.New

// runPlan prints a dry run or runs the plan, printing progress to stderr
// and the result to stdout.
func runPlan(ctx context.Context, e *env, g *globals, r *plan.Runner, p plan.Plan, exec func(context.Context, *plan.Result) error) error {
	if r.DryRun {
		if g.json {
			return writeJSON(e.stdout, map[string]any{"dry_run": true, "plan": p.JSON()})
		}
		fmt.Fprint(e.stdout, p.String())
		fmt.Fprintln(e.stdout, "dry run: nothing was changed")
		return nil
	}
	res, err := r.Run(ctx, p, exec)
	var refused *plan.RefusedError
	if errors.As(err, &refused) {
		return &guardError{refused}
	}
	if err != nil {
		return fmt.Errorf("%s/%s: %w", p.Account.Name, p.Region, err)
	}
	if g.json {
		return writeJSON(e.stdout, map[string]any{"action": p.Action, "account": p.Account.Name, "region": p.Region,
			"plan_hash": p.Hash(), "results": res.Results, "request_ids": res.RequestIDs})
	}
	fmt.Fprintf(e.stdout, "%s on %s/%s: done\n", p.Action, p.Account.Name, p.Region)
	for k, v := range res.Results {
		fmt.Fprintf(e.stdout, "  %s %s\n", k, v)
	}
	return nil
}

// guardError is a refusal (exit 1, the reason says what to pass).
type guardError struct{ err *plan.RefusedError }

func (g *guardError) Error() string { return g.err.Error() }

func progressTo(e *env) func(string) {
	return func(s string) { fmt.Fprintln(e.stderr, "  …", s) }
}
