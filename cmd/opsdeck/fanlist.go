package main

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"github.com/opsdeck/opsdeck/ops/awsx"
	"github.com/opsdeck/opsdeck/ops/fleet"
	"github.com/opsdeck/opsdeck/profiles"
)

// listing describes a read-only listing across account × region targets.
type listing[T, R any] struct {
	key    string // JSON key of the rows
	header []string
	fetch  fleet.Func[[]T]
	row    func(fleet.Target, T) R
	cells  func(R) []string
	// skip lets a listing drop an expected per-target error.
	skip func(error) bool
	// less orders the rows (nil: arrival order).
	less func(a, b R) bool
}

// runListing fans out, prints rows as JSON ({key: rows, "errors": ...}) or
// a table with failed targets on stderr, and exits 3 when some failed.
func runListing[T, R any](ctx context.Context, e *env, g *globals, ff *fanFlags, cfg *profiles.Config, l listing[T, R]) error {
	targets, err := ff.targets(cfg)
	if err != nil {
		return err
	}
	rows := []R{}
	errs := []targetError{}
	for r := range fleet.Stream(ctx, g.broker(e, cfg), targets, fleet.Options{Concurrency: ff.concurrency, Role: ff.role, Progress: progressLine(e)}, l.fetch) {
		if r.Err != nil {
			if l.skip == nil || !l.skip(r.Err) {
				errs = append(errs, targetError{r.Target.Account.Name, r.Target.Region, awsx.Summary(r.Err)})
			}
			continue
		}
		for _, v := range r.Value {
			rows = append(rows, l.row(r.Target, v))
		}
	}
	if l.less != nil {
		sort.SliceStable(rows, func(i, j int) bool { return l.less(rows[i], rows[j]) })
	}
	sort.Slice(errs, func(i, j int) bool { return errs[i].Account+errs[i].Region < errs[j].Account+errs[j].Region })
	if g.json {
		if err := writeJSON(e.stdout, map[string]any{l.key: rows, "errors": errs}); err != nil {
			return err
		}
	} else {
		tw := newTab(e.stdout)
		fmt.Fprintln(tw, strings.Join(l.header, "\t"))
		for _, r := range rows {
			fmt.Fprintln(tw, strings.Join(l.cells(r), "\t"))
		}
		tw.Flush()
		for _, te := range errs {
			fmt.Fprintf(e.stderr, "error: %s/%s: %s\n", te.Account, te.Region, te.Error)
		}
	}
	first := ""
	if len(errs) > 0 {
		first = errs[0].Account + "/" + errs[0].Region + ": " + errs[0].Error
	}
	return fanOutcome(e, l.key, len(errs), len(targets), first)
}

// fanOutcome is a fan-out's exit, once the per-target errors are printed:
// ok when every target succeeded, a failure when none did, partial (3)
// otherwise. first is the first target's error ("acct/region: why"),
// repeated when every target failed, since then it is likely everyone's.
func fanOutcome(e *env, what string, failed, total int, first string) error {
	switch {
	case failed == 0:
		return nil
	case failed == total:
		return fmt.Errorf("%s failed on every target (%d); %s", what, total, first)
	}
	fmt.Fprintf(e.stderr, "opsdeck: %d of %d targets failed; results for the others are above\n", failed, total)
	return &exitError{code: exitPartial}
}
