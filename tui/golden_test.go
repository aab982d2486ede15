package tui

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/colorprofile"

	"github.com/opsdeck/opsdeck/ops/emulator"
	"github.com/opsdeck/opsdeck/profiles"
)

var update = flag.Bool("update", false, "rewrite golden files")

// fixedNow pins the clock so countdowns render the same every run.
var fixedNow = time.Date(2026, 11, 22, 9, 0, 0, 0, time.UTC)

// golden compares frame, rendered through the ANSI256 colour profile (so
// the files are stable across terminals), with testdata/name.golden.
func golden(t *testing.T, name, frame string) {
	t.Helper()
	var buf bytes.Buffer
	w := &colorprofile.Writer{Forward: &buf, Profile: colorprofile.ANSI256}
	if _, err := w.WriteString(frame); err != nil {
		t.Fatal(err)
	}
	got := buf.Bytes()
	path := filepath.Join("testdata", name+".golden")
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./tui -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the golden file (go test ./tui -update rewrites it)\n--- got (colours stripped)\n%s", path, stripANSI(string(got)))
	}
}

func stripANSI(s string) string {
	var b strings.Builder
	in := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == 0x1b:
			in = true
		case in && (c >= '@' && c <= '~') && c != '[':
			in = false
		case !in:
			b.WriteByte(c)
		}
	}
	return b.String()
}

func demoConfig(t testing.TB) *profiles.Config {
	t.Helper()
	cfg, err := profiles.Parse("demo.toml", []byte(emulator.DemoEstate().ConfigTOML()))
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

func newTestModel(t testing.TB, cfg *profiles.Config, w, h int, o Options) *Model {
	t.Helper()
	o.Config = cfg
	o.Now = func() time.Time { return fixedNow }
	m := New(o)
	m.Update(tea.WindowSizeMsg{Width: w, Height: h})
	return m
}

func press(m *Model, keys ...string) {
	for _, k := range keys {
		m.Update(keyMsg(k))
	}
}

func keyMsg(k string) tea.KeyPressMsg {
	switch k {
	case "enter":
		return tea.KeyPressMsg{Code: tea.KeyEnter}
	case "esc":
		return tea.KeyPressMsg{Code: tea.KeyEsc}
	case "tab":
		return tea.KeyPressMsg{Code: tea.KeyTab}
	case "down":
		return tea.KeyPressMsg{Code: tea.KeyDown}
	case "backspace":
		return tea.KeyPressMsg{Code: tea.KeyBackspace}
	}
	r := []rune(k)[0]
	if r >= 'A' && r <= 'Z' {
		return tea.KeyPressMsg{Code: r + 32, Text: k, Mod: tea.ModShift}
	}
	return tea.KeyPressMsg{Code: r, Text: k}
}

func typeText(m *Model, s string) {
	for _, r := range s {
		if r == ' ' {
			m.Update(tea.KeyPressMsg{Code: tea.KeySpace, Text: " "})
			continue
		}
		press(m, string(r))
	}
}

// identify sets the identity directly, as a finished switch would.
func identify(m *Model, name, role string, left time.Duration) {
	a := m.ctx.Config.Account(name)
	m.ctx.Identity = Identity{Account: a, Role: role, Region: a.Regions[0], Expires: fixedNow.Add(left)}
}

// goldenSizes are the terminal sizes every screen's goldens are taken at.
var goldenSizes = []struct {
	name string
	w, h int
}{{"80x24", 80, 24}, {"160x48", 160, 48}}

func TestGoldenAccounts(t *testing.T) {
	cfg := demoConfig(t)
	for _, sz := range goldenSizes {
		t.Run(sz.name, func(t *testing.T) {
			m := newTestModel(t, cfg, sz.w, sz.h, Options{})
			golden(t, "accounts_empty_"+sz.name, m.Render())

			identify(m, "acme-prod", "read", 42*time.Minute+17*time.Second)
			press(m, "j", "j")
			golden(t, "accounts_prod_"+sz.name, m.Render())

			press(m, "/")
			typeText(m, "globex")
			golden(t, "accounts_filter_"+sz.name, m.Render())
		})
	}
}

func TestGoldenStatusBar(t *testing.T) {
	cfg := demoConfig(t)
	tests := []struct {
		name     string
		account  string
		left     time.Duration
		readOnly bool
	}{
		{"test_account", "acme-test", 55 * time.Minute, false},
		{"prod_account", "globex-prod", 30 * time.Minute, false},
		{"expiring_soon", "acme-qa", 9*time.Minute + 5*time.Second, false},
		{"expired", "acme-qa", -time.Second, false},
		{"read_only", "platform-dr", 2 * time.Hour, true},
	}
	for _, tt := range tests {
		for _, w := range []int{80, 160} {
			t.Run(tt.name, func(t *testing.T) {
				h := map[int]int{80: 24, 160: 48}[w]
				m := newTestModel(t, cfg, w, h, Options{ReadOnly: tt.readOnly})
				identify(m, tt.account, "read", tt.left)
				bar := m.statusBar()
				golden(t, "statusbar_"+tt.name+"_"+map[int]string{80: "80x24", 160: "160x48"}[w], bar)
			})
		}
	}
}

func TestGoldenHelpAndPalette(t *testing.T) {
	m := newTestModel(t, demoConfig(t), 160, 48, Options{})
	press(m, "?")
	golden(t, "help_160x48", m.Render())
	press(m, "esc", ":")
	typeText(m, "ac")
	golden(t, "palette_160x48", m.Render())
}
