package tui

import (
	"context"
	"fmt"
	"strings"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"
	"charm.land/lipgloss/v2"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ssm"

	"github.com/opsdeck/opsdeck/images/promote"
	"github.com/opsdeck/opsdeck/ops/fleet"
	"github.com/opsdeck/opsdeck/tui/table"
)

func init() {
	register(screenSpec{Kind: ImageUsageKind, Command: "image-usage", Aliases: []string{"usage"}, Args: "IMAGE [SEL]",
		Help: "running instances per account × region by AMI, marking those not on stable", Fresh: true, New: newImageUsage})
}

// usageParams open the usage view: one image across a selection.
type usageParams struct{ Image, Sel string }

// usageResult is one target's answer: the stable AMI there and what runs.
type usageResult struct {
	stable string
	us     []promote.Usage
}

type imageUsageScreen struct {
	ctx    *Context
	tbl    *table.Model
	fan    *fanout
	keys   listKeys
	reload key.Binding
	p      usageParams
}

var usageCols = []table.Column{
	{Title: "ACCOUNT", Width: 14}, {Title: "REGION", Width: 12}, {Title: "AMI", Width: 22, Flex: true},
	{Title: "INSTANCES", Width: 9}, {Title: "STABLE", Width: 22, Drop: 1}, {Title: "STATUS", Width: 20},
}

func newImageUsage(c *Context) Screen {
	s := &imageUsageScreen{ctx: c, keys: newListKeys(), p: usageParams{Sel: "all"},
		reload: key.NewBinding(key.WithKeys("ctrl+r", "R"), key.WithHelp("R", "reload"))}
	s.tbl = table.New(usageCols, c.Styles.Table)
	s.tbl.SetEmptyMessage("no running instances in the selection")
	s.tbl.SetStyler(func(r *table.Row, col int) (lipgloss.Style, bool) {
		switch {
		case col == 5 && r.Cells[5] == promote.OldStatus:
			return c.Styles.Bad, true
		case col == 5 && r.Cells[5] == "current":
			return c.Styles.Good, true
		}
		return lipgloss.Style{}, false
	})
	s.fan = newFanout(ImageUsageKind, s.tbl, func(t fleet.Target, msg string) table.Row {
		return table.Row{Key: "~" + t.String(), Cells: []string{t.Account.Name, t.Region, "✗ " + msg, "", "", ""}}
	})
	return s
}

func (s *imageUsageScreen) Title() string       { return "Usage " + s.p.Image }
func (s *imageUsageScreen) Keys() []key.Binding { return []key.Binding{s.reload} }
func (s *imageUsageScreen) SetFilter(f string)  { s.tbl.SetFilter(f) }
func (s *imageUsageScreen) Filter() string      { return s.tbl.Filter() }
func (s *imageUsageScreen) SetSize(w, h int)    { s.tbl.SetSize(w, max(3, h-3)) }
func (s *imageUsageScreen) Init() tea.Cmd       { return nil }
func (s *imageUsageScreen) Update(msg tea.Msg) tea.Cmd {
	if cmd, ok := s.fan.update(msg); ok || cmd != nil {
		return cmd
	}
	if k, ok := msg.(tea.KeyPressMsg); ok {
		if s.keys.navigate(s.tbl, len(usageCols), k) {
			return nil
		}
		if key.Matches(k, s.reload) {
			return s.load()
		}
	}
	return nil
}

// SetParams takes usageParams, or the palette's "IMAGE [SEL]" as a string.
func (s *imageUsageScreen) SetParams(p any) tea.Cmd {
	switch p := p.(type) {
	case usageParams:
		s.p = p
	case string:
		f := strings.Fields(p)
		if len(f) > 0 {
			s.p.Image = f[0]
		}
		if len(f) > 1 {
			s.p.Sel = f[1]
		}
	}
	return s.load()
}

func (s *imageUsageScreen) load() tea.Cmd {
	if s.p.Image == "" {
		return ReportError(fmt.Errorf("which image? :image-usage IMAGE [SEL], or u on a row of :images"))
	}
	accts, err := s.ctx.Config.Select(s.p.Sel)
	if err != nil {
		return ReportError(err)
	}
	image := s.p.Image
	return runFan(s.fan, s.ctx, fleet.Targets(accts, nil), func(ctx context.Context, c aws.Config, _ fleet.Target) (usageResult, error) {
		stable, us, err := promote.UsageAt(ctx, ssm.NewFromConfig(c), ec2.NewFromConfig(c), image)
		return usageResult{stable, us}, err
	}, func(t fleet.Target, r usageResult) []table.Row {
		rows := make([]table.Row, len(r.us))
		for i, u := range r.us {
			rows[i] = table.Row{Key: t.String() + "/" + u.AMI,
				Cells: []string{t.Account.Name, t.Region, u.AMI, fmt.Sprint(u.Instances), r.stable, u.Status(r.stable)}}
		}
		return rows
	})
}

func (s *imageUsageScreen) View() string {
	st := s.ctx.Styles
	return st.Title.Render("Usage of "+s.p.Image) + st.Muted.Render(" · "+s.p.Sel) + "  " + s.fan.progress(st, "AMIs in use") + "\n\n" + s.tbl.View()
}
