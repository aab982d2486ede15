package tui

import (
	"fmt"
	"strings"

	"charm.land/bubbles/v2/key"
	"charm.land/lipgloss/v2"
)

// globalKeys are the keys every screen shares (k9s conventions).
type globalKeys struct {
	Palette, Filter, Help, Back, Quit key.Binding
}

func newGlobalKeys() globalKeys {
	return globalKeys{
		Palette: key.NewBinding(key.WithKeys(":"), key.WithHelp(":", "command")),
		Filter:  key.NewBinding(key.WithKeys("/"), key.WithHelp("/", "filter")),
		Help:    key.NewBinding(key.WithKeys("?"), key.WithHelp("?", "help")),
		Back:    key.NewBinding(key.WithKeys("esc"), key.WithHelp("esc", "back")),
		Quit:    key.NewBinding(key.WithKeys("q", "ctrl+c"), key.WithHelp("q", "quit")),
	}
}

func (g globalKeys) short() []key.Binding { return []key.Binding{g.Palette, g.Filter, g.Help, g.Quit} }
func (g globalKeys) all() []key.Binding {
	return []key.Binding{g.Palette, g.Filter, g.Help, g.Back, g.Quit}
}

// ShortHelp and FullHelp make the global keys a help.KeyMap.
func (g globalKeys) ShortHelp() []key.Binding  { return g.short() }
func (g globalKeys) FullHelp() [][]key.Binding { return [][]key.Binding{g.all()} }

func (m *Model) helpView() string {
	s := m.ctx.Styles
	col := func(title string, bs []key.Binding) string {
		lines := []string{s.Title.Render(title)}
		for _, b := range bs {
			if !b.Enabled() {
				continue
			}
			h := b.Help()
			lines = append(lines, fmt.Sprintf("%s %s", s.Key.Render(fmt.Sprintf("%-8s", h.Key)), s.Desc.Render(h.Desc)))
		}
		return strings.Join(lines, "\n")
	}
	screen := col(m.current().Title(), m.current().Keys())
	global := col("Everywhere", m.keys.all())
	var cmds []string
	cmds = append(cmds, s.Title.Render("Commands (:)"))
	names, width := []string{}, 0
	for _, c := range m.commands() {
		n := c.Name
		if c.Args != "" {
			n += " " + c.Args
		}
		names, width = append(names, n), max(width, len(n))
	}
	for i, c := range m.commands() {
		cmds = append(cmds, fmt.Sprintf("%s %s", s.Key.Render(fmt.Sprintf("%-*s", width, names[i])), s.Desc.Render(c.Help)))
	}
	body := lipgloss.JoinHorizontal(lipgloss.Top, screen, "    ", global, "    ", strings.Join(cmds, "\n"))
	note := ""
	if m.ctx.ReadOnly {
		note = "\n\n" + s.Warn.Render("READ-ONLY: keys that change things are hidden.")
	}
	return s.Box.Render(body+note) + "\n" + s.Muted.Render(" esc or ? to close")
}
