package tui

import (
	"context"
	"fmt"
	"time"

	"charm.land/bubbles/v2/key"
	"charm.land/bubbles/v2/spinner"
	tea "charm.land/bubbletea/v2"
	"charm.land/lipgloss/v2"

	"github.com/opsdeck/opsdeck/ops/awsx"
	"github.com/opsdeck/opsdeck/ops/fleet"
	"github.com/opsdeck/opsdeck/ops/stacks"
	"github.com/opsdeck/opsdeck/tui/table"
)

func init() {
	register(screenSpec{Kind: StacksKind, Command: "stacks", Aliases: []string{"st", "cfn"}, Args: "[SEL]",
		Help: "CloudFormation stacks across accounts × regions", New: newStacks})
}

// stackRef names one stack for the detail view.
type stackRef struct {
	Target fleet.Target
	Name   string
	Status string
}

type stacksKeys struct {
	listKeys
	Open, Reload key.Binding
}

// stacksScreen lists stacks across the selected accounts and regions,
// filling in as targets answer; failed targets stay visible as rows with
// their error.
type stacksScreen struct {
	ctx  *Context
	tbl  *table.Model
	keys stacksKeys
	spin spinner.Model
	w, h int

	sel      string
	reqID    int
	cancel   context.CancelFunc
	total    int
	answered int
	failed   int
	nStacks  int
	loading  bool
	started  time.Time
	took     time.Duration
	selErr   error
}

var stackCols = []table.Column{
	{Title: "ACCOUNT", Width: 14}, {Title: "REGION", Width: 12, Drop: 1}, {Title: "STACK", Width: 20, Flex: true},
	{Title: "STATUS", Width: 24}, {Title: "AGE", Width: 5, Drop: 2}, {Title: "DRIFT", Width: 11, Drop: 3},
}

func newStacks(c *Context) Screen {
	s := &stacksScreen{ctx: c, sel: "all", spin: spinner.New(spinner.WithSpinner(spinner.MiniDot)), keys: stacksKeys{
		listKeys: newListKeys(),
		Open:     key.NewBinding(key.WithKeys("enter"), key.WithHelp("enter", "open stack")),
		Reload:   key.NewBinding(key.WithKeys("ctrl+r", "R"), key.WithHelp("R", "reload")),
	}}
	s.tbl = table.New(stackCols, c.Styles.Table)
	s.tbl.SetStyler(s.cellStyle)
	s.tbl.SetEmptyMessage("no stacks yet")
	s.tbl.SetNaturalOrder(true)
	return s
}

func (s *stacksScreen) Title() string { return "Stacks" }
func (s *stacksScreen) Keys() []key.Binding {
	return []key.Binding{s.keys.Open, s.keys.Sort, s.keys.Reload}
}
func (s *stacksScreen) SetFilter(f string) { s.tbl.SetFilter(f) }
func (s *stacksScreen) Filter() string     { return s.tbl.Filter() }

func (s *stacksScreen) SetSize(w, h int) {
	s.w, s.h = w, h
	s.tbl.SetSize(w, max(2, h-2))
}

func (s *stacksScreen) Init() tea.Cmd { return s.load() }

// SetParams takes a selector (":stacks customer=acme").
func (s *stacksScreen) SetParams(p any) tea.Cmd {
	if sel, ok := p.(string); ok && sel != "" {
		s.sel = sel
	}
	return s.load()
}

type stackResultMsg struct {
	reqID int
	res   fleet.Result[[]stacks.Summary]
	ch    <-chan fleet.Result[[]stacks.Summary]
}

type stacksDoneMsg struct{ reqID int }

// next reads one result from the fan-out; the screen asks again on each
// result, so the UI fills in as targets answer and never blocks.
func next(reqID int, ch <-chan fleet.Result[[]stacks.Summary]) tea.Cmd {
	return func() tea.Msg {
		r, ok := <-ch
		if !ok {
			return stacksDoneMsg{reqID}
		}
		return stackResultMsg{reqID: reqID, res: r, ch: ch}
	}
}

func (s *stacksScreen) load() tea.Cmd {
	if s.cancel != nil {
		s.cancel() // the previous fan-out stops; its late answers are dropped
	}
	s.reqID++
	s.tbl.SetRows(nil)
	s.answered, s.failed, s.nStacks, s.total = 0, 0, 0, 0
	s.selErr = nil
	accts, err := s.ctx.Config.Select(s.sel)
	if err != nil {
		s.selErr = err
		s.loading = false
		return ReportError(err)
	}
	targets := fleet.Targets(accts, nil)
	s.total = len(targets)
	s.loading = true
	s.started = s.ctx.Now()
	ctx, cancel := context.WithCancel(s.ctx.Ctx)
	s.cancel = cancel
	var factory stacks.Factory
	if s.ctx.Stacks != nil {
		factory = s.ctx.Stacks
	}
	ch := stacks.ListAcross(ctx, s.ctx.Broker, targets, fleet.Options{Concurrency: 16}, stacks.Filter{}, factory)
	return tea.Batch(next(s.reqID, ch), s.spin.Tick)
}

func (s *stacksScreen) Update(msg tea.Msg) tea.Cmd {
	switch msg := msg.(type) {
	case stackResultMsg:
		if msg.reqID != s.reqID {
			return nil
		}
		s.add(msg.res)
		return next(msg.reqID, msg.ch)
	case stacksDoneMsg:
		if msg.reqID == s.reqID {
			s.loading = false
			s.took = s.ctx.Now().Sub(s.started)
		}
		return nil
	case spinner.TickMsg:
		if !s.loading {
			return nil
		}
		var cmd tea.Cmd
		s.spin, cmd = s.spin.Update(msg)
		return cmd
	case tea.KeyPressMsg:
		return s.key(msg)
	}
	return nil
}

// add turns one target's answer into rows: its stacks, or one error row
// that stays visible.
func (s *stacksScreen) add(r fleet.Result[[]stacks.Summary]) {
	s.answered++
	t := r.Target
	if r.Err != nil {
		s.failed++
		// "!" sorts the error first among its target's rows.
		s.tbl.AppendRows(table.Row{Key: t.String() + "/!", Data: r,
			Cells: []string{t.Account.Name, t.Region, "✗ " + awsx.Summary(r.Err), "TARGET FAILED", "", ""}})
		return
	}
	rows := make([]table.Row, 0, len(r.Value))
	for _, st := range r.Value {
		s.nStacks++
		rows = append(rows, table.Row{Key: t.String() + "/" + st.Name,
			Data:  stackRef{Target: t, Name: st.Name, Status: st.Status},
			Cells: []string{t.Account.Name, t.Region, st.Name, st.Status, age(s.ctx.Now(), st.LastChange()), st.Drift}})
	}
	s.tbl.AppendRows(rows...)
}

func (s *stacksScreen) key(k tea.KeyPressMsg) tea.Cmd {
	if s.keys.navigate(s.tbl, len(stackCols), k) {
		return nil
	}
	switch {
	case key.Matches(k, s.keys.Reload):
		return s.load()
	case key.Matches(k, s.keys.Open):
		r := s.tbl.Selected()
		if r == nil {
			return nil
		}
		switch d := r.Data.(type) {
		case stackRef:
			return NavigateWith(StackDetailKind, d)
		case fleet.Result[[]stacks.Summary]:
			return ReportError(fmt.Errorf("%s: %s — press R to retry", d.Target, awsx.Summary(d.Err)))
		}
	}
	return nil
}

func (s *stacksScreen) View() string {
	st := s.ctx.Styles
	head := st.Title.Render("Stacks") + st.Muted.Render(" · "+s.sel)
	var prog string
	switch {
	case s.selErr != nil:
		prog = st.Bad.Render(s.selErr.Error())
	case s.loading:
		prog = fmt.Sprintf("%s %d/%d targets", s.spin.View(), s.answered, s.total)
	default:
		prog = fmt.Sprintf("%d/%d targets", s.answered, s.total)
	}
	if s.failed > 0 {
		prog += " · " + st.Bad.Render(fmt.Sprintf("%d failed", s.failed))
	}
	prog += st.Muted.Render(fmt.Sprintf(" · %d stacks", s.nStacks))
	if f := s.tbl.Filter(); f != "" {
		prog += st.Muted.Render(fmt.Sprintf(" · %d match /%s", s.tbl.Visible(), f))
	}
	return head + "  " + prog + "\n\n" + s.tbl.View()
}

// statusStyle colours a stack status by class.
func statusStyle(st *Styles, status string) (lipgloss.Style, bool) {
	switch stacks.Class(status) {
	case "complete":
		return st.Good, true
	case "progress":
		return st.Info, true
	case "failed":
		return st.Bad, true
	case "rollback":
		return st.Warn, true
	case "deleted":
		return st.Muted, true
	}
	return lipgloss.Style{}, false
}

func (s *stacksScreen) cellStyle(r *table.Row, col int) (lipgloss.Style, bool) {
	if _, failed := r.Data.(fleet.Result[[]stacks.Summary]); failed {
		if col == 2 || col == 3 {
			return s.ctx.Styles.Bad, true
		}
		return lipgloss.Style{}, false
	}
	switch col {
	case 0:
		if a := s.ctx.Config.Account(r.Cells[0]); a != nil && a.Env() != nil && a.Env().Level() > 0 {
			return lipgloss.NewStyle().Foreground(s.ctx.Styles.EnvColor(a)), true
		}
	case 3:
		return statusStyle(s.ctx.Styles, r.Cells[3])
	case 5:
		if r.Cells[5] == "DRIFTED" {
			return s.ctx.Styles.Warn, true
		}
	}
	return lipgloss.Style{}, false
}

// age says how long ago t was, compactly: 42s, 5m, 3h, 2d.
func age(now, t time.Time) string {
	if t.IsZero() {
		return ""
	}
	d := now.Sub(t)
	switch {
	case d < 0:
		return "now"
	case d < time.Minute:
		return fmt.Sprintf("%ds", int(d.Seconds()))
	case d < time.Hour:
		return fmt.Sprintf("%dm", int(d.Minutes()))
	case d < 48*time.Hour:
		return fmt.Sprintf("%dh", int(d.Hours()))
	}
	return fmt.Sprintf("%dd", int(d.Hours()/24))
}
