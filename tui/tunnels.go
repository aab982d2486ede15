package tui

import (
	"fmt"
	"strconv"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"
	"charm.land/lipgloss/v2"

	"github.com/opsdeck/opsdeck/ops/sessions"
	"github.com/opsdeck/opsdeck/tui/table"
)

func init() {
	register(screenSpec{Kind: TunnelsKind, Command: "tunnels", Aliases: []string{"tn", "forwards"},
		Help: "running port forwards: state, uptime, restarts", New: newTunnels})
}

// TunnelsChangedMsg is sent (by Run) whenever a tunnel changes state.
type TunnelsChangedMsg struct{}

type tunnelKeys struct {
	listKeys
	Stop key.Binding
}

type tunnelsScreen struct {
	ctx  *Context
	tbl  *table.Model
	keys tunnelKeys
}

var tunnelCols = []table.Column{
	{Title: "LOCAL", Width: 15}, {Title: "TARGET", Width: 24, Flex: true}, {Title: "VIA", Width: 20, Drop: 2},
	{Title: "ACCOUNT", Width: 14}, {Title: "STATE", Width: 10}, {Title: "UPTIME", Width: 7}, {Title: "RESTARTS", Width: 8},
	{Title: "LAST ERROR", Width: 20, Drop: 1},
}

func newTunnels(c *Context) Screen {
	s := &tunnelsScreen{ctx: c, keys: tunnelKeys{listKeys: newListKeys(),
		Stop: key.NewBinding(key.WithKeys("x", "d", "delete"), key.WithHelp("x", "stop tunnel"))}}
	s.tbl = table.New(tunnelCols, c.Styles.Table)
	s.tbl.SetEmptyMessage("no tunnels: f on :jumpboxes or :databases opens one")
	s.tbl.SetStyler(func(r *table.Row, col int) (lipgloss.Style, bool) {
		if col != 4 {
			return lipgloss.Style{}, false
		}
		switch sessions.State(r.Cells[4]) {
		case sessions.Open:
			return c.Styles.Good, true
		case sessions.Restarting:
			return c.Styles.Warn, true
		}
		return c.Styles.Info, true
	})
	s.refresh()
	return s
}

func (s *tunnelsScreen) Title() string       { return "Tunnels" }
func (s *tunnelsScreen) Keys() []key.Binding { return []key.Binding{s.keys.Stop} }
func (s *tunnelsScreen) SetFilter(f string)  { s.tbl.SetFilter(f) }
func (s *tunnelsScreen) Filter() string      { return s.tbl.Filter() }
func (s *tunnelsScreen) SetSize(w, h int)    { s.tbl.SetSize(w, max(2, h-2)) }
func (s *tunnelsScreen) Init() tea.Cmd       { return nil }

func (s *tunnelsScreen) refresh() {
	if s.ctx.Tunnels == nil {
		return
	}
	now := s.ctx.Now()
	list := s.ctx.Tunnels.List()
	rows := make([]table.Row, len(list))
	for i, t := range list {
		up := ""
		if t.State == sessions.Open && !t.Since.IsZero() {
			up = countdown(now.Sub(t.Since))
		}
		target := t.Spec.Target()
		if t.Spec.Label != "" {
			target = t.Spec.Label + " (" + target + ")"
		}
		rows[i] = table.Row{Key: strconv.Itoa(t.ID), Data: t.ID, Cells: []string{t.LocalAddr, target, t.Spec.Instance,
			t.Spec.Account.Name, string(t.State), up, strconv.Itoa(t.Restarts), t.LastErr}}
	}
	s.tbl.SetRows(rows)
}

type tunnelStoppedMsg struct{ id int }

func (s *tunnelsScreen) Update(msg tea.Msg) tea.Cmd {
	switch msg := msg.(type) {
	case tickMsg, TunnelsChangedMsg, tunnelStoppedMsg:
		s.refresh()
		if m, ok := msg.(tunnelStoppedMsg); ok {
			return ReportInfo(fmt.Sprintf("tunnel %d stopped and its session terminated", m.id))
		}
	case tea.KeyPressMsg:
		if s.keys.navigate(s.tbl, len(tunnelCols), msg) {
			return nil
		}
		if key.Matches(msg, s.keys.Stop) {
			r := s.tbl.Selected()
			if r == nil || s.ctx.Tunnels == nil {
				return nil
			}
			id, mgr := r.Data.(int), s.ctx.Tunnels
			return func() tea.Msg { mgr.Stop(id); return tunnelStoppedMsg{id} }
		}
	}
	return nil
}

func (s *tunnelsScreen) View() string {
	st := s.ctx.Styles
	n := s.tbl.Len()
	head := st.Title.Render("Tunnels") + st.Muted.Render(fmt.Sprintf(" %d · listening on 127.0.0.1 only · restarted with backoff when dropped", n))
	return head + "\n\n" + s.tbl.View()
}
