package main

import (
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/opsdeck/opsdeck/ops/sessions/standin"
)

// pty is a pseudo-terminal pair: the test holds the master, the child
// gets the slave as its controlling terminal.
type pty struct {
	master, slave *os.File
	mu            sync.Mutex
	out           strings.Builder
}

func openPTY(t *testing.T, rows, cols uint16) *pty {
	t.Helper()
	m, err := os.OpenFile("/dev/ptmx", os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		t.Skipf("no pseudo-terminals here: %v", err)
	}
	if err := unix.IoctlSetPointerInt(int(m.Fd()), unix.TIOCSPTLCK, 0); err != nil {
		t.Fatal(err)
	}
	n, err := unix.IoctlGetInt(int(m.Fd()), unix.TIOCGPTN)
	if err != nil {
		t.Fatal(err)
	}
	s, err := os.OpenFile(fmt.Sprintf("/dev/pts/%d", n), os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		t.Fatal(err)
	}
	if err := unix.IoctlSetWinsize(int(s.Fd()), unix.TIOCSWINSZ, &unix.Winsize{Row: rows, Col: cols}); err != nil {
		t.Fatal(err)
	}
	p := &pty{master: m, slave: s}
	go func() {
		buf := make([]byte, 8192)
		for {
			n, err := m.Read(buf)
			if n > 0 {
				p.mu.Lock()
				p.out.Write(buf[:n])
				p.mu.Unlock()
			}
			if err != nil {
				return
			}
		}
	}()
	t.Cleanup(func() { m.Close(); s.Close() })
	return p
}

var ansiRe = regexp.MustCompile(`\x1b\[[0-9;?<>=]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(\x07|\x1b\\)|\x1b[()][0-9A-B]|\x1b[=>78]`)

// text is everything the terminal received so far, escapes removed.
func (p *pty) text() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return ansiRe.ReplaceAllString(p.out.String(), "")
}

func (p *pty) waitFor(t *testing.T, what string, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !strings.Contains(p.text(), what) {
		if time.Now().After(deadline) {
			tail := p.text()
			if len(tail) > 2000 {
				tail = tail[len(tail)-2000:]
			}
			_ = os.WriteFile(os.TempDir()+"/opsdeck-pty.txt", []byte(p.text()), 0o644)
			t.Fatalf("terminal never showed %q; last output (all of it in $TMPDIR/opsdeck-pty.txt):\n%s", what, tail)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (p *pty) send(s string) {
	_, _ = p.master.Write([]byte(s))
}

func (p *pty) termios(t *testing.T) *unix.Termios {
	t.Helper()
	tio, err := unix.IoctlGetTermios(int(p.slave.Fd()), unix.TCGETS)
	if err != nil {
		t.Fatal(err)
	}
	return tio
}

// The TUI hands the terminal to the session plugin and takes it back:
// control returns to the same screen, Ctrl-\ in the remote shell does not
// kill opsdeck, and the terminal mode is what the TUI had before.
func TestTUIShellHandOffOnPTY(t *testing.T) {
	cfg := seededConfig(t)
	ssmSrv, err := standin.Start(standin.Options{Upstream: moto.URL})
	if err != nil {
		t.Fatal(err)
	}
	defer ssmSrv.Close()
	jb := seedDemo.Seeded.Accounts["acme-prod"].Jumpbox
	ssmSrv.Register(standin.Instance{ID: jb, Name: "acme-prod-jumpbox"})

	bin := buildBinary(t)
	p := openPTY(t, 30, 120)
	cmd := exec.Command(bin, "--config", cfg, "--account", "acme-prod")
	cmd.Stdin, cmd.Stdout, cmd.Stderr = p.slave, p.slave, p.slave
	cmd.Env = append(os.Environ(), "AWS_ENDPOINT_URL_SSM="+ssmSrv.URL, "TERM=xterm-256color")
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: true, Ctty: 0}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	defer func() {
		select {
		case <-exited:
		default:
			_ = cmd.Process.Kill()
		}
	}()

	p.waitFor(t, "now in acme-prod", 30*time.Second)
	tuiMode := p.termios(t)
	p.send(":jumpboxes acme-prod\r")
	// The renderer sends cell diffs: wait for text that arrives whole (a
	// new row), not for counters that change in place.
	p.waitFor(t, jb, 30*time.Second)
	p.send("\r")
	p.waitFor(t, "]$ ", 30*time.Second)
	p.send("echo pty-$((40+2))\r")
	p.waitFor(t, "pty-42", 15*time.Second)

	// Ctrl-\ belongs to the remote shell now; opsdeck must survive it.
	p.send("\x1c")
	time.Sleep(300 * time.Millisecond)
	select {
	case err := <-exited:
		t.Fatalf("opsdeck died on Ctrl-\\ during the session: %v\n%s", err, p.text())
	default:
	}
	// The plugin forwarded Ctrl-\ to the remote shell as a character; end
	// that line, then check the session still works.
	p.send("\r")
	p.send("echo still-$((1+1))\r")
	p.waitFor(t, "still-2", 15*time.Second)
	p.send("exit\r")
	p.waitFor(t, "ended and was terminated", 30*time.Second)

	// Back on the jumpboxes screen, with the TUI's terminal mode.
	if after := p.text()[strings.LastIndex(p.text(), "]$ "):]; !strings.Contains(after, jb) {
		t.Error("did not land back on the jumpboxes screen")
	}
	back := p.termios(t)
	if back.Lflag != tuiMode.Lflag || back.Iflag != tuiMode.Iflag || back.Oflag != tuiMode.Oflag {
		t.Errorf("terminal mode not restored: lflag %#x→%#x iflag %#x→%#x oflag %#x→%#x",
			tuiMode.Lflag, back.Lflag, tuiMode.Iflag, back.Iflag, tuiMode.Oflag, back.Oflag)
	}
	terminated := false
	for _, c := range ssmSrv.Calls() {
		if c.Op == "TerminateSession" {
			terminated = true
		}
	}
	if !terminated {
		t.Error("TerminateSession not called after the shell")
	}

	p.send("q")
	select {
	case err := <-exited:
		if err != nil {
			t.Fatalf("opsdeck exit: %v", err)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("opsdeck did not quit on q")
	}
}
