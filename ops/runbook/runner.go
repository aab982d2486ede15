package runbook

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"github.com/opsdeck/opsdeck/profiles"
)

// Outcome is what an operation returns.
type Outcome struct {
	Outputs    map[string]string
	RequestIDs []string
}

// Executor runs one step's operation. token is the step's idempotency
// token: an action called again with the same token (a retry, or a resume
// after a crash mid-step) must find what the first call made instead of
// making it twice. Actions go through the guard and the audit journal
// inside the executor.
type Executor interface {
	Exec(ctx context.Context, rb *Runbook, st Step, in map[string]string, token string) (Outcome, error)
}

// Event reports a step's progress to a UI.
type Event struct {
	N       int // 1-based
	Step    Step
	Status  string // running | done | failed | skipped | retrying
	Attempt int
	Inputs  map[string]string
	Outputs map[string]string
	Err     error
}

// Runner runs and resumes runbooks, journaling every step.
type Runner struct {
	Exec     Executor
	Operator string
	// Account is the account the run acts in, recorded for resume.
	Account string
	OnEvent func(Event)
	Now     func() time.Time
	// Backoff is the wait before retry n (default 2s·n).
	Backoff func(n int) time.Duration
}

// ErrStopped is returned when a step failed with on_failure = stop.
var ErrStopped = errors.New("runbook stopped")

// Start begins a run of rb with resolved params,
// journaling into j. It returns when the run finishes, stops or ctx ends;
// the journal then holds what a resume needs.
func (r *Runner) Start(ctx context.Context, rb *Runbook, params map[string]string, j *Journal) error {
	var id [8]byte
	if _, err := rand.Read(id[:]); err != nil {
		return err
	}
	start := Record{Type: "start", At: r.now(), RunID: hex.EncodeToString(id[:]), Runbook: rb.Name, Path: rb.Path, Source: string(rb.Source),
		Operator: r.Operator, Account: r.Account, Params: params}
	if err := j.Append(start); err != nil {
		return err
	}
	return r.Resume(ctx, j, nil)
}

// Resume continues the run in j: finished steps are never run again (their
// outputs are read back from the journal), a step that was in flight is
// run again with the same idempotency token, so it finds what it made.
// cfg re-checks the runbook against the estate (nil: skipped).
func (r *Runner) Resume(ctx context.Context, j *Journal, cfg *profiles.Config) error {
	st, err := Read(j.Path)
	if err != nil {
		return err
	}
	if st.Finished != nil {
		return fmt.Errorf("run %s finished at %s: nothing to resume (see `opsdeck runbook report %s`)", j.Path, st.Finished.At.Format(time.RFC3339), j.Path)
	}
	rb, err := Parse(st.Start.Path, []byte(st.Start.Source), cfg)
	if err != nil {
		return fmt.Errorf("run %s: its runbook no longer validates: %w", j.Path, err)
	}
	scope := Scope{Params: st.Start.Params, Targets: rb.Targets, Outputs: st.Outputs()}
	failed := 0
	for i, step := range rb.Steps {
		if _, done := st.Done[step.ID]; done {
			continue
		}
		if _, skipped := st.Skipped[step.ID]; skipped {
			continue
		}
		if _, ok := st.Failed[step.ID]; ok && step.OnFailure == "continue" && st.InFlight != step.ID {
			failed++ // failed and let through before the interruption
			continue
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		ev := Event{N: i + 1, Step: step}
		runs, err := scope.Runs(step)
		if err != nil {
			return r.fail(j, ev, err)
		}
		if !runs {
			if err := j.Append(Record{Type: "step-skipped", At: r.now(), Step: step.ID, Reason: "when " + step.When + " is false"}); err != nil {
				return err
			}
			ev.Status = "skipped"
			r.emit(ev)
			continue
		}
		in, err := scope.Inputs(step)
		if err != nil {
			return r.fail(j, ev, err)
		}
		ev.Inputs = in
		out, err := r.attempts(ctx, j, rb, step, ev, in, stepToken(st.Start.RunID, step.ID), st.Started[step.ID].Attempt)
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err() // interrupted: the step stays in flight for the resume
			}
			if step.OnFailure == "continue" {
				failed++
				continue
			}
			return fmt.Errorf("%w at step %d (%s): %v", ErrStopped, i+1, step.ID, err)
		}
		scope.Outputs[step.ID] = out.Outputs
	}
	reason := "all steps done"
	if failed > 0 {
		reason = fmt.Sprintf("done; %d step(s) failed and were let through (on_failure = continue)", failed)
	}
	return j.Append(Record{Type: "finish", At: r.now(), Reason: reason})
}

// attempts runs a step until it succeeds or its retries are used up.
func (r *Runner) attempts(ctx context.Context, j *Journal, rb *Runbook, step Step, ev Event, in map[string]string, token string, prev int) (Outcome, error) {
	tries := 1
	if step.OnFailure == "retry" {
		tries += step.Retries
	}
	var last error
	for n := prev + 1; n <= prev+tries; n++ {
		ev.Attempt, ev.Status, ev.Err = n, "running", nil
		r.emit(ev)
		if err := j.Append(Record{Type: "step-start", At: r.now(), Step: step.ID, Attempt: n, Token: token, Inputs: in, Operator: r.Operator}); err != nil {
			return Outcome{}, err
		}
		out, err := r.Exec.Exec(ctx, rb, step, in, token)
		if err == nil {
			// Journaled first: a step shown as done is done for a resume.
			if err := j.Append(Record{Type: "step-done", At: r.now(), Step: step.ID, Attempt: n, Token: token, Outputs: out.Outputs, RequestIDs: out.RequestIDs}); err != nil {
				return out, err
			}
			ev.Status, ev.Outputs = "done", out.Outputs
			r.emit(ev)
			return out, nil
		}
		if ctx.Err() != nil {
			return Outcome{}, err
		}
		last = err
		if jerr := j.Append(Record{Type: "step-failed", At: r.now(), Step: step.ID, Attempt: n, Token: token, Error: err.Error(), RequestIDs: out.RequestIDs}); jerr != nil {
			return Outcome{}, jerr
		}
		ev.Status, ev.Err = "failed", err
		if n < prev+tries {
			ev.Status = "retrying"
			r.emit(ev)
			select {
			case <-ctx.Done():
				return Outcome{}, ctx.Err()
			case <-time.After(r.backoff(n - prev)):
			}
			continue
		}
		r.emit(ev)
	}
	return Outcome{}, last
}

func (r *Runner) fail(j *Journal, ev Event, err error) error {
	ev.Status, ev.Err = "failed", err
	r.emit(ev)
	if jerr := j.Append(Record{Type: "step-failed", At: r.now(), Step: ev.Step.ID, Error: err.Error()}); jerr != nil {
		return jerr
	}
	return fmt.Errorf("%w at step %d (%s): %v", ErrStopped, ev.N, ev.Step.ID, err)
}

func (r *Runner) emit(e Event) {
	if r.OnEvent != nil {
		r.OnEvent(e)
	}
}

func (r *Runner) now() time.Time {
	if r.Now != nil {
		return r.Now().UTC()
	}
	return time.Now().UTC()
}

func (r *Runner) backoff(n int) time.Duration {
	if r.Backoff != nil {
		return r.Backoff(n)
	}
	return 2 * time.Second * time.Duration(n)
}
