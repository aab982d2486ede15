package standin

import (
	"context"
	"encoding/binary"
	"io"
	"net"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/xtaci/smux"
)

// shell runs the session's shell with pipes: keystrokes in, output out.
// The plugin sends Enter as "\r"; a pipe-fed shell wants "\n".
func (a *agent) shell() {
	cmd := exec.Command(a.s.opts.Shell[0], a.s.opts.Shell[1:]...)
	cmd.Env = append(os.Environ(), "PS1=["+a.ss.target+"]$ ", "TERM=dumb")
	// A session of its own, without a controlling terminal: an interactive
	// shell would otherwise take over the foreground process group of the
	// terminal opsdeck runs in (the demo serves sessions from inside the
	// TUI's process), and the plugin reading that terminal gets EIO.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	stdin, err := cmd.StdinPipe()
	if err != nil {
		a.closeChannel()
		return
	}
	pr, pw := io.Pipe()
	cmd.Stdout, cmd.Stderr = pw, pw
	if err := cmd.Start(); err != nil {
		_ = a.output(ptOutput, []byte("stand-in agent: cannot start shell: "+err.Error()+"\r\n"))
		a.closeChannel()
		return
	}
	go func() {
		_ = cmd.Wait()
		pw.Close()
	}()
	go func() {
		defer stdin.Close()
		for b := range a.in {
			if _, err := stdin.Write([]byte(strings.ReplaceAll(string(b), "\r", "\n"))); err != nil {
				return
			}
		}
		// The client went away: end the shell.
		if cmd.Process != nil {
			_ = cmd.Process.Kill()
		}
	}()
	_ = a.output(ptOutput, []byte("opsdeck stand-in agent: shell on "+a.ss.target+" (session "+a.ss.id+")\r\n"))
	buf := make([]byte, 4096)
	for {
		n, err := pr.Read(buf)
		if n > 0 {
			out := strings.ReplaceAll(string(buf[:n]), "\n", "\r\n")
			if a.output(ptOutput, []byte(out)) != nil {
				_ = cmd.Process.Kill()
				return
			}
		}
		if err != nil {
			break
		}
	}
	a.closeChannel()
	// Let the plugin read channel_closed before the socket goes.
	select {
	case <-a.ss.done:
	case <-time.After(500 * time.Millisecond):
	}
}

// portForward serves the plugin's smux session: every stream it opens is
// one client connection, dialled to host:port through opts.Dial.
func (a *agent) portForward(host, port string) {
	local, remote := net.Pipe()
	cfg := smux.DefaultConfig()
	cfg.KeepAliveDisabled = true // the plugin disables its keepalives for this agent version
	mux, err := smux.Server(local, cfg)
	if err != nil {
		return
	}
	defer mux.Close()
	// Data channel → smux.
	go func() {
		defer remote.Close()
		for b := range a.in {
			if _, err := remote.Write(b); err != nil {
				return
			}
		}
	}()
	// smux → data channel.
	go func() {
		buf := make([]byte, 1024)
		for {
			n, err := remote.Read(buf)
			if n > 0 {
				if a.output(ptOutput, append([]byte(nil), buf[:n]...)) != nil {
					return
				}
			}
			if err != nil {
				return
			}
		}
	}()
	for {
		st, err := mux.AcceptStream()
		if err != nil {
			return
		}
		go a.serveStream(st, host, port)
	}
}

func (a *agent) serveStream(st *smux.Stream, host, port string) {
	defer st.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	c, err := a.s.opts.Dial(ctx, host, port)
	cancel()
	if err != nil {
		flag := make([]byte, 4)
		binary.BigEndian.PutUint32(flag, flagConnectToPortError)
		_ = a.output(ptFlag, flag)
		return
	}
	defer c.Close()
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); _, _ = io.Copy(c, st); closeWrite(c) }()
	go func() { defer wg.Done(); _, _ = io.Copy(st, c) }()
	wg.Wait()
}

func closeWrite(c net.Conn) {
	if tc, ok := c.(*net.TCPConn); ok {
		_ = tc.CloseWrite()
	}
}
