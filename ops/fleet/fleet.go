// Package fleet runs one function over account × region targets: bounded
// concurrency, cancellation, progress events and a result per target.
// One failed target (role cannot be assumed, region disabled, endpoint
// down, throttled past retries) never hides the others: its error is
// reported next to their results. Every capability that reaches more than
// one account fans out through here.
package fleet

import (
	"context"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/opsdeck/opsdeck/profiles"
)

// Target is one account in one region.
type Target struct {
	Account *profiles.Account
	Region  string
}

func (t Target) String() string { return t.Account.Name + "/" + t.Region }

// Targets crosses accounts with regions; nil regions means each account's
// own regions.
func Targets(accts []*profiles.Account, regions []string) []Target {
	var out []Target
	for _, a := range accts {
		rs := regions
		if len(rs) == 0 {
			rs = a.Regions
		}
		for _, r := range rs {
			out = append(out, Target{Account: a, Region: r})
		}
	}
	return out
}

// State of one target.
type State int

const (
	Queued State = iota
	Running
	Done
	Failed
)

func (s State) String() string {
	return [...]string{"queued", "running", "done", "failed"}[s]
}

// Progress is published whenever a target changes state.
type Progress struct {
	Target Target
	State  State
	Err    error
	// Counts after this change.
	Done, Failed, Running, Total int
}

// Result is one target's outcome.
type Result[T any] struct {
	Target   Target
	Value    T
	Err      error
	Duration time.Duration
}

// Options tune a run.
type Options struct {
	// Concurrency bounds the targets in flight (default 16).
	Concurrency int
	// Role is the role key assumed in every account ("" = each account's
	// default role).
	Role string
	// Progress, when set, is called (from worker goroutines, serialised)
	// on every state change.
	Progress func(Progress)
}

// Func is the work for one target, given credentials for it.
type Func[T any] func(ctx context.Context, cfg aws.Config, t Target) (T, error)

// Stream runs fn over targets and delivers results as they finish; the
// channel closes when every target has a result. Cancelling ctx stops new
// targets at once and gives each unstarted target a result with ctx's
// error; running ones end as their AWS calls see the cancellation.
func Stream[T any](ctx context.Context, b *profiles.Broker, targets []Target, o Options, fn Func[T]) <-chan Result[T] {
	if o.Concurrency <= 0 {
		o.Concurrency = 16
	}
	out := make(chan Result[T], len(targets))
	var mu sync.Mutex
	p := Progress{Total: len(targets)}
	report := func(t Target, s State, err error) {
		if o.Progress == nil {
			return
		}
		mu.Lock()
		defer mu.Unlock()
		switch s {
		case Running:
			p.Running++
		case Done:
			p.Running--
			p.Done++
		case Failed:
			p.Running--
			p.Failed++
		}
		p.Target, p.State, p.Err = t, s, err
		o.Progress(p)
	}
	jobs := make(chan Target)
	var wg sync.WaitGroup
	for w := 0; w < min(o.Concurrency, len(targets)); w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for t := range jobs {
				report(t, Running, nil)
				start := time.Now()
				var v T
				// select may hand out a job after cancellation; never start it.
				err := ctx.Err()
				if err == nil {
					var cfg aws.Config
					cfg, _, err = b.Config(ctx, t.Account, o.Role, t.Region)
					if err == nil {
						v, err = fn(ctx, cfg, t)
					}
				}
				r := Result[T]{Target: t, Value: v, Err: err, Duration: time.Since(start)}
				if err != nil {
					report(t, Failed, err)
				} else {
					report(t, Done, nil)
				}
				out <- r
			}
		}()
	}
	go func() {
		defer close(out)
		i := 0
	feed:
		for ; i < len(targets) && ctx.Err() == nil; i++ {
			select {
			case jobs <- targets[i]:
			case <-ctx.Done():
				break feed
			}
		}
		close(jobs)
		for ; i < len(targets); i++ {
			// Not started: still one result each, so nothing goes missing.
			report(targets[i], Running, nil)
			report(targets[i], Failed, ctx.Err())
			out <- Result[T]{Target: targets[i], Err: ctx.Err()}
		}
		wg.Wait()
	}()
	return out
}

// Run is Stream collected, in target order.
func Run[T any](ctx context.Context, b *profiles.Broker, targets []Target, o Options, fn Func[T]) []Result[T] {
	idx := make(map[Target]int, len(targets))
	for i, t := range targets {
		idx[t] = i
	}
	out := make([]Result[T], len(targets))
	for r := range Stream(ctx, b, targets, o, fn) {
		out[idx[r.Target]] = r
	}
	return out
}
