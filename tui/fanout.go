package tui

import (
	"context"
	"fmt"

	"charm.land/bubbles/v2/spinner"
	tea "charm.land/bubbletea/v2"

	"github.com/opsdeck/opsdeck/ops/awsx"
	"github.com/opsdeck/opsdeck/ops/fleet"
	"github.com/opsdeck/opsdeck/tui/table"
)

// fanout is the part every "list across accounts × regions" screen
// shares: it runs a fleet fan-out, turns each target's answer into rows as
// it arrives, keeps failed targets visible as rows with their error, and
// counts progress for the title line.
type fanout struct {
	owner    Kind
	tbl      *table.Model
	spin     spinner.Model
	reqID    int
	cancel   context.CancelFunc
	total    int
	answered int
	failed   int
	items    int
	loading  bool
	// errRow builds the row shown for a failed target.
	errRow func(t fleet.Target, summary string) table.Row
}

type fanRowsMsg struct {
	owner Kind
	reqID int
	rows  []table.Row
	err   bool
	next  tea.Cmd
}

type fanDoneMsg struct {
	owner Kind
	reqID int
}

func newFanout(owner Kind, tbl *table.Model, errRow func(fleet.Target, string) table.Row) *fanout {
	return &fanout{owner: owner, tbl: tbl, errRow: errRow, spin: spinner.New(spinner.WithSpinner(spinner.MiniDot))}
}

// runFan starts fn over targets; toRows turns one target's value into rows.
func runFan[T any](f *fanout, c *Context, targets []fleet.Target, fn fleet.Func[T], toRows func(fleet.Target, T) []table.Row) tea.Cmd {
	if f.cancel != nil {
		f.cancel() // the previous fan-out stops; late answers are dropped by reqID
	}
	f.reqID++
	f.tbl.SetRows(nil)
	f.total, f.answered, f.failed, f.items, f.loading = len(targets), 0, 0, 0, true
	ctx, cancel := context.WithCancel(c.Ctx)
	f.cancel = cancel
	ch := fleet.Stream(ctx, c.Broker, targets, fleet.Options{Concurrency: 16}, fn)
	id, owner := f.reqID, f.owner
	var next tea.Cmd
	next = func() tea.Msg {
		r, ok := <-ch
		if !ok {
			return fanDoneMsg{owner: owner, reqID: id}
		}
		if r.Err != nil {
			return fanRowsMsg{owner: owner, reqID: id, err: true, rows: []table.Row{f.errRow(r.Target, awsx.Summary(r.Err))}, next: next}
		}
		return fanRowsMsg{owner: owner, reqID: id, rows: toRows(r.Target, r.Value), next: next}
	}
	return tea.Batch(next, f.spin.Tick)
}

// update handles the fan-out's messages; ok reports whether msg was one.
func (f *fanout) update(msg tea.Msg) (tea.Cmd, bool) {
	switch msg := msg.(type) {
	case fanRowsMsg:
		if msg.owner != f.owner {
			return nil, false
		}
		if msg.reqID != f.reqID {
			return nil, true
		}
		f.answered++
		if msg.err {
			f.failed++
		} else {
			f.items += len(msg.rows)
		}
		f.tbl.AppendRows(msg.rows...)
		return msg.next, true
	case fanDoneMsg:
		if msg.owner != f.owner {
			return nil, false
		}
		if msg.reqID == f.reqID {
			f.loading = false
		}
		return nil, true
	case spinner.TickMsg:
		if !f.loading {
			return nil, false
		}
		var cmd tea.Cmd
		f.spin, cmd = f.spin.Update(msg)
		return cmd, false
	}
	return nil, false
}

// progress is "⠋ 12/22 targets · 1 failed · 30 jumpboxes".
func (f *fanout) progress(st *Styles, noun string) string {
	p := fmt.Sprintf("%d/%d targets", f.answered, f.total)
	if f.loading {
		p = f.spin.View() + " " + p
	}
	if f.failed > 0 {
		p += " · " + st.Bad.Render(fmt.Sprintf("%d failed", f.failed))
	}
	p += st.Muted.Render(fmt.Sprintf(" · %d %s", f.items, noun))
	if flt := f.tbl.Filter(); flt != "" {
		p += st.Muted.Render(fmt.Sprintf(" · %d match /%s", f.tbl.Visible(), flt))
	}
	return p
}
