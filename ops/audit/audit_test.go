package audit

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestMain doubles as a second writer process for the concurrency test.
func TestMain(m *testing.M) {
	if path := os.Getenv("OPSDECK_AUDIT_WRITER"); path != "" {
		n, _ := strconv.Atoi(os.Getenv("OPSDECK_AUDIT_N"))
		j := Open(path)
		for i := 0; i < n; i++ {
			big := strings.Repeat("x", 3000+i%500) // lines larger than a pipe's atomic size
			if err := j.Append(Entry{Phase: Intent, ID: fmt.Sprintf("%s-%d", os.Getenv("OPSDECK_AUDIT_WHO"), i), Action: "test", Params: map[string]string{"pad": big}}); err != nil {
				fmt.Fprintln(os.Stderr, err)
				os.Exit(1)
			}
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

func TestAppendReadRedact(t *testing.T) {
	p := filepath.Join(t.TempDir(), "state", "audit.jsonl")
	j := Open(p)
	if err := j.Append(Entry{Phase: Intent, ID: "a", Action: "backup.snapshot", Account: "acme-prod",
		Params: map[string]string{"db_password": "hunter2", "reason": "upgrade", "session_token": "t"}}); err != nil {
		t.Fatal(err)
	}
	if err := j.Append(Entry{Phase: Outcome, ID: "a", Outcome: OK, RequestIDs: []string{"req-1"}}); err != nil {
		t.Fatal(err)
	}
	raw, _ := os.ReadFile(p)
	if strings.Contains(string(raw), "hunter2") || strings.Contains(string(raw), `"t"`) {
		t.Fatalf("secret in the journal:\n%s", raw)
	}
	st, _ := os.Stat(p)
	if st.Mode().Perm() != 0o600 {
		t.Errorf("journal mode %v, want 0600", st.Mode().Perm())
	}
	es, warns, err := Read(p)
	if err != nil || len(warns) != 0 || len(es) != 2 || es[0].Params["reason"] != "upgrade" || es[1].RequestIDs[0] != "req-1" || es[0].Time.IsZero() {
		t.Fatalf("read: %+v %v %v", es, warns, err)
	}
}

// A crash mid-write leaves a torn last line: it is skipped with a warning
// and every complete entry before it is read.
func TestTornLastLine(t *testing.T) {
	p := filepath.Join(t.TempDir(), "audit.jsonl")
	j := Open(p)
	for i := 0; i < 3; i++ {
		if err := j.Append(Entry{Phase: Intent, ID: fmt.Sprint(i), Action: "x"}); err != nil {
			t.Fatal(err)
		}
	}
	f, _ := os.OpenFile(p, os.O_APPEND|os.O_WRONLY, 0)
	f.WriteString(`{"time":"2026-11-22T10:00:00Z","phase":"outc`)
	f.Close()
	es, warns, err := Read(p)
	if err != nil || len(es) != 3 || len(warns) != 1 || warns[0].Line != 4 || !strings.Contains(warns[0].Msg, "torn") {
		t.Fatalf("entries %d, warnings %v, err %v", len(es), warns, err)
	}
	// Appending after a torn line still yields readable entries.
	if err := j.Append(Entry{Phase: Intent, ID: "after", Action: "x"}); err != nil {
		t.Fatal(err)
	}
	es, warns, _ = Read(p)
	if len(es) != 3 || len(warns) != 1 {
		t.Fatalf("after torn line: %d entries, %v", len(es), warns)
	}
	if es, _, err := Read(filepath.Join(t.TempDir(), "none.jsonl")); err != nil || len(es) != 0 {
		t.Fatal("a missing journal is empty, not an error")
	}
}

// Two processes appending at once produce only whole lines.
func TestConcurrentAppendsFromTwoProcesses(t *testing.T) {
	p := filepath.Join(t.TempDir(), "audit.jsonl")
	self, _ := os.Executable()
	const n = 200
	var cmds []*exec.Cmd
	for _, who := range []string{"a", "b"} {
		c := exec.Command(self, "-test.run=^$")
		c.Env = append(os.Environ(), "OPSDECK_AUDIT_WRITER="+p, "OPSDECK_AUDIT_N="+strconv.Itoa(n), "OPSDECK_AUDIT_WHO="+who)
		c.Stderr = os.Stderr
		if err := c.Start(); err != nil {
			t.Fatal(err)
		}
		cmds = append(cmds, c)
	}
	for _, c := range cmds {
		if err := c.Wait(); err != nil {
			t.Fatal(err)
		}
	}
	es, warns, err := Read(p)
	if err != nil || len(warns) != 0 {
		t.Fatalf("warnings %v err %v", warns, err)
	}
	if len(es) != 2*n {
		t.Fatalf("%d entries, want %d", len(es), 2*n)
	}
	seen := map[string]bool{}
	for _, e := range es {
		seen[e.ID] = true
	}
	if len(seen) != 2*n {
		t.Fatalf("%d distinct entries", len(seen))
	}
	_ = time.Now
}
