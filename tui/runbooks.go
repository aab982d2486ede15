package tui

import (
	"context"
	"fmt"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"
	"charm.land/lipgloss/v2"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/charmbracelet/x/ansi"

	"github.com/opsdeck/opsdeck/ops/runbook"
	"github.com/opsdeck/opsdeck/ops/runbook/awsops"
	"github.com/opsdeck/opsdeck/profiles"
	"github.com/opsdeck/opsdeck/tui/table"
)

func init() {
	register(screenSpec{Kind: RunbooksKind, Command: "runbooks", Aliases: []string{"runbook", "dr"},
		Help: "DR runbooks: r runs in the current account, R resumes its last run, p pauses", New: newRunbooks})
}

type runbookKeys struct {
	listKeys
	Run, Resume, Pause key.Binding
}

// runState is one run as the screen follows it.
type runState struct {
	rb      *runbook.Runbook
	journal string
	account string
	status  map[string]runbook.Event // step id -> its last event
	current string
	started time.Time
	done    bool
	err     error
	cancel  context.CancelFunc
	// manual is the manual step waiting for the operator, with where to
	// send the note.
	manual *manualAsk
	// objectives are the report's RTO/RPO rows once the run ends.
	objectives []string
}

type manualAsk struct {
	step         runbook.Step
	instructions string
	reply        chan string
}

type runbookEventMsg struct {
	ev runbook.Event
	ch <-chan tea.Msg
}

type runbookDoneMsg struct {
	err error
}

type runbookManualMsg struct {
	ask manualAsk
	ch  <-chan tea.Msg
}

type runbooksScreen struct {
	ctx  *Context
	tbl  *table.Model
	keys runbookKeys
	rbs  []*runbook.Runbook
	run  *runState
	edit lineEdit
	// asking holds the runbook whose parameters are being edited before
	// a run ("db=app-db image=golden-base …").
	asking *runbook.Runbook
	w, h   int
}

var runbookCols = []table.Column{
	{Title: "RUNBOOK", Width: 18}, {Title: "RTO", Width: 5}, {Title: "RPO", Width: 5}, {Title: "STEPS", Width: 5},
	{Title: "TARGETS", Width: 26, Drop: 1}, {Title: "DESCRIPTION", Width: 30, Flex: true},
}

func newRunbooks(c *Context) Screen {
	s := &runbooksScreen{ctx: c, keys: runbookKeys{listKeys: newListKeys(),
		Run:    key.NewBinding(key.WithKeys("r", "enter"), key.WithHelp("r", "run in the current account")),
		Resume: key.NewBinding(key.WithKeys("R"), key.WithHelp("R", "resume the last unfinished run")),
		Pause:  key.NewBinding(key.WithKeys("p"), key.WithHelp("p", "pause (the step in flight is re-checked on resume)")),
	}}
	s.tbl = table.New(runbookCols, c.Styles.Table)
	s.tbl.SetNaturalOrder(true)
	rbs, err := runbook.Shipped(nil)
	if err != nil {
		s.run = &runState{err: err}
	}
	s.rbs = rbs
	rows := make([]table.Row, len(rbs))
	for i, r := range rbs {
		rows[i] = table.Row{Key: r.Name, Data: r, Cells: []string{r.Name, r.Objectives.RTO, r.Objectives.RPO, fmt.Sprint(len(r.Steps)),
			r.Targets.Select + " " + r.Targets.Primary + "→" + r.Targets.DR, r.Description}}
	}
	s.tbl.SetRows(rows)
	return s
}

func (s *runbooksScreen) Title() string { return "Runbooks" }
func (s *runbooksScreen) Keys() []key.Binding {
	if s.ctx.ReadOnly {
		return nil
	}
	return []key.Binding{s.keys.Run, s.keys.Resume, s.keys.Pause}
}
func (s *runbooksScreen) SetFilter(f string) { s.tbl.SetFilter(f) }
func (s *runbooksScreen) Filter() string     { return s.tbl.Filter() }
func (s *runbooksScreen) SetSize(w, h int) {
	s.w, s.h = w, h
	s.tbl.SetSize(w, max(3, min(len(s.rbs)+2, h/3)))
}
func (s *runbooksScreen) Init() tea.Cmd { return nil }

// Capturing: a manual step's note takes every key.
func (s *runbooksScreen) Capturing() bool {
	return s.asking != nil || (s.run != nil && s.run.manual != nil)
}

func (s *runbooksScreen) Update(msg tea.Msg) tea.Cmd {
	switch msg := msg.(type) {
	case runbookEventMsg:
		r := s.run
		r.status[msg.ev.Step.ID] = msg.ev
		r.current = msg.ev.Step.ID
		return listenRunbook(msg.ch)
	case runbookManualMsg:
		s.run.manual, s.edit = &msg.ask, lineEdit{}
		return listenRunbook(msg.ch)
	case runbookDoneMsg:
		r := s.run
		r.done, r.err, r.manual = true, msg.err, nil
		if st, err := runbook.Read(r.journal); err == nil {
			if rep, err := runbook.Report(st); err == nil {
				r.objectives = objectivesOf(rep)
			}
		}
		if msg.err != nil {
			return ReportError(fmt.Errorf("%s: %w — resume it with R (or `opsdeck runbook resume %s`)", r.rb.Name, msg.err, r.journal))
		}
		return ReportInfo(r.rb.Name + " finished; evidence: opsdeck runbook report " + r.journal)
	case tea.KeyPressMsg:
		if s.asking != nil {
			return s.paramsKey(msg)
		}
		if s.Capturing() {
			return s.manualKey(msg)
		}
		if s.keys.navigate(s.tbl, len(runbookCols), msg) {
			return nil
		}
		switch {
		case s.ctx.ReadOnly:
			return nil
		case key.Matches(msg, s.keys.Pause):
			if s.run != nil && !s.run.done && s.run.cancel != nil {
				s.run.cancel()
			}
			return nil
		case s.run != nil && !s.run.done && s.run.cancel != nil:
			return ReportError(fmt.Errorf("%s is running: p pauses it", s.run.rb.Name))
		case key.Matches(msg, s.keys.Run):
			if row := s.tbl.Selected(); row != nil {
				rb := row.Data.(*runbook.Runbook)
				s.asking, s.edit = rb, lineEdit{value: defaultParams(rb)}
			}
			return nil
		case key.Matches(msg, s.keys.Resume):
			return s.start(true, nil)
		}
	}
	return nil
}

// defaultParams is the parameter line a run starts from.
func defaultParams(rb *runbook.Runbook) string {
	parts := make([]string, 0, len(rb.Params))
	for _, p := range rb.Params {
		v := ""
		if p.Default != nil {
			v = *p.Default
		}
		parts = append(parts, p.Name+"="+v)
	}
	return strings.Join(parts, " ")
}

func (s *runbooksScreen) paramsKey(k tea.KeyPressMsg) tea.Cmd {
	switch k.String() {
	case "esc":
		s.asking, s.edit = nil, lineEdit{}
	case "enter":
		given := map[string]string{}
		for _, f := range strings.Fields(s.edit.value) {
			k, v, ok := strings.Cut(f, "=")
			if !ok {
				return ReportError(fmt.Errorf("%q: write name=value pairs separated by spaces", f))
			}
			given[k] = v
		}
		params, err := s.asking.Resolve(given)
		if err != nil {
			return ReportError(err)
		}
		s.asking = nil
		return s.start(false, params)
	default:
		s.edit.handle(k)
	}
	return nil
}

func (s *runbooksScreen) manualKey(k tea.KeyPressMsg) tea.Cmd {
	m := s.run.manual
	switch k.String() {
	case "esc":
		s.run.manual = nil
		m.reply <- "" // not confirmed: the step fails and the run can resume
	case "enter":
		if strings.TrimSpace(s.edit.value) == "" {
			return ReportError(fmt.Errorf("say what you did (one line), then enter; esc leaves the step unconfirmed"))
		}
		s.run.manual = nil
		m.reply <- strings.TrimSpace(s.edit.value)
	default:
		s.edit.handle(k)
	}
	return nil
}

func listenRunbook(ch <-chan tea.Msg) tea.Cmd {
	return func() tea.Msg {
		m, ok := <-ch
		if !ok {
			return nil
		}
		switch m := m.(type) {
		case runbook.Event:
			return runbookEventMsg{ev: m, ch: ch}
		case manualAsk:
			return runbookManualMsg{ask: m, ch: ch}
		}
		return m
	}
}

// start runs the selected runbook in the current account (or resumes its
// newest unfinished run there).
func (s *runbooksScreen) start(resume bool, params map[string]string) tea.Cmd {
	row := s.tbl.Selected()
	if row == nil {
		return nil
	}
	rb := row.Data.(*runbook.Runbook)
	c := s.ctx
	a := c.Identity.Account
	if a == nil {
		return ReportError(fmt.Errorf("no current account: switch to one of %s's targets (%s) first", rb.Name, rb.Targets.Select))
	}
	if sel, err := profiles.ParseSelector(rb.Targets.Select); err != nil || !sel.Match(a) {
		return ReportError(fmt.Errorf("%s is not one of %s's targets (%s): switch account with :accounts", a.Name, rb.Name, rb.Targets.Select))
	}
	var j *runbook.Journal
	if resume {
		path, err := lastUnfinished(rb.Name, a.Name)
		if err != nil {
			return ReportError(err)
		}
		j = &runbook.Journal{Path: path}
	} else {
		j = runbook.NewJournal(runbook.Dir(), rb.Name, c.Now())
	}
	role := c.Identity.Role
	ch := make(chan tea.Msg, 64)
	ctx, cancel := context.WithCancel(c.Ctx)
	s.run = &runState{rb: rb, journal: j.Path, account: a.Name, status: map[string]runbook.Event{}, started: c.Now(), cancel: cancel}
	if resume {
		if st, err := runbook.Read(j.Path); err == nil {
			s.run.started = st.Start.At
			for id, d := range st.Done {
				s.run.status[id] = runbook.Event{Step: runbook.Step{ID: id}, Status: "done", Outputs: d.Outputs}
			}
		}
	}
	x := &awsops.Executor{Account: a, Role: role, Operator: c.Config.Operator.Name, Plans: c.runner(), Template: awsops.FileTemplate,
		Configs: func(ctx context.Context, region string) (aws.Config, error) {
			cfg, _, err := c.Broker.Config(ctx, a, role, region)
			return cfg, err
		},
		Manual: func(ctx context.Context, st runbook.Step, instructions string) (string, error) {
			reply := make(chan string, 1)
			ch <- manualAsk{step: st, instructions: instructions, reply: reply}
			select {
			case note := <-reply:
				if note == "" {
					return "", fmt.Errorf("manual step %s was not confirmed", st.ID)
				}
				return note, nil
			case <-ctx.Done():
				return "", ctx.Err()
			}
		}}
	r := &runbook.Runner{Exec: x, Operator: c.Config.Operator.Name, Account: a.Name, OnEvent: func(ev runbook.Event) { ch <- ev }}
	run := func() tea.Msg {
		defer cancel()
		var err error
		if resume {
			err = r.Resume(ctx, j, c.Config)
		} else {
			err = r.Start(ctx, rb, params, j)
		}
		close(ch)
		return runbookDoneMsg{err: err}
	}
	return tea.Batch(run, listenRunbook(ch))
}

// lastUnfinished is the newest journal of runbook name in account that
// has not finished.
func lastUnfinished(name, account string) (string, error) {
	paths, _ := filepath.Glob(filepath.Join(runbook.Dir(), name+"-*.jsonl"))
	sort.Sort(sort.Reverse(sort.StringSlice(paths)))
	for _, p := range paths {
		if st, err := runbook.Read(p); err == nil && st.Finished == nil && st.Start.Account == account {
			return p, nil
		}
	}
	return "", fmt.Errorf("no unfinished run of %s in %s (journals in %s)", name, account, runbook.Dir())
}

var stepIcons = map[string]string{"running": "◐", "done": "✓", "failed": "✗", "skipped": "–", "retrying": "↻"}

func (s *runbooksScreen) View() string {
	st := s.ctx.Styles
	var b strings.Builder
	b.WriteString(st.Title.Render("Runbooks") + st.Muted.Render(" · shipped") + "\n\n" + s.tbl.View() + "\n")
	if s.asking != nil {
		b.WriteString("\n" + st.Title.Render("run "+s.asking.Name+" in "+s.accountName()) + "\n" + st.Muted.Render("parameters: ") + s.edit.value + "█\n" +
			st.Muted.Render("enter runs (every action asks its guard) · esc cancels") + "\n")
		for _, p := range s.asking.Params {
			b.WriteString(st.Key.Render(fmt.Sprintf("  %-20s", p.Name)) + st.Muted.Render(p.Type+" · "+p.Description) + "\n")
		}
		return b.String()
	}
	r := s.run
	if r == nil || r.rb == nil {
		if r != nil && r.err != nil {
			b.WriteString(st.Bad.Render("✗ "+errorText(r.err)) + "\n")
		}
		b.WriteString(st.Muted.Render("\nr runs the selected runbook in the current account (every action asks its guard); R resumes its last unfinished run."))
		return b.String()
	}
	rto, _ := r.rb.Objectives.Durations()
	elapsed := s.ctx.Now().Sub(r.started).Round(time.Second)
	clock := fmt.Sprintf("%s of RTO %s", elapsed, rto)
	clockSt := st.Good
	switch {
	case elapsed > rto:
		clockSt = st.Bad
	case elapsed > rto*3/4:
		clockSt = st.Warn
	}
	state := "running"
	switch {
	case r.done && r.err == nil:
		state = "finished"
	case r.done:
		state = "stopped: " + errorText(r.err)
	}
	b.WriteString("\n" + st.Title.Render(r.rb.Name) + st.Muted.Render(" in "+r.account+" · ") + clockSt.Render(clock) + st.Muted.Render(" · "+state) + "\n")
	// What needs the operator comes first: a manual step, then the verdicts.
	if m := r.manual; m != nil {
		box := lipgloss.NewStyle().Border(lipgloss.RoundedBorder()).BorderForeground(st.Warn.GetForeground()).Padding(0, 1).Width(min(s.w-2, 100))
		b.WriteString(box.Render(st.Warn.Render("MANUAL: "+m.step.Title)+"\n"+m.instructions+"\n\n"+
			"what did you do? "+s.edit.value+"█\n"+st.Muted.Render("enter confirms · esc leaves it unconfirmed (the run stops; R resumes)")) + "\n")
	}
	if len(r.objectives) > 0 {
		b.WriteString(st.Title.Render("report") + st.Muted.Render(" · full evidence: opsdeck runbook report "+r.journal) + "\n")
		for _, o := range r.objectives {
			line := o
			if strings.Contains(o, "**missed**") {
				line = st.Bad.Render(strings.ReplaceAll(o, "**", ""))
			}
			b.WriteString(line + "\n")
		}
	}
	var tail strings.Builder
	if ev, ok := r.status[r.current]; ok {
		tail.WriteString("\n" + ansi.Truncate(st.Muted.Render("step "+ev.Step.ID+": ")+runbook.Pairs(ev.Inputs), max(20, s.w-1), "…") + "\n")
		if len(ev.Outputs) > 0 {
			tail.WriteString(ansi.Truncate(st.Muted.Render("  → ")+runbook.Pairs(ev.Outputs), max(20, s.w-1), "…") + "\n")
		}
	}
	// The steps get the rest of the height, as a window around the current.
	room := s.h - lipgloss.Height(b.String()) - lipgloss.Height(tail.String())
	from, to := 0, len(r.rb.Steps)
	if room < to && room > 0 {
		cur := 0
		for i, step := range r.rb.Steps {
			if step.ID == r.current {
				cur = i
			}
		}
		from = max(0, min(cur-room/2, to-room))
		to = from + room
	}
	for i := from; i < to; i++ {
		step := r.rb.Steps[i]
		ev, seen := r.status[step.ID]
		icon, style := "·", st.Muted
		if seen {
			icon = stepIcons[ev.Status]
			switch ev.Status {
			case "done":
				style = st.Good
			case "failed":
				style = st.Bad
			case "running", "retrying":
				style = st.Info
			}
		}
		line := fmt.Sprintf("%s %2d. %-16s %s", icon, i+1, step.ID, step.Title)
		if seen && ev.Err != nil {
			line += " — " + errorText(ev.Err)
		}
		b.WriteString(style.Render(ansi.Truncate(line, max(20, s.w-1), "…")) + "\n")
	}
	b.WriteString(tail.String())
	return b.String()
}

func (s *runbooksScreen) accountName() string {
	if a := s.ctx.Identity.Account; a != nil {
		return a.Name
	}
	return "(no account)"
}

// objectivesOf picks the RTO and RPO rows out of a report, as plain text.
func objectivesOf(report string) []string {
	var out []string
	for _, l := range strings.Split(report, "\n") {
		if strings.HasPrefix(l, "| RTO |") || strings.HasPrefix(l, "| RPO |") {
			cells := strings.Split(strings.Trim(l, "| "), " | ")
			out = append(out, strings.Join(cells, "  "))
		}
	}
	return out
}
