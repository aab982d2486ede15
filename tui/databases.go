package tui

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"
	"charm.land/lipgloss/v2"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/rds"
	"github.com/aws/aws-sdk-go-v2/service/ssm"

	"github.com/opsdeck/opsdeck/ops/fleet"
	"github.com/opsdeck/opsdeck/ops/sessions"
	"github.com/opsdeck/opsdeck/tui/table"
)

func init() {
	register(screenSpec{Kind: DatabasesKind, Command: "databases", Aliases: []string{"db", "rds"}, Args: "[SEL]",
		Help: "RDS instances: f forwards a local port through the jumpbox", New: newDatabases})
}

type dbRef struct {
	Target fleet.Target
	DB     sessions.Database
}

type databaseKeys struct {
	listKeys
	Forward, Reload key.Binding
}

type databasesScreen struct {
	ctx  *Context
	tbl  *table.Model
	fan  *fanout
	keys databaseKeys
	sel  string
	busy string
}

var databaseCols = []table.Column{
	{Title: "ACCOUNT", Width: 14}, {Title: "REGION", Width: 12, Drop: 1}, {Title: "DATABASE", Width: 20},
	{Title: "ENGINE", Width: 10, Drop: 2}, {Title: "STATUS", Width: 10}, {Title: "ENDPOINT", Width: 24, Flex: true}, {Title: "PORT", Width: 5},
}

func newDatabases(c *Context) Screen {
	s := &databasesScreen{ctx: c, sel: "all", keys: databaseKeys{listKeys: newListKeys(),
		Forward: key.NewBinding(key.WithKeys("f", "enter"), key.WithHelp("f", "forward through the jumpbox")),
		Reload:  key.NewBinding(key.WithKeys("ctrl+r", "R"), key.WithHelp("R", "reload")),
	}}
	s.tbl = table.New(databaseCols, c.Styles.Table)
	s.tbl.SetNaturalOrder(true)
	s.tbl.SetEmptyMessage("no databases yet")
	s.tbl.SetStyler(func(r *table.Row, col int) (lipgloss.Style, bool) {
		if _, ok := r.Data.(dbRef); !ok && (col == 2 || col == 4) {
			return c.Styles.Bad, true
		}
		if col == 4 && r.Cells[4] == "available" {
			return c.Styles.Good, true
		}
		return lipgloss.Style{}, false
	})
	s.fan = newFanout(DatabasesKind, s.tbl, func(t fleet.Target, msg string) table.Row {
		return table.Row{Key: t.String() + "/!", Cells: []string{t.Account.Name, t.Region, "✗ " + msg, "", "TARGET FAILED", "", ""}}
	})
	return s
}

func (s *databasesScreen) Title() string { return "Databases" }
func (s *databasesScreen) Keys() []key.Binding {
	if s.ctx.ReadOnly {
		return []key.Binding{s.keys.Reload}
	}
	return []key.Binding{s.keys.Forward, s.keys.Reload}
}
func (s *databasesScreen) SetFilter(f string) { s.tbl.SetFilter(f) }
func (s *databasesScreen) Filter() string     { return s.tbl.Filter() }
func (s *databasesScreen) SetSize(w, h int)   { s.tbl.SetSize(w, max(2, h-2)) }
func (s *databasesScreen) Init() tea.Cmd      { return s.load() }

func (s *databasesScreen) SetParams(p any) tea.Cmd {
	if sel, ok := p.(string); ok && sel != "" {
		s.sel = sel
	}
	return s.load()
}

func (s *databasesScreen) load() tea.Cmd {
	accts, err := s.ctx.Config.Select(s.sel)
	if err != nil {
		return ReportError(err)
	}
	return runFan(s.fan, s.ctx, fleet.Targets(accts, nil), func(ctx context.Context, c aws.Config, _ fleet.Target) ([]sessions.Database, error) {
		return sessions.Databases(ctx, rds.NewFromConfig(c))
	}, func(t fleet.Target, dbs []sessions.Database) []table.Row {
		rows := make([]table.Row, len(dbs))
		for i, d := range dbs {
			rows[i] = table.Row{Key: t.String() + "/" + d.ID, Data: dbRef{t, d},
				Cells: []string{t.Account.Name, t.Region, d.ID, d.Engine, d.Status, d.Endpoint, strconv.Itoa(int(d.Port))}}
		}
		return rows
	})
}

func (s *databasesScreen) Update(msg tea.Msg) tea.Cmd {
	if cmd, ok := s.fan.update(msg); ok || cmd != nil {
		return cmd
	}
	switch msg := msg.(type) {
	case tunnelOpenedMsg:
		s.busy = ""
		return tunnelReport(msg)
	case tea.KeyPressMsg:
		if s.keys.navigate(s.tbl, len(databaseCols), msg) {
			return nil
		}
		switch {
		case key.Matches(msg, s.keys.Reload):
			return s.load()
		case key.Matches(msg, s.keys.Forward):
			r := s.tbl.Selected()
			if r == nil || s.ctx.ReadOnly {
				return nil
			}
			ref, ok := r.Data.(dbRef)
			if !ok {
				return nil
			}
			s.busy = "finding the jumpbox and opening a tunnel to " + ref.DB.ID + "…"
			return s.forward(ref)
		}
	}
	return nil
}

// forward finds the account's jumpbox, then opens a tunnel to the
// database's endpoint through it.
func (s *databasesScreen) forward(ref dbRef) tea.Cmd {
	c := s.ctx
	if c.Tunnels == nil {
		return ReportError(errors.New("port forwards are not available in this mode"))
	}
	return func() tea.Msg {
		ctx, cancel := context.WithTimeout(c.Ctx, 2*time.Minute)
		defer cancel()
		role := roleFor(c, ref.Target)
		cfg, _, err := c.Broker.Config(ctx, ref.Target.Account, role, ref.Target.Region)
		if err != nil {
			return tunnelOpenedMsg{err: err}
		}
		var api sessions.SSMAPI = ssm.NewFromConfig(cfg)
		if c.NewSSM != nil {
			api = c.NewSSM(cfg)
		}
		k, v := sessions.JumpboxTag(c.Config, ref.Target.Account)
		jbs, err := sessions.Jumpboxes(ctx, ec2.NewFromConfig(cfg), api, k, v)
		if err != nil && !errors.Is(err, sessions.ErrNoInstanceInfo) {
			return tunnelOpenedMsg{err: fmt.Errorf("%s: %w", ref.Target, err)}
		}
		j, err := sessions.Pick(jbs, "")
		var amb *sessions.AmbiguousError
		if errors.As(err, &amb) {
			j, err = amb.Choices[0], nil // the first online one; :jumpboxes picks another
		}
		if err != nil {
			return tunnelOpenedMsg{err: fmt.Errorf("%s: %w", ref.Target, err)}
		}
		info, err := c.Tunnels.Open(ctx, sessions.Spec{Account: ref.Target.Account, Role: role, Region: ref.Target.Region,
			Instance: j.InstanceID, Host: ref.DB.Endpoint, Port: int(ref.DB.Port), Label: ref.DB.ID})
		return tunnelOpenedMsg{info: info, err: err}
	}
}

func (s *databasesScreen) View() string {
	st := s.ctx.Styles
	head := st.Title.Render("Databases") + st.Muted.Render(" · "+s.sel) + "  " + s.fan.progress(st, "databases")
	if s.busy != "" {
		head += "  " + st.Info.Render(s.fan.spin.View()+" "+s.busy)
	}
	return head + "\n\n" + s.tbl.View()
}
