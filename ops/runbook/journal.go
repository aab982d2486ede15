package runbook

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/opsdeck/opsdeck/ops/audit"
)

// Record is one line of a run's journal. A run's journal holds everything
// needed to resume it, the runbook's text included, so a resume does not
// depend on the file still being there or unchanged.
type Record struct {
	Type string    `json:"type"` // start | step-start | step-done | step-failed | step-skipped | finish
	At   time.Time `json:"at"`

	// start
	RunID    string            `json:"run_id,omitempty"`
	Runbook  string            `json:"runbook,omitempty"`
	Path     string            `json:"path,omitempty"`
	Source   string            `json:"source,omitempty"` // the runbook's TOML
	Operator string            `json:"operator,omitempty"`
	Account  string            `json:"account,omitempty"` // the account the run acts in
	Params   map[string]string `json:"params,omitempty"`

	// steps
	Step       string            `json:"step,omitempty"`
	Attempt    int               `json:"attempt,omitempty"`
	Token      string            `json:"token,omitempty"`
	Inputs     map[string]string `json:"inputs,omitempty"`
	Outputs    map[string]string `json:"outputs,omitempty"`
	RequestIDs []string          `json:"request_ids,omitempty"`
	Error      string            `json:"error,omitempty"`
	Reason     string            `json:"reason,omitempty"`
}

// Journal is a run's append-only, fsynced journal.
type Journal struct{ Path string }

// Dir is where run journals are kept: $XDG_STATE_HOME/opsdeck/runbooks.
func Dir() string {
	return filepath.Join(filepath.Dir(audit.DefaultPath()), "runbooks")
}

// NewJournal names a new run's journal in dir.
func NewJournal(dir, runbook string, now time.Time) *Journal {
	return &Journal{Path: filepath.Join(dir, runbook+"-"+now.UTC().Format("20060102-150405")+".jsonl")}
}

// Append writes r durably before returning.
func (j *Journal) Append(r Record) error {
	if r.At.IsZero() {
		r.At = time.Now().UTC()
	}
	return audit.AppendJSON(j.Path, r)
}

// State is a run replayed from its journal.
type State struct {
	Start    Record
	Done     map[string]Record // step id -> its step-done
	Skipped  map[string]Record
	Failed   map[string]Record // step id -> its last step-failed
	Started  map[string]Record // step id -> its last step-start
	InFlight string            // a step started and not finished: re-checked on resume
	Finished *Record
	Records  []Record
	Warnings []audit.Warning
}

// Read replays the journal at path.
func Read(path string) (*State, error) {
	recs, warns, err := audit.ReadJSON[Record](path)
	if err != nil {
		return nil, err
	}
	if len(recs) == 0 || recs[0].Type != "start" {
		if _, statErr := os.Stat(path); statErr != nil {
			return nil, fmt.Errorf("run journal %s: %w", path, statErr)
		}
		return nil, fmt.Errorf("run journal %s: does not begin with a start record; is it a runbook journal? (they live in %s)", path, Dir())
	}
	s := &State{Start: recs[0], Done: map[string]Record{}, Skipped: map[string]Record{}, Failed: map[string]Record{},
		Started: map[string]Record{}, Records: recs, Warnings: warns}
	for _, r := range recs[1:] {
		switch r.Type {
		case "step-start":
			s.Started[r.Step] = r
			s.InFlight = r.Step
		case "step-done":
			s.Done[r.Step] = r
			s.InFlight = ""
		case "step-skipped":
			s.Skipped[r.Step] = r
			s.InFlight = ""
		case "step-failed":
			s.Failed[r.Step] = r
			s.InFlight = ""
		case "finish":
			rr := r
			s.Finished = &rr
		}
	}
	return s, nil
}

// Outputs are the finished steps' outputs, for references.
func (s *State) Outputs() map[string]map[string]string {
	out := map[string]map[string]string{}
	for id, r := range s.Done {
		out[id] = r.Outputs
	}
	return out
}

// stepToken is a step's idempotency token: the same for every attempt and
// every resume of one run, different between runs.
func stepToken(runID, step string) string {
	h := sha256.Sum256([]byte(runID + "/" + step))
	return "odrb-" + hex.EncodeToString(h[:])[:24]
}
