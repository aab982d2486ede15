// Package audit is opsdeck's append-only journal of every mutating action:
// an intent line written and fsynced before the action, an outcome line
// after it. It is JSON Lines at $XDG_STATE_HOME/opsdeck/audit.jsonl.
//
// Appends take an exclusive flock and write each line with one write(2)
// on an O_APPEND descriptor, so two opsdeck processes appending at once
// produce only whole lines. A reader that meets a torn last line (a crash
// mid-write) skips it with a warning and loses no complete entry.
package audit

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// Phases of an entry.
const (
	Intent  = "intent"
	Outcome = "outcome"
)

// Outcomes.
const (
	OK      = "ok"
	Failed  = "failed"
	Refused = "refused"
)

// Entry is one line of the journal.
type Entry struct {
	Time       time.Time         `json:"time"`
	Phase      string            `json:"phase"`
	ID         string            `json:"id"` // links an intent to its outcome
	Operator   string            `json:"operator"`
	AccountID  string            `json:"account_id"`
	Account    string            `json:"account"`
	Role       string            `json:"role,omitempty"`
	Region     string            `json:"region,omitempty"`
	Action     string            `json:"action"`
	Targets    []string          `json:"targets,omitempty"`
	Params     map[string]string `json:"params,omitempty"`
	PlanHash   string            `json:"plan_hash"`
	Outcome    string            `json:"outcome,omitempty"`
	RequestIDs []string          `json:"request_ids,omitempty"`
	Results    map[string]string `json:"results,omitempty"`
	Error      string            `json:"error,omitempty"`
}

// DefaultPath is $XDG_STATE_HOME/opsdeck/audit.jsonl (default
// ~/.local/state).
func DefaultPath() string {
	dir := os.Getenv("XDG_STATE_HOME")
	if dir == "" {
		home, _ := os.UserHomeDir()
		dir = filepath.Join(home, ".local", "state")
	}
	return filepath.Join(dir, "opsdeck", "audit.jsonl")
}

// Journal appends to one file.
type Journal struct {
	Path string
}

// Open returns the journal at path ("" = DefaultPath()).
func Open(path string) *Journal {
	if path == "" {
		path = DefaultPath()
	}
	return &Journal{Path: path}
}

// secretWords mark parameters whose values never reach the journal.
var secretWords = []string{"password", "secret", "token", "credential", "private"}

// Redact replaces secret-looking parameter values.
func Redact(params map[string]string) map[string]string {
	if params == nil {
		return nil
	}
	out := make(map[string]string, len(params))
	for k, v := range params {
		lk := strings.ToLower(k)
		for _, w := range secretWords {
			if strings.Contains(lk, w) {
				v = "[redacted]"
				break
			}
		}
		out[k] = v
	}
	return out
}

// Append writes e as one line, durably, before returning.
func (j *Journal) Append(e Entry) error {
	if e.Time.IsZero() {
		e.Time = time.Now().UTC()
	}
	e.Params = Redact(e.Params)
	return AppendJSON(j.Path, e)
}

// AppendJSON appends v to the JSON-lines file at path as one line, under an
// exclusive lock, with one write(2) and an fsync before it returns: a
// crash leaves at most a torn last line, which ReadJSON skips. The audit
// journal and the runbook journals are written this way.
func AppendJSON(path string, v any) error {
	line, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("journal %s: %w", path, err)
	}
	line = append(line, '\n')
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return fmt.Errorf("journal %s: %w", path, err)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return fmt.Errorf("journal %s: %w (opsdeck will not act without its journal)", path, err)
	}
	defer f.Close()
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		return fmt.Errorf("journal %s: lock: %w", path, err)
	}
	defer syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
	if n, err := f.Write(line); err != nil || n != len(line) {
		return fmt.Errorf("journal %s: write: %v", path, err)
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("journal %s: fsync: %w", path, err)
	}
	return nil
}

// Warning is a line the reader skipped.
type Warning struct {
	Line int
	Msg  string
}

func (w Warning) String() string { return fmt.Sprintf("line %d: %s", w.Line, w.Msg) }

// Read returns every complete entry of the journal at path (none when it
// does not exist), with warnings for lines it skipped.
func Read(path string) ([]Entry, []Warning, error) { return ReadJSON[Entry](path) }

// ReadJSON returns every complete line of the JSON-lines file at path
// (none when it does not exist), with warnings for lines it skipped.
func ReadJSON[T any](path string) ([]T, []Warning, error) {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil, nil
	}
	if err != nil {
		return nil, nil, fmt.Errorf("journal %s: %w", path, err)
	}
	defer f.Close()
	return parse[T](f)
}

func parse[T any](r io.Reader) ([]T, []Warning, error) {
	var out []T
	var warns []Warning
	br := bufio.NewReaderSize(r, 64*1024)
	for n := 1; ; n++ {
		line, err := br.ReadBytes('\n')
		if len(line) > 0 {
			complete := line[len(line)-1] == '\n'
			body := bytes.TrimSpace(line)
			var e T
			switch {
			case len(body) == 0:
			case !complete:
				warns = append(warns, Warning{n, "torn last line (opsdeck stopped mid-write); skipped"})
			case json.Unmarshal(body, &e) != nil:
				warns = append(warns, Warning{n, "not a journal entry; skipped"})
			default:
				out = append(out, e)
			}
		}
		if err == io.EOF {
			return out, warns, nil
		}
		if err != nil {
			return out, warns, err
		}
	}
}
