package tui

import (
	"context"
	"errors"
	"fmt"
	"strings"

	tea "charm.land/bubbletea/v2"
	"charm.land/lipgloss/v2"

	"github.com/opsdeck/opsdeck/ops/audit"
	"github.com/opsdeck/opsdeck/ops/awsx"
	"github.com/opsdeck/opsdeck/ops/plan"
	"github.com/opsdeck/opsdeck/profiles"
)

// confirmPromptMsg asks the root to show the guard dialog for a plan; the
// runner's goroutine waits on reply.
type confirmPromptMsg struct {
	plan  plan.Plan
	gate  profiles.Gate
	reply chan mfaReply
}

// Confirm is a plan.Confirmer that shows the TUI's guard dialog.
func (p *Prompter) Confirm(ctx context.Context, gate profiles.Gate, pl plan.Plan) (string, error) {
	reply := make(chan mfaReply, 1)
	p.P.Send(confirmPromptMsg{plan: pl, gate: gate, reply: reply})
	select {
	case r := <-reply:
		return r.code, r.err
	case <-ctx.Done():
		return "", ctx.Err()
	}
}

// runner is the plan runner for TUI actions: the environment's guard
// (with --read-only), the journal, and the dialog.
func (c *Context) runner() *plan.Runner {
	return &plan.Runner{Guard: profiles.Guard{ReadOnly: c.ReadOnly}, Journal: audit.Open(c.AuditPath),
		Confirm: c.Confirm, Operator: c.Config.Operator.Name}
}

type actionDoneMsg struct {
	plan plan.Plan
	res  *plan.Result
	err  error
}

// runAction runs p through the guard and journal in the background.
func runAction(c *Context, p plan.Plan, exec func(context.Context, *plan.Result) error) tea.Cmd {
	r := c.runner()
	return func() tea.Msg {
		res, err := r.Run(c.Ctx, p, exec)
		return actionDoneMsg{plan: p, res: res, err: err}
	}
}

// report turns an action's outcome into a footer message.
func (m actionDoneMsg) report() tea.Cmd {
	var re *plan.RefusedError
	switch {
	case errors.As(m.err, &re):
		return ReportError(m.err)
	case m.err != nil:
		return ReportError(fmt.Errorf("%s on %s/%s failed: %s (details in :audit)", m.plan.Action, m.plan.Account.Name, m.plan.Region, awsx.Summary(m.err)))
	}
	var parts []string
	for k, v := range m.res.Results {
		parts = append(parts, k+" "+v)
	}
	return ReportInfo(fmt.Sprintf("%s on %s/%s done: %s", m.plan.Action, m.plan.Account.Name, m.plan.Region, strings.Join(parts, ", ")))
}

func (m *Model) confirmKey(k tea.KeyPressMsg) tea.Cmd {
	pr := m.confirm
	if pr.gate.Level == profiles.Protected {
		switch k.String() {
		case "esc":
			pr.reply <- mfaReply{err: errors.New("cancelled")}
			m.confirm, m.mode = nil, modeNormal
		case "enter":
			pr.reply <- mfaReply{code: m.edit.value}
			m.confirm, m.mode = nil, modeNormal
		default:
			m.edit.handle(k)
		}
		return nil
	}
	switch k.String() {
	case "y", "Y":
		pr.reply <- mfaReply{code: "y"}
	case "n", "N", "esc", "q":
		pr.reply <- mfaReply{code: "n"}
	default:
		return nil
	}
	m.confirm, m.mode = nil, modeNormal
	return nil
}

func (m *Model) confirmView(h int) string {
	s := m.ctx.Styles
	pr := m.confirm
	env := s.EnvBadge(pr.plan.Account)
	title := s.Title.Render("Confirm "+pr.plan.Action) + "  " + env
	var ask string
	if pr.gate.Level == profiles.Protected {
		ask = s.Bad.Render(pr.plan.Account.Name+" is protected.") + " Type the account name to go ahead:\n" +
			s.Prompt.Render("> ") + m.edit.view() + "\n" + s.Muted.Render("enter confirms · esc cancels")
	} else {
		ask = "Go ahead in " + pr.plan.Account.Name + "? " + s.Prompt.Render("y") + "/" + s.Prompt.Render("N")
	}
	box := lipgloss.NewStyle().Border(lipgloss.ThickBorder()).BorderForeground(m.ctx.Styles.EnvColor(pr.plan.Account)).Padding(0, 1).
		Render(title + "\n\n" + strings.TrimRight(pr.plan.String(), "\n") + "\n\n" + ask)
	return lipgloss.Place(m.ctx.Width, h, lipgloss.Center, lipgloss.Center, box)
}
