package tui

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"
	"charm.land/lipgloss/v2"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/rds"

	"github.com/opsdeck/opsdeck/ops/backup"
	"github.com/opsdeck/opsdeck/ops/fleet"
	"github.com/opsdeck/opsdeck/ops/plan"
	"github.com/opsdeck/opsdeck/tui/table"
)

func init() {
	register(screenSpec{Kind: BackupsKind, Command: "backups", Aliases: []string{"bk", "snapshots"}, Args: "[SEL]",
		Help: "recovery points per resource, RPO breaches; s snapshot, c copy, r restore", New: newBackups})
}

type backupRef struct {
	Target fleet.Target
	Res    backup.Resource
}

type backupKeys struct {
	listKeys
	Snapshot, Copy, Restore, Reload key.Binding
}

type backupsScreen struct {
	ctx  *Context
	tbl  *table.Model
	fan  *fanout
	keys backupKeys
	sel  string
	busy string
}

var backupCols = []table.Column{
	{Title: "ACCOUNT", Width: 14}, {Title: "REGION", Width: 12, Drop: 2}, {Title: "RESOURCE", Width: 22, Flex: true}, {Title: "KIND", Width: 12, Drop: 3},
	{Title: "POINTS", Width: 6}, {Title: "NEWEST", Width: 24, Drop: 1}, {Title: "AGE", Width: 6}, {Title: "RPO", Width: 13},
}

func newBackups(c *Context) Screen {
	lk := newListKeys()
	// s is "snapshot" here (as operators asked); sorting moves to o.
	lk.Sort = key.NewBinding(key.WithKeys("o"), key.WithHelp("o", "sort column"))
	s := &backupsScreen{ctx: c, sel: "all", keys: backupKeys{listKeys: lk,
		Snapshot: key.NewBinding(key.WithKeys("s"), key.WithHelp("s", "snapshot now")),
		Copy:     key.NewBinding(key.WithKeys("c"), key.WithHelp("c", "copy newest to the other region")),
		Restore:  key.NewBinding(key.WithKeys("r"), key.WithHelp("r", "restore newest")),
		Reload:   key.NewBinding(key.WithKeys("ctrl+r", "R"), key.WithHelp("R", "reload")),
	}}
	s.tbl = table.New(backupCols, c.Styles.Table)
	s.tbl.SetNaturalOrder(true)
	s.tbl.SetEmptyMessage("no resources yet")
	s.tbl.SetStyler(func(r *table.Row, col int) (lipgloss.Style, bool) {
		ref, ok := r.Data.(backupRef)
		if !ok {
			if col == 2 {
				return c.Styles.Bad, true
			}
			return lipgloss.Style{}, false
		}
		if ref.Res.Stale && (col == 6 || col == 7 || col == 2) {
			return c.Styles.Bad, true
		}
		return lipgloss.Style{}, false
	})
	s.fan = newFanout(BackupsKind, s.tbl, func(t fleet.Target, msg string) table.Row {
		return table.Row{Key: t.String() + "/!", Cells: []string{t.Account.Name, t.Region, "✗ " + msg, "", "", "", "", ""}}
	})
	return s
}

func (s *backupsScreen) Title() string { return "Backups" }
func (s *backupsScreen) Keys() []key.Binding {
	if s.ctx.ReadOnly {
		return []key.Binding{s.keys.Reload} // k9s-style: mutating keys hidden
	}
	return []key.Binding{s.keys.Snapshot, s.keys.Copy, s.keys.Restore, s.keys.Reload}
}
func (s *backupsScreen) SetFilter(f string) { s.tbl.SetFilter(f) }
func (s *backupsScreen) Filter() string     { return s.tbl.Filter() }
func (s *backupsScreen) SetSize(w, h int)   { s.tbl.SetSize(w, max(2, h-2)) }
func (s *backupsScreen) Init() tea.Cmd      { return s.load() }

func (s *backupsScreen) SetParams(p any) tea.Cmd {
	if sel, ok := p.(string); ok && sel != "" {
		s.sel = sel
	}
	return s.load()
}

func apiClients(c aws.Config) backup.Clients {
	return backup.Clients{EC2: ec2.NewFromConfig(c), RDS: rds.NewFromConfig(c)}
}

func (s *backupsScreen) load() tea.Cmd {
	accts, err := s.ctx.Config.Select(s.sel)
	if err != nil {
		return ReportError(err)
	}
	now := s.ctx.Now()
	return runFan(s.fan, s.ctx, fleet.Targets(accts, nil), func(ctx context.Context, c aws.Config, t fleet.Target) ([]backup.Resource, error) {
		return backup.List(ctx, apiClients(c), now, t.Account.Env().RPODuration(), "")
	}, func(t fleet.Target, rs []backup.Resource) []table.Row {
		rows := make([]table.Row, len(rs))
		for i, r := range rs {
			newest, ag := "never", "-"
			if len(r.Points) > 0 {
				newest, ag = r.Points[0].ID, age(now, r.Newest)
			}
			rpo := "-"
			if d := t.Account.Env().RPODuration(); d > 0 {
				rpo = d.String()
				if r.Stale {
					rpo = "BREACH " + countdown(d)
				}
			}
			rows[i] = table.Row{Key: t.String() + "/" + r.ID, Data: backupRef{t, r},
				Cells: []string{t.Account.Name, t.Region, r.ID, string(r.Kind), strconv.Itoa(len(r.Points)), newest, ag, rpo}}
		}
		return rows
	})
}

func (s *backupsScreen) Update(msg tea.Msg) tea.Cmd {
	if cmd, ok := s.fan.update(msg); ok || cmd != nil {
		return cmd
	}
	switch msg := msg.(type) {
	case actionDoneMsg:
		s.busy = ""
		return tea.Batch(msg.report(), s.load())
	case tea.KeyPressMsg:
		if s.keys.navigate(s.tbl, len(backupCols), msg) {
			return nil
		}
		if key.Matches(msg, s.keys.Reload) {
			return s.load()
		}
		if s.ctx.ReadOnly || s.busy != "" {
			return nil
		}
		r := s.tbl.Selected()
		if r == nil {
			return nil
		}
		ref, ok := r.Data.(backupRef)
		if !ok {
			return nil
		}
		switch {
		case key.Matches(msg, s.keys.Snapshot):
			return s.snapshot(ref)
		case key.Matches(msg, s.keys.Copy):
			return s.copy(ref)
		case key.Matches(msg, s.keys.Restore):
			return s.restore(ref)
		}
	}
	return nil
}

func (s *backupsScreen) plan(action string, ref backupRef, target string, params map[string]string) plan.Plan {
	return plan.New(action, ref.Target.Account, ref.Target.Region, roleFor(s.ctx, ref.Target), s.ctx.Config.Operator.Name,
		"from the opsdeck backups screen", []string{target}, params)
}

func (s *backupsScreen) clients(ctx context.Context, t fleet.Target, region string) (backup.Clients, error) {
	c, _, err := s.ctx.Broker.Config(ctx, t.Account, roleFor(s.ctx, t), region)
	return apiClients(c), err
}

func (s *backupsScreen) snapshot(ref backupRef) tea.Cmd {
	if ref.Res.Kind == backup.Copies {
		return ReportError(fmt.Errorf("%s: these are copies; snapshot the source where it lives, or c/r to copy or restore them", ref.Res.ID))
	}
	p := s.plan("backup.snapshot", ref, ref.Res.ID, map[string]string{"resource": ref.Res.ID})
	p.Steps = []string{"snapshot " + ref.Res.ID + " now, tagged with who, when and why"}
	s.busy = "snapshot of " + ref.Res.ID
	return runAction(s.ctx, p, func(ctx context.Context, res *plan.Result) error {
		c, err := s.clients(ctx, ref.Target, ref.Target.Region)
		if err != nil {
			return err
		}
		return backup.Snapshot(ctx, c, p, ref.Res.ID, res, backup.Options{Poll: 2 * time.Second})
	})
}

// otherRegion is the account's next region: where copies go.
func otherRegion(t fleet.Target) string {
	for _, r := range t.Account.Regions {
		if r != t.Region {
			return r
		}
	}
	return ""
}

func (s *backupsScreen) copy(ref backupRef) tea.Cmd {
	to := otherRegion(ref.Target)
	if len(ref.Res.Points) == 0 || to == "" {
		return ReportError(fmt.Errorf("%s: nothing to copy (no recovery point, or the account has one region)", ref.Res.ID))
	}
	point := ref.Res.Points[0].ID
	p := s.plan("backup.copy", ref, point, map[string]string{"resource": point, "to_region": to})
	p.Steps = []string{"copy " + point + " to " + to}
	s.busy = "copy of " + point + " to " + to
	return runAction(s.ctx, p, func(ctx context.Context, res *plan.Result) error {
		src, err := s.clients(ctx, ref.Target, ref.Target.Region)
		if err != nil {
			return err
		}
		dst, err := s.clients(ctx, ref.Target, to)
		if err != nil {
			return err
		}
		return backup.Copy(ctx, src, dst, p, point, ref.Target.Region, "", res, backup.Options{Poll: 2 * time.Second})
	})
}

func (s *backupsScreen) restore(ref backupRef) tea.Cmd {
	if len(ref.Res.Points) == 0 {
		return ReportError(fmt.Errorf("%s has no recovery point to restore", ref.Res.ID))
	}
	point := ref.Res.Points[0].ID
	ro := backup.RestoreOptions{}
	params := map[string]string{"resource": point}
	if ref.Res.Kind == backup.RDSInstance || ref.Res.Kind == backup.Copies && backup.KindOf(point, backup.RDSSnapshot) == backup.RDSSnapshot {
		base := strings.TrimPrefix(ref.Res.ID, backup.CopiesOf)
		ro.NewID = fmt.Sprintf("%s-restore-%s", base, s.ctx.Now().UTC().Format("0102-1504"))
		params["new_id"] = ro.NewID
	}
	p := s.plan("backup.restore", ref, point, params)
	p.Steps = []string{"restore " + point + " (a new resource; the original is untouched)"}
	s.busy = "restore of " + point
	return runAction(s.ctx, p, func(ctx context.Context, res *plan.Result) error {
		c, err := s.clients(ctx, ref.Target, ref.Target.Region)
		if err != nil {
			return err
		}
		return backup.Restore(ctx, c, p, point, ro, res, backup.Options{Poll: 2 * time.Second})
	})
}

func (s *backupsScreen) View() string {
	st := s.ctx.Styles
	head := st.Title.Render("Backups") + st.Muted.Render(" · "+s.sel) + "  " + s.fan.progress(st, "resources")
	if s.busy != "" {
		head += "  " + st.Info.Render(s.fan.spin.View()+" "+s.busy+"…")
	}
	return head + "\n\n" + s.tbl.View()
}
