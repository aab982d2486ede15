package tui

import (
	"context"

	tea "charm.land/bubbletea/v2"
)

// mfaPromptMsg asks the root to show the MFA prompt; the broker's goroutine
// waits on reply.
type mfaPromptMsg struct {
	serial string
	reply  chan mfaReply
}

type mfaReply struct {
	code string
	err  error
}

// Prompter bridges the broker (which asks from a command's goroutine) and
// the program (which owns the screen). Set P once the program exists.
type Prompter struct {
	P *tea.Program
}

// Prompt is a profiles.MFAPrompt that shows the TUI's MFA dialog.
func (p *Prompter) Prompt(ctx context.Context, serial string) (string, error) {
	reply := make(chan mfaReply, 1)
	p.P.Send(mfaPromptMsg{serial: serial, reply: reply})
	select {
	case r := <-reply:
		return r.code, r.err
	case <-ctx.Done():
		return "", ctx.Err()
	}
}
