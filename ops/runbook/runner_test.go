package runbook

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// flow is head (one param, db) with a second param and five steps.
var flow = head + `[[params]]
name = "flip"
type = "bool"
default = "false"
[[steps]]
id = "latest"
title = "latest"
op = "backup.latest"
inputs = { resource = "${params.db}" }
[[steps]]
id = "copy"
title = "copy"
op = "backup.copy"
on_failure = "retry"
retries = 2
inputs = { snapshot = "${steps.latest.outputs.snapshot_id}", to_region = "${targets.dr}" }
[[steps]]
id = "restore"
title = "restore"
op = "rds.restore"
inputs = { snapshot = "${steps.copy.outputs.snapshot_id}", instance = "${params.db}-dr" }
[[steps]]
id = "flip"
title = "flip"
op = "ssm.put_parameter"
when = "${params.flip} == true"
inputs = { name = "/app/db", value = "${steps.restore.outputs.endpoint}" }
[[steps]]
id = "note"
title = "note"
op = "manual"
on_failure = "continue"
inputs = { instructions = "look at ${steps.restore.outputs.instance}" }
`

// fakeOps stands in for AWS in the runner's own tests: it creates a
// resource per idempotency token, once, like the real operations do.
type fakeOps struct {
	mu       sync.Mutex
	created  map[string]int    // token -> times a resource was created
	calls    map[string]int    // step -> calls
	failN    map[string]int    // step -> fail this many calls first
	block    map[string]func() // step -> called before returning (to interrupt)
	inputsOf map[string]map[string]string
}

func newFakeOps() *fakeOps {
	return &fakeOps{created: map[string]int{}, calls: map[string]int{}, failN: map[string]int{}, block: map[string]func(){}, inputsOf: map[string]map[string]string{}}
}

func (f *fakeOps) Exec(ctx context.Context, rb *Runbook, st Step, in map[string]string, token string) (Outcome, error) {
	f.mu.Lock()
	f.calls[st.ID]++
	f.inputsOf[st.ID] = in
	if f.failN[st.ID] > 0 {
		f.failN[st.ID]--
		f.mu.Unlock()
		return Outcome{}, errors.New("Throttling: rate exceeded")
	}
	if Ops[st.Op].Kind == Action && f.created[token] == 0 {
		f.created[token]++
	}
	block := f.block[st.ID]
	f.mu.Unlock()
	if block != nil {
		block()
		<-ctx.Done()
		return Outcome{}, ctx.Err()
	}
	out := map[string]string{}
	for _, o := range Ops[st.Op].Outputs {
		out[o] = st.ID + "-" + o
	}
	if st.Op == "backup.latest" {
		out["age"] = "3h0m0s"
	}
	return Outcome{Outputs: out, RequestIDs: []string{"req-" + st.ID}}, nil
}

func parseFlow(t *testing.T) *Runbook {
	rb, err := Parse("flow.toml", []byte(flow), nil)
	if err != nil {
		t.Fatal(err)
	}
	return rb
}

func TestRunnerRunsStepsInOrderThreadingOutputs(t *testing.T) {
	rb := parseFlow(t)
	ops := newFakeOps()
	ops.failN["copy"] = 2 // two throttles, then success within retries = 2
	var evs []string
	r := &Runner{Exec: ops, Operator: "ana", Now: clock(), Backoff: func(int) time.Duration { return 0 },
		OnEvent: func(e Event) { evs = append(evs, fmt.Sprintf("%s:%s", e.Step.ID, e.Status)) }}
	j := NewJournal(t.TempDir(), rb.Name, time.Now())
	params, _ := rb.Resolve(nil)
	if err := r.Start(context.Background(), rb, params, j); err != nil {
		t.Fatal(err)
	}
	if got := ops.inputsOf["restore"]; got["snapshot"] != "copy-snapshot_id" || got["instance"] != "app-db-dr" {
		t.Fatalf("restore inputs %v", got)
	}
	if ops.calls["copy"] != 3 || ops.calls["flip"] != 0 {
		t.Fatalf("calls %v", ops.calls)
	}
	want := "latest:running latest:done copy:running copy:retrying copy:running copy:retrying copy:running copy:done restore:running restore:done flip:skipped note:running note:done"
	if strings.Join(evs, " ") != want {
		t.Fatalf("events\n%s\nwant\n%s", strings.Join(evs, " "), want)
	}
	st, err := Read(j.Path)
	if err != nil || st.Finished == nil || len(st.Done) != 4 || st.Skipped["flip"].Reason == "" || st.Done["copy"].Attempt != 3 {
		t.Fatalf("journal: %+v %v", st, err)
	}
	if err := r.Resume(context.Background(), j, nil); err == nil || !strings.Contains(err.Error(), "nothing to resume") {
		t.Fatalf("resume of a finished run: %v", err)
	}
	rep, err := Report(st)
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "testdata/report.golden", strings.ReplaceAll(rep, st.Start.RunID, "RUNID"))
}

var update = flag.Bool("update", false, "rewrite golden files")

func golden(t *testing.T, path, got string) {
	t.Helper()
	if *update {
		os.MkdirAll(filepath.Dir(path), 0o755)
		os.WriteFile(path, []byte(got), 0o644)
	}
	want, err := os.ReadFile(path)
	if err != nil || string(want) != got {
		t.Fatalf("%s differs (go test ./ops/runbook -update rewrites it):\n%s", path, got)
	}
}

// clock returns a time one second later on every call.
func clock() func() time.Time {
	t := time.Date(2026, 11, 22, 3, 0, 0, 0, time.UTC)
	return func() time.Time { t = t.Add(time.Second); return t }
}

// Interrupted in the middle of step 3: a resume never runs steps 1–2
// again, runs step 3 with the same token (so its resource is made once)
// and finishes.
func TestRunnerResumeAfterInterruption(t *testing.T) {
	rb := parseFlow(t)
	ops := newFakeOps()
	ctx, cancel := context.WithCancel(context.Background())
	ops.block["restore"] = cancel
	r := &Runner{Exec: ops, Operator: "ana"}
	j := NewJournal(t.TempDir(), rb.Name, time.Now())
	params, _ := rb.Resolve(map[string]string{"flip": "true"})
	if err := r.Start(ctx, rb, params, j); !errors.Is(err, context.Canceled) {
		t.Fatalf("interrupted run: %v", err)
	}
	st, _ := Read(j.Path)
	if st.InFlight != "restore" || len(st.Done) != 2 {
		t.Fatalf("after the interruption: in flight %q, done %d", st.InFlight, len(st.Done))
	}
	delete(ops.block, "restore")
	if err := r.Resume(context.Background(), j, nil); err != nil {
		t.Fatal(err)
	}
	if ops.calls["latest"] != 1 || ops.calls["copy"] != 1 || ops.calls["restore"] != 2 || ops.calls["flip"] != 1 {
		t.Fatalf("calls %v", ops.calls)
	}
	for tok, n := range ops.created {
		if n != 1 {
			t.Fatalf("token %s created %d times", tok, n)
		}
	}
	if len(ops.created) != 3 { // copy, restore, flip
		t.Fatalf("created %v", ops.created)
	}
	st, _ = Read(j.Path)
	if st.Started["restore"].Attempt != 2 || st.Started["restore"].Token != st.Done["restore"].Token {
		t.Fatalf("restore attempts %+v / %+v", st.Started["restore"], st.Done["restore"])
	}
}

// on_failure: stop ends the run (a resume tries the step again), continue
// lets the run finish.
func TestRunnerFailurePolicies(t *testing.T) {
	rb := parseFlow(t)
	ops := newFakeOps()
	ops.failN["restore"] = 1
	ops.failN["note"] = 1
	r := &Runner{Exec: ops}
	j := NewJournal(t.TempDir(), rb.Name, time.Now())
	params, _ := rb.Resolve(nil)
	err := r.Start(context.Background(), rb, params, j)
	if !errors.Is(err, ErrStopped) || !strings.Contains(err.Error(), "step 3 (restore): Throttling") {
		t.Fatalf("stop: %v", err)
	}
	if err := r.Resume(context.Background(), j, nil); err != nil {
		t.Fatal(err)
	}
	st, _ := Read(j.Path)
	if st.Finished == nil || !strings.Contains(st.Finished.Reason, "1 step(s) failed") || ops.calls["restore"] != 2 || ops.calls["latest"] != 1 {
		t.Fatalf("finish %+v calls %v", st.Finished, ops.calls)
	}
}

func TestReadRejectsOtherFiles(t *testing.T) {
	if _, err := Read(filepath.Join(t.TempDir(), "none.jsonl")); err == nil || !strings.Contains(err.Error(), "no such file") {
		t.Fatalf("missing: %v", err)
	}
}
