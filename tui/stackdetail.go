package tui

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"charm.land/bubbles/v2/key"
	"charm.land/bubbles/v2/spinner"
	tea "charm.land/bubbletea/v2"
	"charm.land/lipgloss/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/opsdeck/opsdeck/ops/awsx"
	"github.com/opsdeck/opsdeck/ops/stacks"
	"github.com/opsdeck/opsdeck/tui/table"
)

func init() {
	register(screenSpec{Kind: StackDetailKind, Fresh: true, New: newStackDetail})
}

// The detail tabs, in order.
const (
	tabResources = iota
	tabEvents
	tabOutputs
	tabParameters
	tabTemplate
	tabDrift
	nTabs
)

var tabNames = [nTabs]string{"Resources", "Events", "Outputs", "Parameters", "Template", "Drift"}

// eventRefresh is how often events are re-read while a stack is in
// progress.
const eventRefresh = 5 * time.Second

type detailKeys struct {
	Next, Prev, Up, Down, Drift, Reload key.Binding
}

type stackDetail struct {
	ctx  *Context
	ref  stackRef
	keys detailKeys
	spin spinner.Model
	w, h int
	tab  int

	api     stacks.API
	reqID   int
	loading bool
	err     error
	det     *stacks.Detail
	tpl     []string
	tplTop  int
	cursor  string // newest event id
	tables  [nTabs]*table.Model

	drifting    bool
	driftStatus string
	driftErr    error
	drift       *stacks.DriftReport
}

func newStackDetail(c *Context) Screen {
	d := &stackDetail{ctx: c, spin: spinner.New(spinner.WithSpinner(spinner.MiniDot)), keys: detailKeys{
		Next:   key.NewBinding(key.WithKeys("tab", "right", "l"), key.WithHelp("tab/→", "next tab")),
		Prev:   key.NewBinding(key.WithKeys("shift+tab", "left", "h"), key.WithHelp("⇧tab/←", "previous tab")),
		Up:     key.NewBinding(key.WithKeys("up", "k"), key.WithHelp("↑/k", "up")),
		Down:   key.NewBinding(key.WithKeys("down", "j"), key.WithHelp("↓/j", "down")),
		Drift:  key.NewBinding(key.WithKeys("d"), key.WithHelp("d", "detect drift")),
		Reload: key.NewBinding(key.WithKeys("ctrl+r", "R"), key.WithHelp("R", "reload")),
	}}
	st := c.Styles.Table
	d.tables[tabResources] = table.New([]table.Column{{Title: "LOGICAL ID", Width: 22}, {Title: "TYPE", Width: 26, Drop: 1},
		{Title: "PHYSICAL ID", Width: 20, Flex: true}, {Title: "STATUS", Width: 20}, {Title: "DRIFT", Width: 10, Drop: 2}}, st)
	d.tables[tabEvents] = table.New([]table.Column{{Title: "AGE", Width: 5}, {Title: "RESOURCE", Width: 22},
		{Title: "STATUS", Width: 24}, {Title: "REASON", Width: 20, Flex: true}}, st)
	d.tables[tabOutputs] = table.New([]table.Column{{Title: "KEY", Width: 22}, {Title: "VALUE", Width: 30, Flex: true}, {Title: "EXPORT", Width: 16, Drop: 1}}, st)
	d.tables[tabParameters] = table.New([]table.Column{{Title: "KEY", Width: 22}, {Title: "VALUE", Width: 30, Flex: true}}, st)
	for _, t := range d.tables {
		if t != nil {
			t.SetStyler(d.cellStyle)
			t.SetEmptyMessage("none")
		}
	}
	return d
}

func (d *stackDetail) Title() string { return "Stack" }
func (d *stackDetail) Keys() []key.Binding {
	return []key.Binding{d.keys.Next, d.keys.Drift, d.keys.Reload}
}

func (d *stackDetail) SetFilter(f string) {
	if t := d.tables[d.tab]; t != nil {
		t.SetFilter(f)
	}
}

func (d *stackDetail) Filter() string {
	if t := d.tables[d.tab]; t != nil {
		return t.Filter()
	}
	return ""
}

func (d *stackDetail) SetSize(w, h int) {
	d.w, d.h = w, h
	for _, t := range d.tables {
		if t != nil {
			t.SetSize(w, max(2, h-4))
		}
	}
}

func (d *stackDetail) Init() tea.Cmd { return nil }

// SetParams takes the stackRef to show and starts loading it.
func (d *stackDetail) SetParams(p any) tea.Cmd {
	ref, ok := p.(stackRef)
	if !ok {
		return nil
	}
	d.ref = ref
	return d.load()
}

type detailLoadedMsg struct {
	reqID  int
	api    stacks.API
	det    *stacks.Detail
	res    []stacks.Resource
	events []stacks.Event
	tpl    string
	err    error
}

type eventsTickMsg struct{ reqID int }

type eventsMsg struct {
	reqID  int
	det    *stacks.Detail
	events []stacks.Event
	err    error
}

type driftProgressMsg struct {
	reqID  int
	status string
	ch     <-chan string
}

type driftDoneMsg struct {
	reqID int
	rep   *stacks.DriftReport
	err   error
}

// role is the current identity's role when it is this account, so the
// operator sees the stack as they are acting; else the account default.
func (d *stackDetail) role() string {
	if id := d.ctx.Identity; id.Account == d.ref.Target.Account {
		return id.Role
	}
	return ""
}

func (d *stackDetail) load() tea.Cmd {
	d.reqID++
	d.loading, d.err = true, nil
	id, ref, b, ctx, factory, role := d.reqID, d.ref, d.ctx.Broker, d.ctx.Ctx, d.ctx.Stacks, d.role()
	load := func() tea.Msg {
		cctx, cancel := context.WithTimeout(ctx, time.Minute)
		defer cancel()
		cfg, _, err := b.Config(cctx, ref.Target.Account, role, ref.Target.Region)
		if err != nil {
			return detailLoadedMsg{reqID: id, err: err}
		}
		api := stacks.New(cfg)
		if factory != nil {
			api = factory(cfg, ref.Target)
		}
		msg := detailLoadedMsg{reqID: id, api: api}
		if msg.det, msg.err = stacks.Describe(cctx, api, ref.Name); msg.err != nil {
			return msg
		}
		if msg.res, msg.err = stacks.Resources(cctx, api, ref.Name); msg.err != nil {
			return msg
		}
		if msg.events, msg.err = stacks.Events(cctx, api, ref.Name, "", 100); msg.err != nil {
			return msg
		}
		msg.tpl, msg.err = stacks.Template(cctx, api, ref.Name)
		return msg
	}
	return tea.Batch(load, d.spin.Tick)
}

func (d *stackDetail) Update(msg tea.Msg) tea.Cmd {
	switch msg := msg.(type) {
	case detailLoadedMsg:
		if msg.reqID != d.reqID {
			return nil
		}
		d.loading = false
		if msg.err != nil {
			d.err = msg.err
			return nil
		}
		d.api, d.det = msg.api, msg.det
		d.setResources(msg.res)
		d.setEvents(msg.events, false)
		d.setKV(msg.det)
		d.tpl = strings.Split(strings.TrimRight(msg.tpl, "\n"), "\n")
		return d.maybeRefresh()
	case eventsTickMsg:
		if msg.reqID != d.reqID || d.api == nil {
			return nil
		}
		api, name, since, id, ctx := d.api, d.ref.Name, d.cursor, d.reqID, d.ctx.Ctx
		return func() tea.Msg {
			det, err := stacks.Describe(ctx, api, name)
			if err != nil {
				return eventsMsg{reqID: id, err: err}
			}
			evs, err := stacks.Events(ctx, api, name, since, 0)
			return eventsMsg{reqID: id, det: det, events: evs, err: err}
		}
	case eventsMsg:
		if msg.reqID != d.reqID {
			return nil
		}
		if msg.err != nil {
			return ReportError(fmt.Errorf("%s: refresh events: %s", d.ref.Name, awsx.Summary(msg.err)))
		}
		d.det = msg.det
		d.setEvents(msg.events, true)
		return d.maybeRefresh()
	case driftProgressMsg:
		if msg.reqID != d.reqID {
			return nil
		}
		d.driftStatus = msg.status
		return listenDrift(msg.reqID, msg.ch)
	case driftDoneMsg:
		if msg.reqID != d.reqID {
			return nil
		}
		d.drifting = false
		d.drift, d.driftErr = msg.rep, msg.err
		return nil
	case spinner.TickMsg:
		if !d.loading && !d.drifting {
			return nil
		}
		var cmd tea.Cmd
		d.spin, cmd = d.spin.Update(msg)
		return cmd
	case tea.KeyPressMsg:
		return d.key(msg)
	}
	return nil
}

// maybeRefresh schedules another events read while the stack is moving.
func (d *stackDetail) maybeRefresh() tea.Cmd {
	if d.det == nil || stacks.Terminal(d.det.Status) {
		return nil
	}
	id := d.reqID
	return tea.Tick(eventRefresh, func(time.Time) tea.Msg { return eventsTickMsg{id} })
}

func (d *stackDetail) key(k tea.KeyPressMsg) tea.Cmd {
	switch {
	case key.Matches(k, d.keys.Next):
		d.tab = (d.tab + 1) % nTabs
	case key.Matches(k, d.keys.Prev):
		d.tab = (d.tab + nTabs - 1) % nTabs
	case len(k.Text) == 1 && k.Text[0] >= '1' && k.Text[0] <= '6':
		d.tab = int(k.Text[0] - '1')
	case key.Matches(k, d.keys.Up):
		d.scroll(-1)
	case key.Matches(k, d.keys.Down):
		d.scroll(1)
	case k.String() == "pgdown":
		d.scroll(max(1, d.h-5))
	case k.String() == "pgup":
		d.scroll(-max(1, d.h-5))
	case key.Matches(k, d.keys.Reload):
		return d.load()
	case key.Matches(k, d.keys.Drift):
		d.tab = tabDrift
		return d.startDrift()
	}
	return nil
}

func (d *stackDetail) scroll(n int) {
	if t := d.tables[d.tab]; t != nil {
		t.Move(n)
		return
	}
	if d.tab == tabTemplate {
		d.tplTop = max(0, min(d.tplTop+n, len(d.tpl)-1))
	}
}

func (d *stackDetail) startDrift() tea.Cmd {
	if d.drifting || d.api == nil {
		return nil
	}
	d.drifting, d.drift, d.driftErr, d.driftStatus = true, nil, nil, "starting"
	progress := make(chan string, 16)
	api, name, id, ctx := d.api, d.ref.Name, d.reqID, d.ctx.Ctx
	run := func() tea.Msg {
		defer close(progress)
		rep, err := stacks.Drift(ctx, api, name, stacks.DriftOptions{Progress: func(s string) {
			select {
			case progress <- s:
			default:
			}
		}})
		return driftDoneMsg{reqID: id, rep: rep, err: err}
	}
	return tea.Batch(run, listenDrift(id, progress), d.spin.Tick)
}

func listenDrift(id int, ch <-chan string) tea.Cmd {
	return func() tea.Msg {
		s, ok := <-ch
		if !ok {
			return nil
		}
		return driftProgressMsg{reqID: id, status: s, ch: ch}
	}
}

func (d *stackDetail) setResources(res []stacks.Resource) {
	rows := make([]table.Row, len(res))
	for i, r := range res {
		rows[i] = table.Row{Key: r.LogicalID, Cells: []string{r.LogicalID, r.Type, r.PhysicalID, r.Status, r.Drift}}
	}
	d.tables[tabResources].SetRows(rows)
}

// setEvents shows events newest first; with prepend, evs are newer than
// what is shown and go on top.
func (d *stackDetail) setEvents(evs []stacks.Event, prepend bool) {
	rows := make([]table.Row, 0, len(evs))
	for _, e := range evs {
		rows = append(rows, table.Row{Key: e.ID, Data: e, Cells: []string{age(d.ctx.Now(), e.Time), e.LogicalID, e.Status, e.Reason}})
	}
	if len(evs) > 0 {
		d.cursor = evs[0].ID
	}
	t := d.tables[tabEvents]
	if prepend {
		old := t.VisibleRows()
		for _, r := range old {
			rows = append(rows, *r)
		}
	}
	t.SetRows(rows)
}

func (d *stackDetail) setKV(det *stacks.Detail) {
	outs := make([]table.Row, len(det.Outputs))
	for i, o := range det.Outputs {
		outs[i] = table.Row{Key: o.Key, Cells: []string{o.Key, o.Value, o.Export}}
	}
	d.tables[tabOutputs].SetRows(outs)
	params := make([]table.Row, len(det.Parameters))
	for i, p := range det.Parameters {
		params[i] = table.Row{Key: p.Key, Cells: []string{p.Key, p.Value}}
	}
	d.tables[tabParameters].SetRows(params)
}

func (d *stackDetail) View() string {
	st := d.ctx.Styles
	t := d.ref.Target
	head := st.Muted.Render(t.Account.Name+"/"+t.Region+" › ") + st.Title.Render(d.ref.Name)
	if d.det != nil {
		stl, _ := statusStyle(st, d.det.Status)
		head += "  " + stl.Render(d.det.Status) + st.Muted.Render(fmt.Sprintf("  updated %s ago · drift %s", age(d.ctx.Now(), d.det.LastChange()), d.det.Drift))
		if !stacks.Terminal(d.det.Status) {
			head += st.Info.Render(fmt.Sprintf("  ⟳ events every %s", eventRefresh))
		}
	}
	var tabs []string
	for i, n := range tabNames {
		label := fmt.Sprintf(" %d %s", i+1, n)
		if tb := d.tables[i]; tb != nil && d.det != nil {
			label += fmt.Sprintf(" (%d)", tb.Len())
		}
		label += " "
		if i == d.tab {
			tabs = append(tabs, st.Table.Selected.Render(label))
		} else {
			tabs = append(tabs, st.Muted.Render(label))
		}
	}
	body := ""
	switch {
	case d.loading:
		body = d.spin.View() + " loading " + d.ref.Name + "…"
	case d.err != nil:
		body = st.Bad.Render("✗ "+awsx.Summary(d.err)) + "\n" + st.Muted.Render("R retries · esc goes back")
	case d.tables[d.tab] != nil:
		body = d.tables[d.tab].View()
	case d.tab == tabTemplate:
		body = d.templateView()
	case d.tab == tabDrift:
		body = d.driftView()
	}
	return head + "\n" + strings.Join(tabs, "") + "\n\n" + body
}

func (d *stackDetail) templateView() string {
	h := max(1, d.h-4)
	end := min(len(d.tpl), d.tplTop+h)
	lines := make([]string, 0, h)
	for i := d.tplTop; i < end; i++ {
		lines = append(lines, d.ctx.Styles.Muted.Render(fmt.Sprintf("%4d ", i+1))+ansi.Truncate(d.tpl[i], d.w-5, "…"))
	}
	return strings.Join(lines, "\n")
}

func (d *stackDetail) driftView() string {
	st := d.ctx.Styles
	switch {
	case d.drifting:
		return fmt.Sprintf("%s detecting drift… %s", d.spin.View(), strings.ToLower(strings.ReplaceAll(d.driftStatus, "_", " ")))
	case d.driftErr != nil:
		msg := awsx.Summary(d.driftErr)
		if errors.Is(d.driftErr, stacks.ErrDriftUnavailable) {
			msg = "drift detection is not available on this endpoint (the emulator lacks it)"
		}
		return st.Bad.Render("✗ "+msg) + "\n" + st.Muted.Render("d tries again")
	case d.drift == nil:
		return st.Muted.Render("press d to detect drift: CloudFormation compares every resource with the template")
	}
	r := d.drift
	stl := st.Good
	if r.Status == "DRIFTED" {
		stl = st.Warn
	}
	lines := []string{stl.Render(r.Status) + st.Muted.Render(fmt.Sprintf(" · %d drifted of %d · checked %s ago", r.Drifted, len(r.Resources), age(d.ctx.Now(), r.Checked))), ""}
	for _, res := range r.Resources {
		rs := st.Good
		if res.Status != "IN_SYNC" {
			rs = st.Warn
		}
		lines = append(lines, rs.Render(fmt.Sprintf("%-10s", res.Status))+" "+res.LogicalID+st.Muted.Render("  "+res.Type+"  "+res.PhysicalID))
		for _, df := range res.Diffs {
			lines = append(lines, fmt.Sprintf("    %s %s", lipgloss.NewStyle().Bold(true).Render(df.Kind), df.Path))
			lines = append(lines, st.Bad.Render("      - expected: ")+orNone(df.Expected))
			lines = append(lines, st.Good.Render("      + actual:   ")+orNone(df.Actual))
		}
	}
	return strings.Join(lines, "\n")
}

func orNone(s string) string {
	if s == "" {
		return "(none)"
	}
	return s
}

func (d *stackDetail) cellStyle(r *table.Row, col int) (lipgloss.Style, bool) {
	switch d.tab {
	case tabResources:
		if col == 3 {
			return statusStyle(d.ctx.Styles, r.Cells[3])
		}
		if col == 4 && r.Cells[4] != "" && r.Cells[4] != "IN_SYNC" && r.Cells[4] != "NOT_CHECKED" {
			return d.ctx.Styles.Warn, true
		}
	case tabEvents:
		if col == 2 {
			return statusStyle(d.ctx.Styles, r.Cells[2])
		}
	}
	return lipgloss.Style{}, false
}
