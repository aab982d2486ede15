package sessions

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"syscall"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	"golang.org/x/term"

	"github.com/opsdeck/opsdeck/profiles"
)

// Shell is an interactive session ready to run on the terminal. It has
// the shape of tea.ExecCommand (Run, SetStdin, SetStdout, SetStderr), so
// the TUI hands the terminal over to it and takes it back.
type Shell struct {
	SessionID string
	Target    string
	Plugin    Plugin
	cmd       *exec.Cmd
	terminate func()
}

// PrepareShell starts a session on instance and builds the plugin child;
// Run hands it the terminal.
func PrepareShell(ctx context.Context, b *profiles.Broker, a *profiles.Account, role, region, instance string, plugin Plugin, newSSM func(aws.Config) SSMAPI) (*Shell, error) {
	if newSSM == nil {
		newSSM = func(c aws.Config) SSMAPI { return ssm.NewFromConfig(c) }
	}
	cfg, creds, err := b.Config(ctx, a, role, region)
	if err != nil {
		return nil, err
	}
	api := newSSM(cfg)
	req := Request{Target: instance}
	started, err := Start(ctx, api, req)
	if err != nil {
		return nil, err
	}
	cmd, err := plugin.Command(context.Background(), started, req, cfg.Region, Endpoint(cfg), creds)
	if err != nil {
		_ = Terminate(api, started.SessionID)
		return nil, err
	}
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	return &Shell{SessionID: started.SessionID, Target: instance, Plugin: plugin, cmd: cmd,
		terminate: func() { _ = Terminate(api, started.SessionID) }}, nil
}

// SetStdin, SetStdout and SetStderr redirect the child (tea.ExecCommand).
// A terminal already in place is kept when offered a non-file stream: the
// plugin must see the TTY itself (raw mode, window size), not a pipe.
func (s *Shell) SetStdin(r io.Reader) {
	if _, isFile := r.(*os.File); isFile || !isTTY(s.cmd.Stdin) {
		s.cmd.Stdin = r
	}
}

func (s *Shell) SetStdout(w io.Writer) {
	if _, isFile := w.(*os.File); isFile || !isTTY(s.cmd.Stdout) {
		s.cmd.Stdout = w
	}
}

func (s *Shell) SetStderr(w io.Writer) {
	if _, isFile := w.(*os.File); isFile || !isTTY(s.cmd.Stderr) {
		s.cmd.Stderr = w
	}
}

func isTTY(v any) bool {
	f, ok := v.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// Run hands the terminal to the plugin and takes it back:
//   - SIGINT, SIGQUIT and SIGTSTP are caught (not ignored, so other
//     handlers survive) while the child runs: Ctrl-C, Ctrl-\ and Ctrl-Z
//     belong to the remote shell, and must not kill or stop opsdeck;
//   - the terminal state is saved and restored (the plugin leaves the
//     terminal in cbreak mode with echo off when it exits);
//   - the session is terminated afterwards, always (the plugin exits 0
//     even when the session failed).
func (s *Shell) Run() error {
	defer s.terminate()
	sigs := make(chan os.Signal, 16)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGQUIT, syscall.SIGTSTP)
	go func() {
		for range sigs { // swallowed: the child acts on them
		}
	}()
	defer func() {
		signal.Stop(sigs) // no more sends after this returns
		close(sigs)
	}()
	if r := s.cmd.Stdin; r != nil {
		if _, isFile := r.(*os.File); !isFile {
			// exec would copy a non-file stdin in a goroutine that Wait
			// joins, so Run would hang until the reader hits EOF even
			// after the plugin exited. Give the child a real pipe and
			// pump into it ourselves.
			pr, pw, err := os.Pipe()
			if err != nil {
				return err
			}
			s.cmd.Stdin = pr
			go func() {
				_, _ = io.Copy(pw, r)
				pw.Close()
			}()
			defer pw.Close()
			defer pr.Close()
		}
	}
	if f, ok := s.cmd.Stdin.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		if st, err := term.GetState(int(f.Fd())); err == nil {
			defer term.Restore(int(f.Fd()), st)
		}
	}
	if err := s.cmd.Run(); err != nil {
		return fmt.Errorf("session %s on %s: %w", s.SessionID, s.Target, err)
	}
	return nil
}
