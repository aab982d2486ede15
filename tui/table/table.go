// Package table is a virtualized table for Bubble Tea screens: it keeps
// every row but renders only the visible window, filters with fuzzy
// matching (searching only the previous matches while the operator types
// on), and sorts by any column. It stays smooth at 100,000 rows.
package table

import (
	"cmp"
	"slices"
	"strconv"
	"strings"

	"charm.land/lipgloss/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/opsdeck/opsdeck/tui/fuzzy"
)

// Column describes one column. Width 0 with Flex takes the remaining
// width (shared between flex columns).
type Column struct {
	Title string
	Width int
	Flex  bool
	// Numeric sorts the column as numbers.
	Numeric bool
	// Drop > 0 lets a narrow terminal hide the column; higher numbers go
	// first. 0 columns always show.
	Drop int
}

// Row is one row of plain-text cells. Key identifies it across updates
// (the cursor follows its row when rows are re-sorted or refilled).
type Row struct {
	Key   string
	Cells []string
	// Data is any value the screen wants back for the selected row.
	Data any
}

// Styles of the table.
type Styles struct {
	Header   lipgloss.Style
	Cell     lipgloss.Style
	Selected lipgloss.Style
	Empty    lipgloss.Style
}

// CellStyler colours one cell (e.g. a status column); nil keeps Cell.
type CellStyler func(row *Row, col int) (lipgloss.Style, bool)

// Model is the table state. The zero value is unusable; use New.
type Model struct {
	cols   []Column
	rows   []Row
	lower  []string // lower-cased haystack per row, built once per row
	view   []int    // indexes into rows after filter and sort
	widths []int
	shown  []bool

	cursor, offset int
	width, height  int

	pattern  fuzzy.Pattern
	filter   string
	sortCol  int
	sortDesc bool

	styles   Styles
	styler   CellStyler
	emptyMsg string
	// natural orders rows by Key when no column sort is chosen.
	natural bool
}

// SetNaturalOrder orders rows by their Key when no column sort is set (a
// list filling in as targets answer stays in account/region order instead
// of arrival order).
func (m *Model) SetNaturalOrder(on bool) {
	m.natural = on
	m.rebuild()
}

// New returns a table with cols.
func New(cols []Column, s Styles) *Model {
	return &Model{cols: cols, styles: s, sortCol: -1, emptyMsg: "nothing to show"}
}

// SetStyler sets the per-cell colouring.
func (m *Model) SetStyler(f CellStyler) { m.styler = f }

// SetEmptyMessage is shown when no row is visible.
func (m *Model) SetEmptyMessage(s string) { m.emptyMsg = s }

// SetSize sets the width and height (header included).
func (m *Model) SetSize(w, h int) {
	m.width, m.height = w, h
	m.layout()
	m.clamp()
}

// SetRows replaces all rows, keeping the cursor on the same Key.
func (m *Model) SetRows(rows []Row) {
	key := m.SelectedKey()
	m.rows = rows
	m.lower = make([]string, len(rows))
	for i := range rows {
		m.lower[i] = strings.ToLower(strings.Join(rows[i].Cells, " "))
	}
	m.rebuild()
	m.Select(key)
}

// AppendRows adds rows (as targets answer) without disturbing the cursor.
func (m *Model) AppendRows(rows ...Row) {
	key := m.SelectedKey()
	first := len(m.rows)
	for _, r := range rows {
		m.rows = append(m.rows, r)
		m.lower = append(m.lower, strings.ToLower(strings.Join(r.Cells, " ")))
	}
	if m.natural && m.sortCol < 0 && m.pattern.Empty() {
		// Merge the new rows into the ordered view: O(n) per append, so
		// streaming 100,000 rows in 600 batches stays cheap.
		add := make([]int, 0, len(rows))
		for i := first; i < len(m.rows); i++ {
			add = append(add, i)
		}
		slices.SortFunc(add, m.byKey)
		merged := make([]int, 0, len(m.view)+len(add))
		i, j := 0, 0
		for i < len(m.view) && j < len(add) {
			if m.byKey(add[j], m.view[i]) < 0 {
				merged = append(merged, add[j])
				j++
			} else {
				merged = append(merged, m.view[i])
				i++
			}
		}
		merged = append(append(merged, m.view[i:]...), add[j:]...)
		m.view = merged
		m.clamp()
	} else {
		m.rebuild()
	}
	m.Select(key)
}

func (m *Model) byKey(a, b int) int { return strings.Compare(m.rows[a].Key, m.rows[b].Key) }

// Len is the number of rows; Visible the number passing the filter.
func (m *Model) Len() int     { return len(m.rows) }
func (m *Model) Visible() int { return len(m.view) }

// Filter returns the current filter text.
func (m *Model) Filter() string { return m.filter }

// SetFilter filters rows by a fuzzy pattern. When the new pattern only
// narrows the old one (the operator typed on), only the current matches
// are searched.
func (m *Model) SetFilter(f string) {
	if f == m.filter {
		return
	}
	next := fuzzy.Compile(f)
	key := m.SelectedKey()
	if !m.pattern.Empty() && m.pattern.Narrows(next) {
		m.pattern, m.filter = next, f
		m.view = m.match(m.view)
		m.sortView()
	} else {
		m.pattern, m.filter = next, f
		m.rebuild()
	}
	m.Select(key)
	m.clamp()
}

// SortBy sorts by column c; the same column again reverses the order.
func (m *Model) SortBy(c int) {
	if c < 0 || c >= len(m.cols) {
		return
	}
	if m.sortCol == c {
		m.sortDesc = !m.sortDesc
	} else {
		m.sortCol, m.sortDesc = c, false
	}
	key := m.SelectedKey()
	m.sortView()
	m.Select(key)
}

// SortColumn returns the sort column (-1 none) and direction.
func (m *Model) SortColumn() (int, bool) { return m.sortCol, m.sortDesc }

func (m *Model) rebuild() {
	m.view = m.view[:0]
	if m.pattern.Empty() {
		for i := range m.rows {
			m.view = append(m.view, i)
		}
	} else {
		all := make([]int, len(m.rows))
		for i := range all {
			all[i] = i
		}
		m.view = m.match(all)
	}
	m.sortView()
	m.clamp()
}

// match keeps the candidates matching the pattern, exact (substring)
// matches first, each group in its previous order.
func (m *Model) match(cands []int) []int {
	exact := make([]int, 0, len(cands)/4)
	loose := make([]int, 0, len(cands)/4)
	for _, i := range cands {
		l := m.lower[i]
		if !m.pattern.Match(l) {
			continue
		}
		if m.pattern.Exact(l) {
			exact = append(exact, i)
		} else {
			loose = append(loose, i)
		}
	}
	return append(exact, loose...)
}

func (m *Model) sortView() {
	if m.sortCol < 0 {
		if m.natural && m.pattern.Empty() {
			slices.SortStableFunc(m.view, m.byKey)
		}
		return
	}
	c, num := m.sortCol, m.cols[m.sortCol].Numeric
	slices.SortStableFunc(m.view, func(a, b int) int {
		va, vb := cell(&m.rows[a], c), cell(&m.rows[b], c)
		var r int
		if num {
			fa, _ := strconv.ParseFloat(va, 64)
			fb, _ := strconv.ParseFloat(vb, 64)
			r = cmp.Compare(fa, fb)
		} else {
			r = strings.Compare(va, vb)
		}
		if m.sortDesc {
			r = -r
		}
		return r
	})
}

func cell(r *Row, c int) string {
	if c < len(r.Cells) {
		return r.Cells[c]
	}
	return ""
}

// VisibleRows returns the rows passing the filter, in display order.
func (m *Model) VisibleRows() []*Row {
	out := make([]*Row, len(m.view))
	for i, ri := range m.view {
		out[i] = &m.rows[ri]
	}
	return out
}

// Selected returns the row under the cursor (nil when none).
func (m *Model) Selected() *Row {
	if m.cursor < 0 || m.cursor >= len(m.view) {
		return nil
	}
	return &m.rows[m.view[m.cursor]]
}

// SelectedKey is Selected().Key or "".
func (m *Model) SelectedKey() string {
	if r := m.Selected(); r != nil {
		return r.Key
	}
	return ""
}

// Select moves the cursor to the row with key (no-op when not visible).
func (m *Model) Select(key string) {
	if key == "" {
		return
	}
	for i, ri := range m.view {
		if m.rows[ri].Key == key {
			m.cursor = i
			m.clamp()
			return
		}
	}
}

// Cursor is the index of the selected row among visible rows.
func (m *Model) Cursor() int { return m.cursor }

// Move moves the cursor by delta rows.
func (m *Model) Move(delta int) {
	m.cursor += delta
	m.clamp()
}

// Page moves by one screen.
func (m *Model) Page(dir int) { m.Move(dir * max(1, m.bodyHeight()-1)) }

// Top and Bottom jump to the ends.
func (m *Model) Top()    { m.cursor = 0; m.clamp() }
func (m *Model) Bottom() { m.cursor = len(m.view) - 1; m.clamp() }

func (m *Model) bodyHeight() int { return max(0, m.height-1) }

func (m *Model) clamp() {
	if m.cursor >= len(m.view) {
		m.cursor = len(m.view) - 1
	}
	if m.cursor < 0 {
		m.cursor = 0
	}
	h := m.bodyHeight()
	if m.cursor < m.offset {
		m.offset = m.cursor
	}
	if h > 0 && m.cursor >= m.offset+h {
		m.offset = m.cursor - h + 1
	}
	if m.offset > max(0, len(m.view)-h) {
		m.offset = max(0, len(m.view)-h)
	}
}

func (m *Model) layout() {
	m.widths = make([]int, len(m.cols))
	m.shown = make([]bool, len(m.cols))
	fixed, flex := 0, 0
	for i, c := range m.cols {
		m.shown[i] = true
		m.widths[i] = c.Width
		fixed += c.Width + 1
	}
	// Hide droppable columns, highest Drop first, until the rest fit.
	for fixed > m.width+1 {
		worst := -1
		for i, c := range m.cols {
			if m.shown[i] && c.Drop > 0 && (worst < 0 || c.Drop > m.cols[worst].Drop) {
				worst = i
			}
		}
		if worst < 0 {
			break
		}
		m.shown[worst] = false
		fixed -= m.widths[worst] + 1
		m.widths[worst] = 0
	}
	for i, c := range m.cols {
		if m.shown[i] && c.Flex {
			flex++
		}
	}
	if flex > 0 {
		extra := max(0, m.width-fixed) / flex
		for i, c := range m.cols {
			if c.Flex && m.shown[i] {
				m.widths[i] += extra
			}
		}
	}
}

// View renders the header and the visible rows only.
func (m *Model) View() string {
	if m.width <= 0 || m.height <= 0 {
		return ""
	}
	var b strings.Builder
	b.Grow(m.width * m.height * 2)
	hdr := make([]string, 0, len(m.cols))
	for i, c := range m.cols {
		if !m.shown[i] {
			continue
		}
		t := c.Title
		if i == m.sortCol {
			if m.sortDesc {
				t += "↓"
			} else {
				t += "↑"
			}
		}
		hdr = append(hdr, pad(t, m.widths[i]))
	}
	b.WriteString(m.styles.Header.Render(ansi.Truncate(strings.Join(hdr, " "), m.width, "")))
	h := m.bodyHeight()
	if len(m.view) == 0 {
		b.WriteString("\n")
		b.WriteString(m.styles.Empty.Render(ansi.Truncate(m.emptyMsg, m.width, "…")))
		for i := 1; i < h; i++ {
			b.WriteString("\n")
		}
		return b.String()
	}
	end := min(len(m.view), m.offset+h)
	parts := make([]string, 0, len(m.cols))
	for vi := m.offset; vi < end; vi++ {
		r := &m.rows[m.view[vi]]
		sel := vi == m.cursor
		parts = parts[:0]
		for c := range m.cols {
			if !m.shown[c] {
				continue
			}
			txt := pad(cell(r, c), m.widths[c])
			if !sel && m.styler != nil {
				if st, ok := m.styler(r, c); ok {
					txt = st.Render(txt)
				}
			}
			parts = append(parts, txt)
		}
		line := strings.Join(parts, " ")
		b.WriteString("\n")
		if sel {
			b.WriteString(m.styles.Selected.Render(pad(ansi.Strip(line), m.width)))
		} else {
			b.WriteString(m.styles.Cell.Render(ansi.Truncate(line, m.width, "")))
		}
	}
	for i := end - m.offset; i < h; i++ {
		b.WriteString("\n")
	}
	return b.String()
}

// pad truncates or right-pads plain text to exactly w cells.
func pad(s string, w int) string {
	if w <= 0 {
		return ""
	}
	sw := ansi.StringWidth(s)
	if sw > w {
		return ansi.Truncate(s, w, "…")
	}
	return s + strings.Repeat(" ", w-sw)
}
