package tui

import (
	"image/color"

	"charm.land/lipgloss/v2"

	"github.com/opsdeck/opsdeck/profiles"
	"github.com/opsdeck/opsdeck/tui/table"
)

// Theme is the palette every style is built from.
type Theme struct {
	Fg, Muted, Accent, BarBg, BarFg, Good, Warn, Bad, Info, SelBg, SelFg color.Color
	// Env colours environments the config gives no colour.
	Env map[string]color.Color
}

// DefaultTheme is a dark theme with environment colours that read on both
// dark and light terminals.
func DefaultTheme() Theme {
	c := lipgloss.Color
	return Theme{
		Fg: c("#d0d0d0"), Muted: c("#808080"), Accent: c("#5fafff"),
		BarBg: c("#303030"), BarFg: c("#e4e4e4"),
		Good: c("#5fd75f"), Warn: c("#ffaf00"), Bad: c("#ff5f5f"), Info: c("#5fafff"),
		SelBg: c("#005f87"), SelFg: c("#ffffff"),
		Env: map[string]color.Color{"test": c("#5fafff"), "qa": c("#d7af5f"), "prod": c("#ff3b3b"), "shared": c("#af87ff"), "dr": c("#ff8700")},
	}
}

// Styles are every style the TUI uses, built once from a Theme.
type Styles struct {
	Theme  Theme
	Bar    lipgloss.Style
	Brand  lipgloss.Style
	Seg    lipgloss.Style
	Muted  lipgloss.Style
	Title  lipgloss.Style
	Good   lipgloss.Style
	Warn   lipgloss.Style
	Bad    lipgloss.Style
	Info   lipgloss.Style
	Key    lipgloss.Style
	Desc   lipgloss.Style
	Prompt lipgloss.Style
	Box    lipgloss.Style
	Table  table.Styles
}

// DefaultStyles builds the styles from t.
func DefaultStyles(t Theme) *Styles {
	s := &Styles{Theme: t}
	s.Bar = lipgloss.NewStyle().Background(t.BarBg).Foreground(t.BarFg)
	s.Brand = s.Bar.Bold(true).Foreground(t.Accent)
	s.Seg = s.Bar
	s.Muted = lipgloss.NewStyle().Foreground(t.Muted)
	s.Title = lipgloss.NewStyle().Bold(true).Foreground(t.Accent)
	s.Good = lipgloss.NewStyle().Foreground(t.Good)
	s.Warn = lipgloss.NewStyle().Foreground(t.Warn).Bold(true)
	s.Bad = lipgloss.NewStyle().Foreground(t.Bad).Bold(true)
	s.Info = lipgloss.NewStyle().Foreground(t.Info)
	s.Key = lipgloss.NewStyle().Foreground(t.Accent).Bold(true)
	s.Desc = lipgloss.NewStyle().Foreground(t.Muted)
	s.Prompt = lipgloss.NewStyle().Foreground(t.Warn).Bold(true)
	s.Box = lipgloss.NewStyle().Border(lipgloss.RoundedBorder()).BorderForeground(t.Accent).Padding(0, 1)
	s.Table = table.Styles{
		Header:   lipgloss.NewStyle().Bold(true).Foreground(t.Accent),
		Cell:     lipgloss.NewStyle(),
		Selected: lipgloss.NewStyle().Background(t.SelBg).Foreground(t.SelFg).Bold(true),
		Empty:    lipgloss.NewStyle().Foreground(t.Muted).Italic(true),
	}
	return s
}

// EnvColor is the colour of an account's environment: the config's colour,
// else the theme's, else muted.
func (s *Styles) EnvColor(a *profiles.Account) color.Color {
	if a == nil {
		return s.Theme.Muted
	}
	if e := a.Env(); e != nil && e.Color != "" {
		return lipgloss.Color(e.Color)
	}
	if c, ok := s.Theme.Env[a.Environment]; ok {
		return c
	}
	return s.Theme.Muted
}

// EnvBadge renders the environment as a coloured block; protected
// environments are upper-cased and bold so prod never looks like test.
func (s *Styles) EnvBadge(a *profiles.Account) string {
	if a == nil {
		return ""
	}
	label := a.Environment
	st := lipgloss.NewStyle().Background(s.EnvColor(a)).Foreground(lipgloss.Color("#000000")).Padding(0, 1)
	if a.Env() != nil && a.Env().Level() == profiles.Protected {
		label = "⚠ " + upper(label)
		st = st.Bold(true).Foreground(lipgloss.Color("#ffffff"))
	}
	return st.Render(label)
}

func upper(s string) string {
	b := []byte(s)
	for i, c := range b {
		if c >= 'a' && c <= 'z' {
			b[i] = c - 32
		}
	}
	return string(b)
}
