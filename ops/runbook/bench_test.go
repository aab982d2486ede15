package runbook

import (
	"fmt"
	"testing"
	"time"
)

// BenchmarkStepJournal is the cost the journal adds to every step: a
// step-start and a step-done, each one fsynced line.
func BenchmarkStepJournal(b *testing.B) {
	j := NewJournal(b.TempDir(), "bench", time.Now())
	if err := j.Append(Record{Type: "start", RunID: "r", Source: flow}); err != nil {
		b.Fatal(err)
	}
	in := map[string]string{"snapshot": "app-db-nightly-2", "to_region": "eu-west-1"}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		id := fmt.Sprint("s", i)
		if err := j.Append(Record{Type: "step-start", Step: id, Attempt: 1, Token: "t", Inputs: in}); err != nil {
			b.Fatal(err)
		}
		if err := j.Append(Record{Type: "step-done", Step: id, Attempt: 1, Token: "t", Outputs: in}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkResumeReplay reads back a journal of 1,000 steps (what a
// resume does before anything else).
func BenchmarkResumeReplay(b *testing.B) {
	j := NewJournal(b.TempDir(), "bench", time.Now())
	j.Append(Record{Type: "start", RunID: "r", Source: flow})
	in := map[string]string{"snapshot": "app-db-nightly-2", "to_region": "eu-west-1"}
	for i := 0; i < 1000; i++ {
		id := fmt.Sprint("s", i)
		j.Append(Record{Type: "step-start", Step: id, Attempt: 1, Inputs: in})
		j.Append(Record{Type: "step-done", Step: id, Attempt: 1, Outputs: in})
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		st, err := Read(j.Path)
		if err != nil || len(st.Done) != 1000 {
			b.Fatal(err)
		}
	}
}
