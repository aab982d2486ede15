package tui

import (
	"fmt"
	"sort"
	"strings"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"
	"charm.land/lipgloss/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/opsdeck/opsdeck/profiles"
	"github.com/opsdeck/opsdeck/tui/table"
)

func init() {
	register(screenSpec{Kind: AccountsKind, Command: "accounts", Aliases: []string{"acc", "a"},
		Help: "accounts by customer × environment", New: newAccounts})
}

type accountKeys struct {
	listKeys
	Switch, Role key.Binding
}

// accounts is the accounts screen: a customer × environment matrix over a
// filterable list.
type accounts struct {
	ctx  *Context
	tbl  *table.Model
	keys accountKeys
	w, h int

	envs []string // environment columns of the matrix, in estate order

	picking bool // role picker open
	roles   []string
	roleSel int
}

var accountCols = []table.Column{
	{Title: "NAME", Width: 18, Flex: true}, {Title: "ID", Width: 12}, {Title: "CUSTOMER", Width: 10, Drop: 2},
	{Title: "ENV", Width: 6}, {Title: "ROLE", Width: 8}, {Title: "REGIONS", Width: 21, Drop: 1}, {Title: "PROTECTION", Width: 10},
}

func newAccounts(c *Context) Screen {
	s := &accounts{ctx: c, keys: accountKeys{
		listKeys: newListKeys(),
		Switch:   key.NewBinding(key.WithKeys("enter"), key.WithHelp("enter", "switch to account")),
		Role:     key.NewBinding(key.WithKeys("r"), key.WithHelp("r", "pick role")),
	}}
	s.tbl = table.New(accountCols, c.Styles.Table)
	s.tbl.SetEmptyMessage("no account matches the filter (esc clears it)")
	s.tbl.SetStyler(s.cellStyle)
	seen := map[string]bool{}
	order := []string{"test", "qa", "prod", "shared", "dr"}
	for _, e := range order {
		for _, a := range c.Config.Accounts {
			if a.Environment == e && !seen[e] {
				seen[e] = true
				s.envs = append(s.envs, e)
			}
		}
	}
	for _, a := range c.Config.Accounts {
		if !seen[a.Environment] {
			seen[a.Environment] = true
			s.envs = append(s.envs, a.Environment)
		}
	}
	rows := make([]table.Row, len(c.Config.Accounts))
	for i, a := range c.Config.Accounts {
		prot := "protected"
		if a.Env() != nil {
			prot = a.Env().Level().String()
		}
		rows[i] = table.Row{Key: a.ID, Data: a, Cells: []string{a.Name, a.ID, a.Customer, a.Environment,
			c.Config.DefaultRole(a), strings.Join(a.Regions, ","), prot}}
	}
	s.tbl.SetRows(rows)
	return s
}

func (s *accounts) Init() tea.Cmd { return nil }
func (s *accounts) Title() string { return "Accounts" }

func (s *accounts) Keys() []key.Binding {
	return []key.Binding{s.keys.Switch, s.keys.Role, s.keys.Sort}
}

func (s *accounts) SetFilter(f string) { s.tbl.SetFilter(f) }
func (s *accounts) Filter() string     { return s.tbl.Filter() }
func (s *accounts) Capturing() bool    { return s.picking }

func (s *accounts) SetSize(w, h int) {
	s.w, s.h = w, h
	s.tbl.SetSize(w, max(3, h-s.matrixHeight()-1))
}

// matrixHeight: header + one line per customer, at most a third of the
// screen (a window follows the cursor over hundreds of customers).
func (s *accounts) matrixHeight() int {
	n := len(s.ctx.Config.Customers())
	limit := max(2, s.h/3)
	return min(n, limit-1) + 2 // header + rows + blank line
}

func (s *accounts) selected() *profiles.Account {
	if r := s.tbl.Selected(); r != nil {
		return r.Data.(*profiles.Account)
	}
	return nil
}

func (s *accounts) Update(msg tea.Msg) tea.Cmd {
	k, ok := msg.(tea.KeyPressMsg)
	if !ok {
		return nil
	}
	if s.picking {
		return s.pickerKey(k)
	}
	if s.keys.navigate(s.tbl, len(accountCols), k) {
		return nil
	}
	switch {
	case key.Matches(k, s.keys.Switch):
		if a := s.selected(); a != nil {
			role := s.ctx.Config.DefaultRole(a)
			if id := s.ctx.Identity; id.Account == a && id.Role != "" {
				role = id.Role // enter on the current account renews its credentials
			}
			return func() tea.Msg { return SwitchMsg{Account: a, Role: role} }
		}
	case key.Matches(k, s.keys.Role):
		if s.selected() != nil {
			s.roles = roleKeys(s.ctx.Config)
			s.roleSel = 0
			def := s.ctx.Config.DefaultRole(s.selected())
			for i, r := range s.roles {
				if r == def {
					s.roleSel = i
				}
			}
			s.picking = true
		}
	}
	return nil
}

func (s *accounts) pickerKey(k tea.KeyPressMsg) tea.Cmd {
	switch k.String() {
	case "esc", "q":
		s.picking = false
	case "up", "k":
		s.roleSel = max(0, s.roleSel-1)
	case "down", "j":
		s.roleSel = min(len(s.roles)-1, s.roleSel+1)
	case "enter":
		s.picking = false
		a, role := s.selected(), s.roles[s.roleSel]
		return func() tea.Msg { return SwitchMsg{Account: a, Role: role} }
	}
	return nil
}

func (s *accounts) View() string {
	st := s.ctx.Styles
	n, vis := s.tbl.Len(), s.tbl.Visible()
	title := st.Title.Render("Accounts") + st.Muted.Render(fmt.Sprintf(" %d", n))
	if f := s.tbl.Filter(); f != "" {
		title += st.Muted.Render(fmt.Sprintf("  ·  %d match /%s", vis, f))
	}
	out := title + "\n" + s.matrix() + "\n" + s.tbl.View()
	if s.picking {
		out = overlayBottom(out, s.pickerView(), s.h)
	}
	return out
}

// matrix draws customers × environments; each cell is the account's
// environment colour, the cursor's account is bracketed and the current
// identity is marked ●.
func (s *accounts) matrix() string {
	st := s.ctx.Styles
	cfg := s.ctx.Config
	cell := map[[2]string]*profiles.Account{}
	for _, a := range cfg.Accounts {
		cell[[2]string{a.Customer, a.Environment}] = a
	}
	customers := s.visibleCustomers()
	sel := s.selected()
	const cw = 8
	custW := 12
	hdr := st.Muted.Render(fmt.Sprintf("%-*s", custW, "CUSTOMER"))
	for _, e := range s.envs {
		hdr += st.Muted.Render(fmt.Sprintf(" %-*s", cw, e))
	}
	lines := []string{hdr}
	// Window of customers around the selected one.
	rows := s.matrixHeight() - 2
	start := 0
	if sel != nil {
		for i, c := range customers {
			if c == sel.Customer {
				start = max(0, min(i-rows/2, len(customers)-rows))
			}
		}
	}
	for i := start; i < len(customers) && i < start+rows; i++ {
		c := customers[i]
		line := fmt.Sprintf("%-*s", custW, ansi.Truncate(c, custW-1, "…"))
		for _, e := range s.envs {
			a := cell[[2]string{c, e}]
			txt := strings.Repeat(" ", cw)
			if a != nil {
				mark := "■"
				if s.ctx.Identity.Account == a {
					mark = "●"
				}
				txt = lipgloss.NewStyle().Foreground(st.EnvColor(a)).Render(mark) + " " + fmt.Sprintf("%-*s", cw-2, ansi.Truncate(shortID(a.ID), cw-2, ""))
				if sel == a {
					txt = st.Table.Selected.Render(mark + " " + fmt.Sprintf("%-*s", cw-2, shortID(a.ID)))
				}
			}
			line += " " + txt
		}
		lines = append(lines, line)
	}
	if len(customers) > rows {
		lines[0] += st.Muted.Render(fmt.Sprintf("   %d–%d of %d customers", start+1, min(start+rows, len(customers)), len(customers)))
	}
	for len(lines) < s.matrixHeight()-1 {
		lines = append(lines, "")
	}
	return strings.Join(lines, "\n")
}

// visibleCustomers lists the customers that have a row passing the filter.
func (s *accounts) visibleCustomers() []string {
	if s.tbl.Filter() == "" {
		return s.ctx.Config.Customers()
	}
	seen := map[string]bool{}
	var out []string
	for _, r := range s.tbl.VisibleRows() {
		a := r.Data.(*profiles.Account)
		if !seen[a.Customer] {
			seen[a.Customer] = true
			out = append(out, a.Customer)
		}
	}
	sort.Strings(out)
	return out
}

// shortID shows the last digits of an account id: enough to tell
// neighbours apart in the matrix.
func shortID(id string) string {
	if len(id) > 6 {
		return "…" + id[len(id)-5:]
	}
	return id
}

func (s *accounts) pickerView() string {
	st := s.ctx.Styles
	a := s.selected()
	lines := []string{st.Title.Render("Role for " + a.Name)}
	for i, k := range s.roles {
		r := s.ctx.Config.Roles[k]
		line := fmt.Sprintf(" %-10s %-20s", k, r.Name)
		if r.MFASerial != "" {
			line += " MFA"
		}
		if r.Via != "" {
			line += " via " + r.Via
		}
		if i == s.roleSel {
			line = st.Table.Selected.Render(line)
		}
		lines = append(lines, line)
	}
	lines = append(lines, st.Muted.Render("enter assume · esc cancel"))
	return st.Box.Render(strings.Join(lines, "\n"))
}

func (s *accounts) cellStyle(r *table.Row, col int) (lipgloss.Style, bool) {
	a := r.Data.(*profiles.Account)
	switch col {
	case 0:
		if s.ctx.Identity.Account == a {
			return lipgloss.NewStyle().Bold(true).Foreground(s.ctx.Styles.Theme.Good), true
		}
	case 3:
		return lipgloss.NewStyle().Foreground(s.ctx.Styles.EnvColor(a)), true
	case 6:
		if a.Env() == nil || a.Env().Level() == profiles.Protected {
			return s.ctx.Styles.Bad, true
		}
		if a.Env().Level() == profiles.ReadOnly {
			return s.ctx.Styles.Warn, true
		}
	}
	return lipgloss.Style{}, false
}
