package tui

import (
	"context"
	"errors"
	"os"
	"os/signal"
	"syscall"
	"time"

	tea "charm.land/bubbletea/v2"

	"github.com/opsdeck/opsdeck/ops/sessions"
	"github.com/opsdeck/opsdeck/profiles"
)

// Run opens the TUI on cfg until the operator quits. brokerOpts is used
// for the credential broker, whose MFA prompt becomes the TUI's dialog
// (unless a code was given with --mfa-code, which brokerOpts.Prompt holds).
func Run(ctx context.Context, cfg *profiles.Config, brokerOpts profiles.BrokerOptions, o Options) error {
	pr := &Prompter{}
	if brokerOpts.Prompt == nil {
		brokerOpts.Prompt = pr.Prompt
	}
	o.Config = cfg
	o.Broker = profiles.NewBroker(cfg, brokerOpts)
	m := New(o)
	mgr := sessions.NewManager(sessions.NewLauncher(o.Broker, o.Plugin, nil), sessions.Backoff{})
	defer mgr.StopAll() // tunnels never outlive opsdeck
	m.ctx.Tunnels = mgr
	m.ctx.Plugin = o.Plugin
	m.ctx.Confirm = pr.Confirm
	// opsdeck handles signals itself: bubbletea v2.0.6's handler can block
	// forever sending to an event loop that a cancelled context already
	// stopped, and Run then never returns (nor would moto be stopped).
	ctx, stop := signal.NotifyContext(ctx, syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP)
	defer stop()
	p := tea.NewProgram(m, tea.WithContext(ctx), tea.WithInput(os.Stdin), tea.WithOutput(os.Stdout), tea.WithoutSignalHandler())
	pr.P = p
	mgr.OnChange = func() { go p.Send(TunnelsChangedMsg{}) }
	done := make(chan error, 1)
	go func() {
		_, err := p.Run()
		done <- err
	}()
	var err error
	select {
	case err = <-done:
	case <-ctx.Done():
		// Terminal gone or killed: give the program a moment to restore
		// the terminal, then carry on so cleanup (tunnels, emulator) runs.
		select {
		case err = <-done:
		case <-time.After(3 * time.Second):
			err = nil
		}
	}
	m.cancel()
	if errors.Is(err, tea.ErrProgramKilled) && ctx.Err() != nil {
		return nil
	}
	return err
}

// Resize is the message a terminal resize produces (for callers that drive
// the model without a program).
func Resize(w, h int) tea.Msg { return tea.WindowSizeMsg{Width: w, Height: h} }
