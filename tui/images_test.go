package tui

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"

	"github.com/opsdeck/opsdeck/profiles"
)

// :images against the emulator: the demo recipe bakes with real Packer
// through the guard, its steps stream into the screen, the channel matrix
// fills in, and p promotes a row.
func TestFlowImages(t *testing.T) {
	root, _ := filepath.Abs("..")
	t.Setenv("OPSDECK_PACKER", filepath.Join(root, "bin", "packer"))
	t.Setenv("PACKER_PLUGIN_PATH", filepath.Join(root, ".packer.d", "plugins"))
	t.Setenv("XDG_STATE_HOME", t.TempDir())
	demo := seededDemo(t, context.Background())
	b := profiles.NewBroker(demo.Config, profiles.BrokerOptions{RetryMaxAttempts: 1})
	m := New(Options{Config: demo.Config, Broker: b, Now: func() time.Time { return fixedNow }})
	d := newDriver(t, m)
	d.send(tea.WindowSizeMsg{Width: 140, Height: 40})
	d.dialogConfirm(nil)
	d.keys(":")
	d.typeText("images platform-shared")
	d.keys("enter")
	d.waitFor("the images screen", func() bool { _, ok := m.current().(*imagesScreen); return ok })
	s := m.current().(*imagesScreen)
	if len(s.recipes) != 1 || s.recipes[0].Name != "golden-base" {
		t.Fatalf("recipes %v errors %v", s.recipes, s.rerr)
	}
	d.waitFor("the channel matrix", func() bool { return !s.fan.loading })
	d.keys("b")
	// Publishing reaches acme-test, acme-qa, acme-prod (protected: type
	// its name), then the bake itself in platform-shared: four dialogs.
	asked := []string{}
	for len(asked) < 4 {
		d.waitFor("a guard dialog", func() bool { return m.mode == modeConfirm })
		a := m.confirm.plan.Account.Name
		asked = append(asked, a)
		if m.confirm.gate.Level == profiles.Protected {
			d.typeText(a)
			d.keys("enter")
		} else {
			d.keys("y")
		}
	}
	if strings.Join(asked, ",") != "acme-test,acme-qa,acme-prod,platform-shared" {
		t.Fatalf("dialogs for %v", asked)
	}
	d.waitFor("the bake", func() bool { return !s.baking && strings.Contains(m.footer, "images.bake") })
	if !strings.Contains(strings.Join(s.steps, "\n"), "Creating AMI golden-base-") || !strings.HasPrefix(s.steps[len(s.steps)-1], "opsdeck: acme-prod/eu-west-1: ami-") {
		t.Fatalf("steps: %v", s.steps)
	}
	if !strings.Contains(strings.Join(s.log, "\n"), "Builds finished") || !strings.HasSuffix(s.logPath, "packer.log") {
		t.Fatalf("log pane: %v, log %q", s.log, s.logPath)
	}
	if !strings.Contains(m.footer, "images.bake on platform-shared/eu-north-1 done") {
		t.Fatalf("footer: %s", m.footer)
	}
	// The seeded estate has channel parameters: promote the first row.
	d.waitFor("the reload", func() bool { return !s.fan.loading && s.tbl.Visible() > 0 })
	d.keys("g", "p")
	d.waitFor("the guard", func() bool { return m.mode == modeConfirm })
	d.keys("y")
	d.waitFor("the promotion", func() bool { return s.busy == "" && strings.Contains(m.footer, "images.promote") })
	if !strings.Contains(m.footer, "done") {
		t.Fatalf("promotion: %s", m.footer)
	}
	// u: which AMIs the image's instances run, here in platform-shared.
	d.keys("u")
	d.waitFor("the usage view", func() bool { _, ok := m.current().(*imageUsageScreen); return ok })
	u := m.current().(*imageUsageScreen)
	d.waitFor("the usage", func() bool { return !u.fan.loading })
	if u.p != (usageParams{Image: "golden-base", Sel: "platform-shared"}) || u.tbl.Visible() == 0 {
		t.Fatalf("usage %+v, %d rows", u.p, u.tbl.Visible())
	}
	// The demo's instances predate the bake: none run the new stable AMI.
	for _, r := range u.tbl.VisibleRows() {
		if r.Cells[0] != "platform-shared" || r.Cells[4] == "" || r.Cells[5] != "OLD: not on stable" {
			t.Fatalf("usage row %v", r.Cells)
		}
	}
	d.keys("esc")
	d.waitFor("back to images", func() bool { return m.current() == Screen(s) })
}
