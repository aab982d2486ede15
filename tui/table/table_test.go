package table

import (
	"fmt"
	"runtime"
	"strings"
	"testing"

	"github.com/charmbracelet/x/ansi"
)

func rows(n int) []Row {
	out := make([]Row, n)
	st := []string{"CREATE_COMPLETE", "UPDATE_IN_PROGRESS", "ROLLBACK_COMPLETE", "UPDATE_COMPLETE"}
	for i := range out {
		acct := fmt.Sprintf("cust-%03d-%s", i/300, []string{"test", "qa", "prod"}[i%3])
		out[i] = Row{Key: fmt.Sprint(i), Cells: []string{acct, []string{"eu-north-1", "eu-west-1"}[i%2],
			fmt.Sprintf("stack-%06d", i), st[i%4], fmt.Sprint(i % 97)}}
	}
	return out
}

func newTable() *Model {
	t := New([]Column{{Title: "ACCOUNT", Width: 16}, {Title: "REGION", Width: 10}, {Title: "STACK", Flex: true, Width: 12},
		{Title: "STATUS", Width: 20}, {Title: "N", Width: 3, Numeric: true}}, Styles{})
	t.SetSize(80, 10)
	return t
}

func TestWindowAndCursor(t *testing.T) {
	tb := newTable()
	tb.SetRows(rows(100))
	lines := strings.Split(tb.View(), "\n")
	if len(lines) != 10 {
		t.Fatalf("rendered %d lines, want 10", len(lines))
	}
	for _, l := range lines {
		if w := ansi.StringWidth(l); w > 80 {
			t.Fatalf("line wider than 80: %d", w)
		}
	}
	tb.Move(20)
	if tb.SelectedKey() != "20" || !strings.Contains(tb.View(), "stack-000020") || strings.Contains(tb.View(), "stack-000000") {
		t.Fatal("window does not follow the cursor")
	}
	tb.Bottom()
	if tb.SelectedKey() != "99" {
		t.Fatal("Bottom")
	}
	tb.Move(5)
	if tb.SelectedKey() != "99" {
		t.Fatal("cursor left the table")
	}
}

func TestFilterSortAndKeepCursor(t *testing.T) {
	tb := newTable()
	tb.SetRows(rows(900))
	tb.SetFilter("stack-000042")
	tb.Top()
	if tb.Visible() == 0 || tb.SelectedKey() != "42" {
		t.Fatalf("exact match not first: %d rows, first %s", tb.Visible(), tb.SelectedKey())
	}
	// Typing on searches only the previous matches; the result must equal
	// a full search for the final pattern.
	for _, steps := range [][]string{{"p", "pr", "pro", "prod", "prod r", "prod ro", "prod rollb"}, {"cu", "cust-00", "cust-002 qa"}} {
		for _, f := range steps {
			tb.SetFilter(f)
		}
		fresh := newTable()
		fresh.SetRows(rows(900))
		fresh.SetFilter(steps[len(steps)-1])
		if tb.Visible() != fresh.Visible() || tb.Visible() == 0 || tb.Visible() == 900 {
			t.Fatalf("%v: incremental %d rows, full search %d", steps, tb.Visible(), fresh.Visible())
		}
	}
	tb.SetFilter("")
	tb.Move(3)
	key := tb.SelectedKey()
	tb.SortBy(4)
	if tb.SelectedKey() != key {
		t.Fatal("cursor did not follow its row through a sort")
	}
	tb.Top()
	if tb.Selected().Cells[4] != "0" {
		t.Fatalf("numeric sort: first = %s", tb.Selected().Cells[4])
	}
	tb.SortBy(4)
	tb.Top()
	if tb.Selected().Cells[4] != "96" {
		t.Fatalf("reverse sort: first = %s", tb.Selected().Cells[4])
	}
	tb.SetFilter("zzzz")
	if tb.Selected() != nil || !strings.Contains(tb.View(), "nothing to show") {
		t.Fatal("empty view")
	}
}

// The stacks list must stay smooth with 100,000 rows: one frame renders
// only the visible window, and a filter keystroke is one pass at most.
func BenchmarkTable100kRender(b *testing.B) {
	tb := newTable()
	tb.SetSize(160, 45)
	tb.SetRows(rows(100_000))
	tb.Move(50_000)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		_ = tb.View()
	}
}

func BenchmarkTable100kFilterKeystroke(b *testing.B) {
	tb := newTable()
	tb.SetSize(160, 45)
	tb.SetRows(rows(100_000))
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		// Alternate so every keystroke is a full, non-narrowing search.
		if i%2 == 0 {
			tb.SetFilter("prod rollb")
		} else {
			tb.SetFilter("qa upd")
		}
	}
}

func BenchmarkTable100kMemoryPerRow(b *testing.B) {
	src := rows(100_000)
	for i := 0; i < b.N; i++ {
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		tb := newTable()
		tb.SetRows(src)
		runtime.GC()
		runtime.ReadMemStats(&after)
		b.ReportMetric(float64(after.HeapAlloc-before.HeapAlloc)/100_000, "B/row-index")
		runtime.KeepAlive(tb)
	}
}

func TestNaturalOrderWhileAppending(t *testing.T) {
	tb := newTable()
	tb.SetNaturalOrder(true)
	tb.AppendRows(Row{Key: "b/2"}, Row{Key: "b/1"})
	tb.AppendRows(Row{Key: "a/9"})
	tb.AppendRows(Row{Key: "c/0"}, Row{Key: "a/1"})
	var got []string
	for _, r := range tb.VisibleRows() {
		got = append(got, r.Key)
	}
	if strings.Join(got, " ") != "a/1 a/9 b/1 b/2 c/0" {
		t.Fatalf("order %v", got)
	}
}

// BenchmarkTableStream100k appends 100,000 rows in 600 batches (a fan-out
// filling in), in natural order.
func BenchmarkTableStream100k(b *testing.B) {
	src := rows(100_200)
	for i := range src {
		src[i].Key = fmt.Sprintf("%08d", (i*7919)%100_200)
	}
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		tb := newTable()
		tb.SetNaturalOrder(true)
		for j := 0; j < 600; j++ {
			tb.AppendRows(src[j*167 : (j+1)*167]...)
		}
	}
}
