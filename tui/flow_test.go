package tui

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/opsdeck/opsdeck/ops/emulator"
	"github.com/opsdeck/opsdeck/ops/plan"
	"github.com/opsdeck/opsdeck/profiles"
)

var moto *emulator.Server

// seededDemo seeds the demo estate once for the package.
func seededDemo(t *testing.T, _ context.Context) *emulator.Demo { return moto.SharedDemo(t) }

func TestMain(m *testing.M) { os.Exit(emulator.RunTests(m, &moto)) }

// driver plays the Bubble Tea runtime for a scripted flow: commands run on
// goroutines, their messages come back through one channel and are fed to
// Update on the test's goroutine, as the real program does.
type driver struct {
	t    *testing.T
	m    *Model
	msgs chan tea.Msg
}

func newDriver(t *testing.T, m *Model) *driver {
	return &driver{t: t, m: m, msgs: make(chan tea.Msg, 4096)}
}

func (d *driver) run(cmd tea.Cmd) {
	if cmd == nil {
		return
	}
	go func() {
		msg := cmd()
		if b, ok := msg.(tea.BatchMsg); ok {
			for _, c := range b {
				d.run(c)
			}
			return
		}
		if msg != nil {
			d.msgs <- msg
		}
	}()
}

func (d *driver) send(msg tea.Msg) {
	_, cmd := d.m.Update(msg)
	d.run(cmd)
}

func (d *driver) keys(keys ...string) {
	for _, k := range keys {
		d.send(keyMsg(k))
	}
}

// dialogConfirm routes the model's guard questions to its dialog, as the
// program does, counting them in asked (when not nil).
func (d *driver) dialogConfirm(asked *int) {
	d.m.ctx.Confirm = func(ctx context.Context, g profiles.Gate, p plan.Plan) (string, error) {
		if asked != nil {
			*asked++
		}
		reply := make(chan mfaReply, 1)
		d.msgs <- confirmPromptMsg{plan: p, gate: g, reply: reply}
		r := <-reply
		return r.code, r.err
	}
}

func (d *driver) typeText(s string) {
	for _, r := range s {
		d.keys(string(r))
	}
}

// waitFor feeds messages until cond holds (or fails after 20 s).
func (d *driver) waitFor(what string, cond func() bool) {
	d.t.Helper()
	deadline := time.After(20 * time.Second)
	for !cond() {
		select {
		case msg := <-d.msgs:
			if msg, ok := msg.(tea.QuitMsg); ok {
				_ = msg
				continue
			}
			d.send(msg)
		case <-deadline:
			d.t.Fatalf("timed out waiting for %s; screen:\n%s", what, stripANSI(d.m.Render()))
		}
	}
}

func TestFlowSwitchAccount(t *testing.T) {
	cfg := demoConfig(t)
	var d *driver
	prompt := func(ctx context.Context, serial string) (string, error) {
		reply := make(chan mfaReply, 1)
		d.msgs <- mfaPromptMsg{serial: serial, reply: reply}
		r := <-reply
		return r.code, r.err
	}
	b := profiles.NewBroker(cfg, profiles.BrokerOptions{RetryMaxAttempts: 1, Prompt: prompt})
	m := New(Options{Config: cfg, Broker: b})
	d = newDriver(t, m)
	d.send(tea.WindowSizeMsg{Width: 120, Height: 30})
	d.run(m.Init())

	// :accounts via the palette with completion.
	d.keys(":")
	d.typeText("acc")
	d.keys("tab")
	if m.edit.value != "accounts" {
		t.Fatalf("tab completed to %q", m.edit.value)
	}
	d.keys("enter")
	// Filter, then switch.
	d.keys("/")
	d.typeText("initech qa")
	d.keys("enter")
	if got := m.current().(Filterable).Filter(); got != "initech qa" {
		t.Fatalf("filter = %q", got)
	}
	d.keys("enter")
	d.waitFor("the switch to start", func() bool { return m.switching != nil })
	if !strings.Contains(stripANSI(m.statusBar()), "assuming read in initech-qa") {
		t.Fatalf("no spinner while assuming: %s", stripANSI(m.statusBar()))
	}
	d.waitFor("the switch to initech-qa", func() bool { return m.ctx.Identity.Account != nil })
	bar := stripANSI(m.statusBar())
	for _, want := range []string{"initech-qa", "qa", "role read", "eu-north-1", "⏱"} {
		if !strings.Contains(bar, want) {
			t.Errorf("status bar lacks %q: %s", want, bar)
		}
	}
	if !strings.Contains(m.ctx.Identity.ARN, "210000000008") {
		t.Errorf("identity ARN %s is not in initech-qa", m.ctx.Identity.ARN)
	}

	// r picks a role that needs MFA: the dialog asks once.
	d.keys("r", "k", "enter")
	d.waitFor("the MFA prompt", func() bool { return m.mode == modePrompt })
	if !strings.Contains(stripANSI(m.Render()), "MFA code needed") {
		t.Fatal("MFA dialog not shown")
	}
	d.typeText("123456")
	d.keys("enter")
	d.waitFor("the switch to operate", func() bool { return m.ctx.Identity.Role == "operate" })

	// A region switch through the palette.
	d.keys(":")
	d.typeText("region eu-west-1")
	d.keys("enter")
	d.waitFor("the region switch", func() bool { return m.ctx.Identity.Region == "eu-west-1" })

	// A failed switch keeps the previous identity and says what to try.
	dead := aws.Config{Region: "eu-north-1", BaseEndpoint: aws.String("http://127.0.0.1:1"), Credentials: aws.AnonymousCredentials{}}
	m.ctx.Broker = profiles.NewBroker(cfg, profiles.BrokerOptions{Source: &dead, RetryMaxAttempts: 1})
	d.keys("esc", "/")
	d.typeText("globex-prod")
	d.keys("enter", "enter")
	d.waitFor("the switch to start", func() bool { return m.switching != nil })
	d.waitFor("the failed switch", func() bool { return m.switching == nil })
	if m.ctx.Identity.Account.Name != "initech-qa" {
		t.Fatalf("identity changed to %s after a failed switch", m.ctx.Identity.Account.Name)
	}
	foot := stripANSI(m.footerView())
	if !strings.Contains(foot, "could not switch to globex-prod as read (still on initech-qa): the STS endpoint did not answer") {
		t.Fatalf("footer = %s", foot)
	}
	// The next key clears the footer.
	d.keys("j")
	if m.footer != "" {
		t.Fatal("footer not cleared by the next key")
	}
}

func TestStaleSwitchReplyDropped(t *testing.T) {
	cfg := demoConfig(t)
	m := newTestModel(t, cfg, 80, 24, Options{})
	m.startSwitch(SwitchMsg{Account: cfg.Account("acme-test"), Role: "read"})
	m.startSwitch(SwitchMsg{Account: cfg.Account("acme-qa"), Role: "read"})
	m.Update(identityMsg{reqID: 1, ident: Identity{Account: cfg.Account("acme-test"), Role: "read"}})
	if m.ctx.Identity.Account != nil {
		t.Fatal("stale reply applied")
	}
	m.Update(identityMsg{reqID: 2, ident: Identity{Account: cfg.Account("acme-qa"), Role: "read", Region: "eu-north-1"}})
	if m.ctx.Identity.Account.Name != "acme-qa" {
		t.Fatal("current reply not applied")
	}
}
