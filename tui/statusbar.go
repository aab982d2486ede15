package tui

import (
	"fmt"
	"strings"
	"time"

	"charm.land/lipgloss/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/opsdeck/opsdeck/profiles"
)

// statusBar is always on screen: operator, account, environment (prod in a
// colour nobody can miss), role, region and the credential countdown.
func (m *Model) statusBar() string {
	s := m.ctx.Styles
	w := m.ctx.Width
	id := m.ctx.Identity
	bar := s.Bar
	prod := id.Account != nil && id.Account.Env() != nil && id.Account.Env().Level() == profiles.Protected
	if prod {
		// The whole bar takes the environment's colour in protected
		// accounts, not just one segment.
		bar = bar.Background(s.EnvColor(id.Account)).Foreground(lipgloss.Color("#ffffff")).Bold(true)
	}
	seg := func(txt string) string { return bar.Render(" " + txt + " ") }
	sep := bar.Render("│")

	var left []string
	left = append(left, bar.Bold(true).Foreground(s.Theme.Accent).Render(" opsdeck "))
	if prod {
		left[0] = bar.Render(" opsdeck ")
	}
	if m.ctx.ReadOnly {
		left = append(left, lipgloss.NewStyle().Background(s.Theme.Warn).Foreground(lipgloss.Color("#000000")).Bold(true).Render(" READ-ONLY "))
	}
	left = append(left, seg(m.ctx.Config.Operator.Name))
	if id.Account == nil {
		left = append(left, seg("no account"), sep, seg("pick one: enter on :accounts"))
	} else {
		left = append(left, seg(id.Account.Name), s.EnvBadge(id.Account), seg("role "+id.Role), sep, seg(id.Region))
	}

	right := m.expirySegment(bar)
	if m.switching != nil {
		right = bar.Render(fmt.Sprintf(" %s assuming %s in %s… ", m.spin.View(), m.switching.Role, m.switching.Account.Name))
	}
	l := strings.Join(left, "")
	if ansi.StringWidth(l)+ansi.StringWidth(right) >= w {
		// Narrow terminal: the brand goes first; account, role, region
		// and the countdown stay.
		l = strings.Join(left[1:], "")
	}
	gap := w - ansi.StringWidth(l) - ansi.StringWidth(right)
	if gap < 1 {
		// Narrow terminal: the countdown matters more than the brand.
		l = ansi.Truncate(l, max(0, w-ansi.StringWidth(right)-1), "…")
		gap = w - ansi.StringWidth(l) - ansi.StringWidth(right)
	}
	return ansi.Truncate(l+bar.Render(strings.Repeat(" ", max(0, gap)))+right, w, "")
}

func (m *Model) expirySegment(bar lipgloss.Style) string {
	s := m.ctx.Styles
	exp := m.ctx.Identity.Expires
	if m.ctx.Identity.Account == nil || exp.IsZero() {
		return bar.Render(" no credentials ")
	}
	left := exp.Sub(m.ctx.Now())
	switch {
	case left <= 0:
		return lipgloss.NewStyle().Background(s.Theme.Bad).Foreground(lipgloss.Color("#ffffff")).Bold(true).
			Render(" EXPIRED · enter renews ")
	case left < 10*time.Minute:
		return lipgloss.NewStyle().Background(s.Theme.Warn).Foreground(lipgloss.Color("#000000")).Bold(true).
			Render(" ⏱ " + countdown(left) + " left ")
	}
	return bar.Render(" ⏱ " + countdown(left) + " ")
}

// countdown formats d as 1h02m, 9m05s or 42s.
func countdown(d time.Duration) string {
	d = d.Round(time.Second)
	h, mnt, sec := int(d.Hours()), int(d.Minutes())%60, int(d.Seconds())%60
	switch {
	case h > 0:
		return fmt.Sprintf("%dh%02dm", h, mnt)
	case mnt > 0:
		return fmt.Sprintf("%dm%02ds", mnt, sec)
	}
	return fmt.Sprintf("%ds", sec)
}
