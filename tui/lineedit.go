package tui

import (
	"strings"
	"unicode/utf8"

	tea "charm.land/bubbletea/v2"
)

// lineEdit is the one-line editor of the palette, filter and prompts. It
// is deliberately tiny and deterministic (no blinking cursor), so screens
// render identically in golden tests.
type lineEdit struct {
	value string
	mask  bool
}

// handle applies a key; it reports whether the value changed.
func (l *lineEdit) handle(k tea.KeyPressMsg) bool {
	old := l.value
	switch k.String() {
	case "backspace", "ctrl+h":
		if l.value != "" {
			_, size := utf8.DecodeLastRuneInString(l.value)
			l.value = l.value[:len(l.value)-size]
		}
	case "ctrl+u":
		l.value = ""
	case "ctrl+w", "alt+backspace":
		t := strings.TrimRight(l.value, " ")
		if i := strings.LastIndexAny(t, " -/"); i >= 0 {
			l.value = t[:i+1]
		} else {
			l.value = ""
		}
	case "space":
		l.value += " "
	default:
		if k.Text != "" && k.Mod == 0 || k.Mod == tea.ModShift {
			l.value += k.Text
		}
	}
	return l.value != old
}

func (l *lineEdit) view() string {
	v := l.value
	if l.mask {
		v = strings.Repeat("•", utf8.RuneCountInString(v))
	}
	return v + "█"
}
