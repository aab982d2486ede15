package tui

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/aws/smithy-go"

	"github.com/opsdeck/opsdeck/ops/fleet"
	"github.com/opsdeck/opsdeck/ops/stacks"
	"github.com/opsdeck/opsdeck/profiles"
)

// stacksFixture feeds a stacks screen the answers of a small fan-out: two
// accounts answered, one target failed.
func stacksFixture(t *testing.T, w, h int) (*Model, *stacksScreen) {
	cfg := demoConfig(t)
	m := newTestModel(t, cfg, w, h, Options{})
	identify(m, "acme-prod", "read", 50*time.Minute)
	// Open the screen without starting a real fan-out: the fixture plays
	// the answers.
	s := newStacks(m.ctx).(*stacksScreen)
	m.screens[StacksKind] = s
	m.stack = append(m.stack, StacksKind)
	s.SetSize(m.bodySize())
	s.reqID, s.total, s.loading = 1, 4, true
	t0 := fixedNow.Add(-3 * time.Hour)
	ok := func(acct, region string, sums ...stacks.Summary) {
		s.Update(stackResultMsg{reqID: 1, res: fleet.Result[[]stacks.Summary]{Target: fleet.Target{Account: cfg.Account(acct), Region: region}, Value: sums}})
	}
	ok("acme-prod", "eu-north-1",
		stacks.Summary{Name: "acme-prod-app", Status: "UPDATE_IN_PROGRESS", Updated: fixedNow.Add(-2 * time.Minute), Drift: "NOT_CHECKED"},
		stacks.Summary{Name: "acme-prod-network", Status: "CREATE_COMPLETE", Created: t0, Drift: "IN_SYNC"})
	ok("acme-test", "eu-north-1",
		stacks.Summary{Name: "acme-test-app", Status: "UPDATE_ROLLBACK_COMPLETE", Updated: fixedNow.Add(-26 * time.Hour), Drift: "DRIFTED"},
		stacks.Summary{Name: "acme-test-db", Status: "CREATE_FAILED", Created: fixedNow.Add(-72 * time.Hour), Drift: "NOT_CHECKED"})
	s.Update(stackResultMsg{reqID: 1, res: fleet.Result[[]stacks.Summary]{
		Target: fleet.Target{Account: cfg.Account("globex-prod"), Region: "eu-west-1"},
		Err:    &smithy.GenericAPIError{Code: "AccessDenied", Message: "not authorized to perform sts:AssumeRole"}}})
	return m, s
}

func TestGoldenStacksList(t *testing.T) {
	for _, sz := range goldenSizes {
		t.Run(sz.name, func(t *testing.T) {
			m, s := stacksFixture(t, sz.w, sz.h)
			golden(t, "stacks_loading_"+sz.name, m.Render())
			s.Update(stacksDoneMsg{reqID: 1})
			s.answered = 4
			golden(t, "stacks_done_"+sz.name, m.Render())
		})
	}
}

func TestStacksListBehaviour(t *testing.T) {
	m, s := stacksFixture(t, 120, 30)
	out := stripANSI(m.Render())
	for _, want := range []string{"3/4 targets", "1 failed", "4 stacks", "TARGET FAILED", "AccessDenied"} {
		if !strings.Contains(out, want) {
			t.Errorf("screen lacks %q:\n%s", want, out)
		}
	}
	// Natural order: acme-prod rows, then acme-test, then the failed target.
	keys := []string{}
	for _, r := range s.tbl.VisibleRows() {
		keys = append(keys, r.Key)
	}
	if !strings.HasPrefix(keys[0], "acme-prod/") || !strings.HasPrefix(keys[4], "globex-prod/") {
		t.Fatalf("order %v", keys)
	}
	// A stale answer from an earlier load is dropped.
	s.Update(stackResultMsg{reqID: 0, res: fleet.Result[[]stacks.Summary]{Target: fleet.Target{Account: m.ctx.Config.Account("acme-qa"), Region: "eu-north-1"},
		Value: []stacks.Summary{{Name: "stale"}}}})
	if s.tbl.Len() != 5 {
		t.Fatal("stale answer applied")
	}
	// enter on the failed target explains instead of opening.
	press(m, "G")
	_, cmd := m.Update(keyMsg("enter"))
	if msg, ok := cmd().(ErrorMsg); !ok || !strings.Contains(msg.Err.Error(), "press R to retry") {
		t.Fatalf("enter on failed target: %#v", msg)
	}
	// Sorting by status keeps working with error rows.
	press(m, "s", "s", "s", "s")
	if c, _ := s.tbl.SortColumn(); c != 3 {
		t.Fatalf("sort column %d", c)
	}
}

// detailFixture opens the detail view and feeds it a loaded stack.
func detailFixture(t *testing.T, w, h int, status string) (*Model, *stackDetail) {
	cfg := demoConfig(t)
	m := newTestModel(t, cfg, w, h, Options{})
	identify(m, "acme-prod", "read", 50*time.Minute)
	m.Update(NavigateMsg{Kind: StackDetailKind})
	d := m.current().(*stackDetail)
	d.ref = stackRef{Target: fleet.Target{Account: cfg.Account("acme-prod"), Region: "eu-north-1"}, Name: "acme-prod-app"}
	d.reqID = 7
	t0 := fixedNow.Add(-90 * time.Minute)
	det := &stacks.Detail{Summary: stacks.Summary{Name: "acme-prod-app", Status: status, Created: t0.Add(-48 * time.Hour), Updated: t0, Drift: "DRIFTED"},
		Parameters: []stacks.KV{{Key: "Environment", Value: "prod"}, {Key: "ImageId", Value: "ami-0abc1234"}, {Key: "Replicas", Value: "3"}},
		Outputs:    []stacks.Output{{Key: "AppUrl", Value: "https://prod.app.example.internal"}, {Key: "QueueUrl", Value: "https://sqs.eu-north-1.amazonaws.com/210000000003/jobs", Export: "acme-jobs"}}}
	res := []stacks.Resource{
		{LogicalID: "AppSecurityGroup", PhysicalID: "sg-0123456789", Type: "AWS::EC2::SecurityGroup", Status: "UPDATE_COMPLETE", Drift: "MODIFIED"},
		{LogicalID: "Config", PhysicalID: "/app/acme-prod-app/image", Type: "AWS::SSM::Parameter", Status: "UPDATE_IN_PROGRESS", Drift: "IN_SYNC"},
		{LogicalID: "Queue", PhysicalID: "https://sqs.eu-north-1.amazonaws.com/210000000003/jobs", Type: "AWS::SQS::Queue", Status: "CREATE_COMPLETE"},
	}
	evs := []stacks.Event{
		{ID: "e3", Time: fixedNow.Add(-1 * time.Minute), LogicalID: "Config", Status: "UPDATE_IN_PROGRESS"},
		{ID: "e2", Time: fixedNow.Add(-2 * time.Minute), LogicalID: "acme-prod-app", Status: "UPDATE_IN_PROGRESS", Reason: "User Initiated"},
		{ID: "e1", Time: t0, LogicalID: "Queue", Status: "CREATE_FAILED", Reason: "Resource handler returned message: queue name taken"},
	}
	tpl := "{\n  \"AWSTemplateFormatVersion\": \"2010-09-09\",\n  \"Resources\": {\n    \"Queue\": {\"Type\": \"AWS::SQS::Queue\"}\n  }\n}\n"
	d.Update(detailLoadedMsg{reqID: 7, api: &fakeDrift{}, det: det, res: res, events: evs, tpl: tpl})
	return m, d
}

// fakeDrift is the tui's stand-in for drift detection (the emulator lacks
// it): one drifted security group.
type fakeDrift struct{ stacks.API }

func TestGoldenStackDetailTabs(t *testing.T) {
	m, d := detailFixture(t, 120, 30, "UPDATE_IN_PROGRESS")
	for i, name := range []string{"resources", "events", "outputs", "parameters", "template"} {
		if d.tab != i {
			t.Fatalf("tab %d, want %d", d.tab, i)
		}
		golden(t, "stack_detail_"+name+"_120x30", m.Render())
		press(m, "tab")
	}
	golden(t, "stack_detail_drift_idle_120x30", m.Render())
	d.Update(driftDoneMsg{reqID: 7, rep: &stacks.DriftReport{Status: "DRIFTED", Drifted: 1, Checked: fixedNow.Add(-time.Minute), Resources: []stacks.ResourceDrift{
		{LogicalID: "AppSecurityGroup", PhysicalID: "sg-0123456789", Type: "AWS::EC2::SecurityGroup", Status: "MODIFIED", Diffs: []stacks.PropertyDiff{
			{Path: "/SecurityGroupIngress/0/CidrIp", Expected: "10.0.0.0/16", Actual: "0.0.0.0/0", Kind: "NOT_EQUAL"}}},
		{LogicalID: "Queue", PhysicalID: "jobs", Type: "AWS::SQS::Queue", Status: "IN_SYNC"},
	}}})
	golden(t, "stack_detail_drift_done_120x30", m.Render())
	d.Update(driftDoneMsg{reqID: 7, err: fmt.Errorf("stack x: %w", stacks.ErrDriftUnavailable)})
	if !strings.Contains(stripANSI(m.Render()), "drift detection is not available on this endpoint") {
		t.Fatal("unavailable drift not explained")
	}
	// 1..6 jump to tabs, shift+tab goes back.
	press(m, "2")
	if d.tab != tabEvents {
		t.Fatal("2 did not jump to events")
	}
	m.Update(tea.KeyPressMsg{Code: tea.KeyTab, Mod: tea.ModShift})
	if d.tab != tabResources {
		t.Fatal("shift+tab")
	}
}

func TestDetailEventsRefreshWhileInProgress(t *testing.T) {
	_, d := detailFixture(t, 120, 30, "UPDATE_IN_PROGRESS")
	// The loaded message scheduled a refresh; a newer event arrives and
	// goes on top.
	cmd := d.Update(eventsMsg{reqID: 7, det: &stacks.Detail{Summary: stacks.Summary{Name: "acme-prod-app", Status: "UPDATE_COMPLETE"}},
		events: []stacks.Event{{ID: "e4", Time: fixedNow, LogicalID: "acme-prod-app", Status: "UPDATE_COMPLETE"}}})
	if cmd != nil {
		t.Fatal("kept refreshing a stack in a terminal state")
	}
	rows := d.tables[tabEvents].VisibleRows()
	if len(rows) != 4 || rows[0].Key != "e4" || d.cursor != "e4" {
		t.Fatalf("events after refresh: %d rows, first %s, cursor %s", len(rows), rows[0].Key, d.cursor)
	}
	_, d2 := detailFixture(t, 120, 30, "UPDATE_IN_PROGRESS")
	if d2.maybeRefresh() == nil {
		t.Fatal("no refresh scheduled for a stack in progress")
	}
}

func TestFlowStacks(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	demo := seededDemo(t, ctx)
	b := profiles.NewBroker(demo.Config, profiles.BrokerOptions{RetryMaxAttempts: 1})
	m := New(Options{Config: demo.Config, Broker: b})
	d := newDriver(t, m)
	d.send(tea.WindowSizeMsg{Width: 140, Height: 40})
	d.run(m.Init())

	d.keys(":")
	d.typeText("stacks customer=globex")
	d.keys("enter")
	d.waitFor("the stacks screen", func() bool { _, ok := m.current().(*stacksScreen); return ok })
	s := m.current().(*stacksScreen)
	d.waitFor("every target", func() bool { return !s.loading && s.answered == 6 })
	if s.nStacks != 12 || s.failed != 0 {
		t.Fatalf("%d stacks, %d failed", s.nStacks, s.failed)
	}
	d.keys("/")
	d.typeText("globex-qa-database")
	d.keys("enter")
	if s.tbl.Visible() == 0 || s.tbl.Selected().Cells[2] != "globex-qa-database" {
		t.Fatalf("filter: %d rows", s.tbl.Visible())
	}
	d.keys("enter")
	d.waitFor("the detail view", func() bool { dv, ok := m.current().(*stackDetail); return ok && !dv.loading && dv.det != nil })
	dv := m.current().(*stackDetail)
	if dv.tables[tabResources].Len() != 1 || dv.tables[tabOutputs].Len() != 2 || !strings.Contains(strings.Join(dv.tpl, "\n"), "DbEndpoint") {
		t.Fatalf("detail: %d resources, %d outputs", dv.tables[tabResources].Len(), dv.tables[tabOutputs].Len())
	}
	for i := 0; i < 5; i++ {
		d.keys("tab")
	}
	if dv.tab != tabDrift {
		t.Fatal("tab switching")
	}
	d.keys("d")
	d.waitFor("drift to finish", func() bool { return !dv.drifting })
	if !errors.Is(dv.driftErr, stacks.ErrDriftUnavailable) {
		t.Fatalf("drift against the emulator: %v", dv.driftErr)
	}
	d.keys("esc")
	if _, ok := m.current().(*stacksScreen); !ok {
		t.Fatal("esc did not return to the list")
	}
	if s.tbl.Filter() != "globex-qa-database" {
		t.Fatal("the list lost its filter on the way back")
	}
}
