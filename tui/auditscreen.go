package tui

import (
	"fmt"
	"strings"
	"time"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"
	"charm.land/lipgloss/v2"

	"github.com/opsdeck/opsdeck/ops/audit"
	"github.com/opsdeck/opsdeck/tui/table"
)

func init() {
	register(screenSpec{Kind: AuditKind, Command: "audit", Aliases: []string{"journal", "log"},
		Help: "the journal of every change: intent and outcome", New: newAudit})
}

type auditScreen struct {
	ctx    *Context
	tbl    *table.Model
	keys   listKeys
	reload key.Binding
	warns  int
	path   string
	err    error
}

var auditCols = []table.Column{
	{Title: "TIME", Width: 19}, {Title: "OPERATOR", Width: 10, Drop: 3}, {Title: "ACCOUNT", Width: 14}, {Title: "REGION", Width: 12, Drop: 2},
	{Title: "ACTION", Width: 16}, {Title: "PHASE", Width: 7}, {Title: "OUTCOME", Width: 8}, {Title: "DETAIL", Width: 20, Flex: true},
}

func newAudit(c *Context) Screen {
	s := &auditScreen{ctx: c, keys: newListKeys(), reload: key.NewBinding(key.WithKeys("ctrl+r", "R"), key.WithHelp("R", "reload"))}
	s.tbl = table.New(auditCols, c.Styles.Table)
	s.tbl.SetEmptyMessage("nothing has been changed through opsdeck yet")
	s.tbl.SetStyler(func(r *table.Row, col int) (lipgloss.Style, bool) {
		if col != 6 {
			return lipgloss.Style{}, false
		}
		switch r.Cells[6] {
		case audit.OK:
			return c.Styles.Good, true
		case audit.Failed, audit.Refused:
			return c.Styles.Bad, true
		}
		return lipgloss.Style{}, false
	})
	s.load()
	return s
}

func (s *auditScreen) load() {
	s.path = s.ctx.AuditPath
	if s.path == "" {
		s.path = audit.DefaultPath()
	}
	es, warns, err := audit.Read(s.path)
	s.err, s.warns = err, len(warns)
	rows := make([]table.Row, 0, len(es))
	for i := len(es) - 1; i >= 0; i-- { // newest first
		e := es[i]
		detail := e.Error
		if detail == "" {
			var parts []string
			for k, v := range e.Results {
				parts = append(parts, k+"="+v)
			}
			if len(parts) == 0 {
				parts = append(parts, strings.Join(e.Targets, ","))
			}
			detail = strings.Join(parts, " ")
		}
		rows = append(rows, table.Row{Key: fmt.Sprint(i), Data: e, Cells: []string{e.Time.Local().Format(time.DateTime), e.Operator, e.Account,
			e.Region, e.Action, e.Phase, e.Outcome, detail}})
	}
	s.tbl.SetRows(rows)
}

func (s *auditScreen) Title() string       { return "Audit" }
func (s *auditScreen) Keys() []key.Binding { return []key.Binding{s.reload} }
func (s *auditScreen) SetFilter(f string)  { s.tbl.SetFilter(f) }
func (s *auditScreen) Filter() string      { return s.tbl.Filter() }
func (s *auditScreen) SetSize(w, h int)    { s.tbl.SetSize(w, max(2, h-2)) }
func (s *auditScreen) Init() tea.Cmd       { return nil }

func (s *auditScreen) Update(msg tea.Msg) tea.Cmd {
	switch msg := msg.(type) {
	case actionDoneMsg:
		s.load()
	case tea.KeyPressMsg:
		if s.keys.navigate(s.tbl, len(auditCols), msg) {
			return nil
		}
		if key.Matches(msg, s.reload) {
			s.load()
		}
	}
	return nil
}

func (s *auditScreen) View() string {
	st := s.ctx.Styles
	head := st.Title.Render("Audit") + st.Muted.Render(fmt.Sprintf(" %d entries · %s", s.tbl.Len(), s.path))
	if s.warns > 0 {
		head += st.Warn.Render(fmt.Sprintf(" · %d unreadable lines skipped", s.warns))
	}
	if s.err != nil {
		head += " " + st.Bad.Render(s.err.Error())
	}
	return head + "\n\n" + s.tbl.View()
}
