package tui

import (
	"context"
	"os"

	tea "charm.land/bubbletea/v2"

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
	p := tea.NewProgram(m, tea.WithContext(ctx), tea.WithInput(os.Stdin), tea.WithOutput(os.Stdout))
	pr.P = p
	_, err := p.Run()
	m.cancel()
	if err == tea.ErrProgramKilled && ctx.Err() != nil {
		return nil
	}
	return err
}

// Resize is the message a terminal resize produces (for callers that drive
// the model without a program).
func Resize(w, h int) tea.Msg { return tea.WindowSizeMsg{Width: w, Height: h} }
