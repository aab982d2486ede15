package tui

import (
	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"

	"github.com/opsdeck/opsdeck/tui/table"
)

// listKeys are the movement and sorting keys every list screen shares.
type listKeys struct {
	Up, Down, PageUp, PageDown, Top, Bottom, Sort, Reverse key.Binding
}

func newListKeys() listKeys {
	return listKeys{
		Up:       key.NewBinding(key.WithKeys("up", "k"), key.WithHelp("↑/k", "up")),
		Down:     key.NewBinding(key.WithKeys("down", "j"), key.WithHelp("↓/j", "down")),
		PageUp:   key.NewBinding(key.WithKeys("pgup", "ctrl+b"), key.WithHelp("pgup", "page up")),
		PageDown: key.NewBinding(key.WithKeys("pgdown", "ctrl+f"), key.WithHelp("pgdn", "page down")),
		Top:      key.NewBinding(key.WithKeys("g", "home"), key.WithHelp("g", "top")),
		Bottom:   key.NewBinding(key.WithKeys("G", "end"), key.WithHelp("G", "bottom")),
		Sort:     key.NewBinding(key.WithKeys("s"), key.WithHelp("s", "sort column")),
		Reverse:  key.NewBinding(key.WithKeys("S"), key.WithHelp("S", "reverse sort")),
	}
}

// navigate applies a movement or sort key to tbl (ncols columns); it
// reports whether k was one.
func (l listKeys) navigate(tbl *table.Model, ncols int, k tea.KeyPressMsg) bool {
	switch {
	case key.Matches(k, l.Up):
		tbl.Move(-1)
	case key.Matches(k, l.Down):
		tbl.Move(1)
	case key.Matches(k, l.PageUp):
		tbl.Page(-1)
	case key.Matches(k, l.PageDown):
		tbl.Page(1)
	case key.Matches(k, l.Top):
		tbl.Top()
	case key.Matches(k, l.Bottom):
		tbl.Bottom()
	case key.Matches(k, l.Sort):
		c, _ := tbl.SortColumn()
		tbl.SortBy((c + 1) % ncols)
	case key.Matches(k, l.Reverse):
		c, _ := tbl.SortColumn()
		tbl.SortBy(max(c, 0))
	default:
		return false
	}
	return true
}
