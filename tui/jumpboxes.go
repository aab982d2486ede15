package tui

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"time"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"
	"charm.land/lipgloss/v2"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ssm"

	"github.com/opsdeck/opsdeck/ops/awsx"
	"github.com/opsdeck/opsdeck/ops/fleet"
	"github.com/opsdeck/opsdeck/ops/sessions"
	"github.com/opsdeck/opsdeck/tui/table"
)

func init() {
	register(screenSpec{Kind: JumpboxesKind, Command: "jumpboxes", Aliases: []string{"jb", "ssh"}, Args: "[SEL]",
		Help: "jumpboxes: enter opens a shell, f forwards a port", New: newJumpboxes})
}

type jumpboxRef struct {
	Target fleet.Target
	Box    sessions.Jumpbox
}

type jumpboxKeys struct {
	listKeys
	Shell, Forward, Reload key.Binding
}

type jumpboxesScreen struct {
	ctx  *Context
	tbl  *table.Model
	fan  *fanout
	keys jumpboxKeys
	sel  string
	w, h int

	// forward prompt
	asking bool
	edit   lineEdit
	busy   string
}

var jumpboxCols = []table.Column{
	{Title: "ACCOUNT", Width: 14}, {Title: "REGION", Width: 12, Drop: 1}, {Title: "INSTANCE", Width: 20},
	{Title: "NAME", Width: 16, Flex: true}, {Title: "STATE", Width: 8, Drop: 2}, {Title: "SSM", Width: 14},
	{Title: "AGENT", Width: 11, Drop: 3}, {Title: "PRIVATE IP", Width: 15, Drop: 4},
}

func newJumpboxes(c *Context) Screen {
	s := &jumpboxesScreen{ctx: c, sel: "all", keys: jumpboxKeys{listKeys: newListKeys(),
		Shell:   key.NewBinding(key.WithKeys("enter"), key.WithHelp("enter", "shell")),
		Forward: key.NewBinding(key.WithKeys("f"), key.WithHelp("f", "forward a port")),
		Reload:  key.NewBinding(key.WithKeys("ctrl+r", "R"), key.WithHelp("R", "reload")),
	}}
	s.tbl = table.New(jumpboxCols, c.Styles.Table)
	s.tbl.SetNaturalOrder(true)
	s.tbl.SetEmptyMessage("no jumpboxes yet (instances tagged " + c.Config.Jumpbox.Tag + ")")
	s.tbl.SetStyler(s.cellStyle)
	s.fan = newFanout(JumpboxesKind, s.tbl, func(t fleet.Target, msg string) table.Row {
		return table.Row{Key: t.String() + "/!", Cells: []string{t.Account.Name, t.Region, "✗ " + msg, "", "", "TARGET FAILED", "", ""}}
	})
	return s
}

func (s *jumpboxesScreen) Title() string { return "Jumpboxes" }
func (s *jumpboxesScreen) Keys() []key.Binding {
	if s.ctx.ReadOnly {
		return []key.Binding{s.keys.Shell, s.keys.Reload}
	}
	return []key.Binding{s.keys.Shell, s.keys.Forward, s.keys.Reload}
}
func (s *jumpboxesScreen) SetFilter(f string) { s.tbl.SetFilter(f) }
func (s *jumpboxesScreen) Filter() string     { return s.tbl.Filter() }
func (s *jumpboxesScreen) Capturing() bool    { return s.asking }
func (s *jumpboxesScreen) SetSize(w, h int) {
	s.w, s.h = w, h
	s.tbl.SetSize(w, max(2, h-2))
}

func (s *jumpboxesScreen) Init() tea.Cmd { return s.load() }

func (s *jumpboxesScreen) SetParams(p any) tea.Cmd {
	if sel, ok := p.(string); ok && sel != "" {
		s.sel = sel
	}
	return s.load()
}

func (s *jumpboxesScreen) load() tea.Cmd {
	accts, err := s.ctx.Config.Select(s.sel)
	if err != nil {
		return ReportError(err)
	}
	cfg, newSSM := s.ctx.Config, s.ctx.NewSSM
	return runFan(s.fan, s.ctx, fleet.Targets(accts, nil), func(ctx context.Context, c aws.Config, t fleet.Target) ([]sessions.Jumpbox, error) {
		k, v := sessions.JumpboxTag(cfg, t.Account)
		var api sessions.SSMAPI = ssm.NewFromConfig(c)
		if newSSM != nil {
			api = newSSM(c)
		}
		jbs, err := sessions.Jumpboxes(ctx, ec2.NewFromConfig(c), api, k, v)
		if errors.Is(err, sessions.ErrNoInstanceInfo) {
			err = nil // listed from EC2 with status "unknown"
		}
		return jbs, err
	}, func(t fleet.Target, jbs []sessions.Jumpbox) []table.Row {
		rows := make([]table.Row, len(jbs))
		for i, j := range jbs {
			rows[i] = table.Row{Key: t.String() + "/" + j.InstanceID, Data: jumpboxRef{t, j},
				Cells: []string{t.Account.Name, t.Region, j.InstanceID, j.Name, j.State, j.Ping, j.AgentVersion, j.PrivateIP}}
		}
		return rows
	})
}

type shellReadyMsg struct {
	sh  *sessions.Shell
	ref jumpboxRef
	err error
}

type shellDoneMsg struct {
	ref jumpboxRef
	id  string
	err error
}

type tunnelOpenedMsg struct {
	info sessions.Info
	err  error
}

func (s *jumpboxesScreen) Update(msg tea.Msg) tea.Cmd {
	if cmd, ok := s.fan.update(msg); ok || cmd != nil {
		return cmd
	}
	switch msg := msg.(type) {
	case shellReadyMsg:
		s.busy = ""
		if msg.err != nil {
			return ReportError(fmt.Errorf("%s %s: %s", msg.ref.Target, msg.ref.Box.InstanceID, awsx.Summary(msg.err)))
		}
		ref, id := msg.ref, msg.sh.SessionID
		// The terminal goes to the plugin and comes back here.
		return tea.Exec(msg.sh, func(err error) tea.Msg { return shellDoneMsg{ref: ref, id: id, err: err} })
	case shellDoneMsg:
		if msg.err != nil {
			return ReportError(fmt.Errorf("session %s on %s: %w", msg.id, msg.ref.Box.InstanceID, msg.err))
		}
		return ReportInfo(fmt.Sprintf("session %s on %s (%s) ended and was terminated", msg.id, msg.ref.Box.InstanceID, msg.ref.Target))
	case tunnelOpenedMsg:
		s.busy = ""
		return tunnelReport(msg)
	case tea.KeyPressMsg:
		if s.asking {
			return s.askKey(msg)
		}
		return s.key(msg)
	}
	return nil
}

func (s *jumpboxesScreen) selected() (jumpboxRef, bool) {
	r := s.tbl.Selected()
	if r == nil {
		return jumpboxRef{}, false
	}
	ref, ok := r.Data.(jumpboxRef)
	return ref, ok
}

func (s *jumpboxesScreen) key(k tea.KeyPressMsg) tea.Cmd {
	if s.keys.navigate(s.tbl, len(jumpboxCols), k) {
		return nil
	}
	switch {
	case key.Matches(k, s.keys.Reload):
		return s.load()
	case key.Matches(k, s.keys.Shell):
		ref, ok := s.selected()
		if !ok {
			return nil
		}
		s.busy = "starting a session on " + ref.Box.InstanceID + "…"
		return s.shell(ref)
	case key.Matches(k, s.keys.Forward):
		if s.ctx.ReadOnly {
			return nil
		}
		if _, ok := s.selected(); ok {
			s.asking, s.edit = true, lineEdit{value: "localhost:22"}
		}
	}
	return nil
}

func (s *jumpboxesScreen) shell(ref jumpboxRef) tea.Cmd {
	c := s.ctx
	return func() tea.Msg {
		ctx, cancel := context.WithTimeout(c.Ctx, time.Minute)
		defer cancel()
		sh, err := sessions.PrepareShell(ctx, c.Broker, ref.Target.Account, roleFor(c, ref.Target), ref.Target.Region, ref.Box.InstanceID, c.Plugin, c.NewSSM)
		return shellReadyMsg{sh: sh, ref: ref, err: err}
	}
}

// roleFor is the current identity's role in its own account, else the
// account's default.
func roleFor(c *Context, t fleet.Target) string {
	if c.Identity.Account == t.Account {
		return c.Identity.Role
	}
	return ""
}

func (s *jumpboxesScreen) askKey(k tea.KeyPressMsg) tea.Cmd {
	switch k.String() {
	case "esc":
		s.asking = false
	case "enter":
		s.asking = false
		ref, ok := s.selected()
		if !ok {
			return nil
		}
		host, portS, err := net.SplitHostPort(s.edit.value)
		port, perr := strconv.Atoi(portS)
		if err != nil || perr != nil || port < 1 || port > 65535 {
			return ReportError(fmt.Errorf("%q is not HOST:PORT (e.g. db.internal:5432, or localhost:22 for the jumpbox itself)", s.edit.value))
		}
		if host == "localhost" || host == ref.Box.InstanceID || host == ref.Box.Name {
			host = ""
		}
		s.busy = "opening a tunnel to " + s.edit.value + "…"
		return openTunnel(s.ctx, sessions.Spec{Account: ref.Target.Account, Role: roleFor(s.ctx, ref.Target), Region: ref.Target.Region,
			Instance: ref.Box.InstanceID, Host: host, Port: port})
	default:
		s.edit.handle(k)
	}
	return nil
}

// openTunnel starts a supervised forward in the background.
func openTunnel(c *Context, spec sessions.Spec) tea.Cmd {
	if c.Tunnels == nil {
		return ReportError(errors.New("port forwards are not available in this mode"))
	}
	return func() tea.Msg {
		ctx, cancel := context.WithTimeout(c.Ctx, 2*time.Minute)
		defer cancel()
		info, err := c.Tunnels.Open(ctx, spec)
		return tunnelOpenedMsg{info: info, err: err}
	}
}

func tunnelReport(msg tunnelOpenedMsg) tea.Cmd {
	if msg.err != nil {
		return ReportError(msg.err)
	}
	return tea.Batch(ReportInfo(fmt.Sprintf("tunnel %s → %s via %s is open (see :tunnels)", msg.info.LocalAddr, msg.info.Spec.Target(), msg.info.Spec.Instance)),
		Navigate(TunnelsKind))
}

func (s *jumpboxesScreen) View() string {
	st := s.ctx.Styles
	head := st.Title.Render("Jumpboxes") + st.Muted.Render(" · "+s.sel) + "  " + s.fan.progress(st, "jumpboxes")
	if s.busy != "" {
		head += "  " + st.Info.Render(s.fan.spin.View()+" "+s.busy)
	}
	out := head + "\n\n" + s.tbl.View()
	if s.asking {
		ref, _ := s.selected()
		box := st.Box.Render(st.Title.Render("Forward through "+ref.Box.InstanceID) + "\n" +
			"to " + st.Prompt.Render("HOST:PORT ") + s.edit.view() + "\n" +
			st.Muted.Render("a private host behind the jumpbox, or localhost:PORT on the jumpbox itself\nlistens on 127.0.0.1 · enter opens · esc cancels"))
		out = overlayBottom(out, box, s.h)
	}
	return out
}

func (s *jumpboxesScreen) cellStyle(r *table.Row, col int) (lipgloss.Style, bool) {
	if _, ok := r.Data.(jumpboxRef); !ok {
		if col == 2 || col == 5 {
			return s.ctx.Styles.Bad, true
		}
		return lipgloss.Style{}, false
	}
	if col == 5 {
		switch r.Cells[5] {
		case "Online":
			return s.ctx.Styles.Good, true
		case "unknown":
			return s.ctx.Styles.Muted, true
		default:
			return s.ctx.Styles.Warn, true
		}
	}
	return lipgloss.Style{}, false
}
