package tui

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"
	"charm.land/lipgloss/v2"

	"github.com/aws/aws-sdk-go-v2/service/ssm"

	"github.com/opsdeck/opsdeck/ops/awsx"
	"github.com/opsdeck/opsdeck/ops/fleet"
	"github.com/opsdeck/opsdeck/ops/patch"
	"github.com/opsdeck/opsdeck/ops/plan"
	"github.com/opsdeck/opsdeck/profiles"
	"github.com/opsdeck/opsdeck/tui/table"
)

// PatchKind is the patch run screen.
const PatchKind Kind = 100

func init() {
	register(screenSpec{Kind: PatchKind, Command: "patch", Aliases: []string{"pm"}, Mutating: true,
		Help: "patch scan/install: targets → plan → guard → live per-instance grid", New: newPatch})
}

// The form's fields, in tab order.
const (
	fSelect = iota
	fTargets
	fOperation
	fConcurrency
	fErrors
	fReboot
	nFields
)

var fieldNames = [nFields]string{"accounts", "instances", "operation", "max concurrency", "max errors", "reboot"}

type patchScreen struct {
	ctx     *Context
	fields  [nFields]lineEdit
	focus   int
	editing bool
	tbl     *table.Model
	keys    listKeys
	running bool
	reqID   int
	note    string
	w, h    int
}

// patchRowMsg updates one target's row (or one instance's).
type patchRowMsg struct {
	reqID int
	row   table.Row
	next  tea.Cmd
}

type patchDoneMsg struct{ reqID int }

func newPatch(c *Context) Screen {
	s := &patchScreen{ctx: c, editing: true, keys: newListKeys()}
	sel := "all"
	if a := c.Identity.Account; a != nil {
		sel = a.Name
	}
	for i, v := range []string{sel, "tag:Role=app", "scan", "10%", "1", "if-needed"} {
		s.fields[i] = lineEdit{value: v}
	}
	s.tbl = table.New([]table.Column{{Title: "ACCOUNT", Width: 14}, {Title: "REGION", Width: 12}, {Title: "INSTANCE", Width: 20},
		{Title: "STATUS", Width: 24}, {Title: "COMMAND", Width: 36, Drop: 1}, {Title: "DETAIL", Width: 20, Flex: true}}, c.Styles.Table)
	s.tbl.SetNaturalOrder(true)
	s.tbl.SetEmptyMessage("fill in the form and press enter: a plan per account × region, then the guard asks")
	s.tbl.SetStyler(func(r *table.Row, col int) (lipgloss.Style, bool) {
		if col != 3 {
			return lipgloss.Style{}, false
		}
		switch {
		case strings.HasPrefix(r.Cells[3], "Success"), strings.HasPrefix(r.Cells[3], "sent"), strings.HasPrefix(r.Cells[3], "done"):
			return c.Styles.Good, true
		case strings.HasPrefix(r.Cells[3], "Failed"), strings.HasPrefix(r.Cells[3], "failed"), strings.HasPrefix(r.Cells[3], "refused"):
			return c.Styles.Bad, true
		}
		return c.Styles.Info, true
	})
	return s
}

func (s *patchScreen) Title() string { return "Patch" }
func (s *patchScreen) Keys() []key.Binding {
	return []key.Binding{key.NewBinding(key.WithKeys("tab"), key.WithHelp("tab", "next field")),
		key.NewBinding(key.WithKeys("enter"), key.WithHelp("enter", "plan and run")),
		key.NewBinding(key.WithKeys("e"), key.WithHelp("e", "edit the form"))}
}
func (s *patchScreen) Capturing() bool { return s.editing && !s.running }
func (s *patchScreen) SetSize(w, h int) {
	s.w, s.h = w, h
	s.tbl.SetSize(w, max(2, h-nFields-4))
}
func (s *patchScreen) Init() tea.Cmd { return nil }

func (s *patchScreen) Update(msg tea.Msg) tea.Cmd {
	switch msg := msg.(type) {
	case patchRowMsg:
		if msg.reqID != s.reqID {
			return nil
		}
		s.upsert(msg.row)
		return msg.next
	case patchDoneMsg:
		if msg.reqID == s.reqID {
			s.running = false
			s.note = "finished · e edits the form for another run · :audit has the journal"
		}
		return nil
	case tea.KeyPressMsg:
		if s.editing && !s.running {
			return s.formKey(msg)
		}
		if msg.String() == "e" && !s.running {
			s.editing = true
			return nil
		}
		s.keys.navigate(s.tbl, 6, msg)
	}
	return nil
}

func (s *patchScreen) upsert(r table.Row) {
	rows := s.tbl.VisibleRows()
	out := make([]table.Row, 0, len(rows)+1)
	replaced := false
	for _, x := range rows {
		if x.Key == r.Key {
			out = append(out, r)
			replaced = true
		} else {
			out = append(out, *x)
		}
	}
	if !replaced {
		out = append(out, r)
	}
	s.tbl.SetRows(out)
}

func (s *patchScreen) formKey(k tea.KeyPressMsg) tea.Cmd {
	switch k.String() {
	case "esc":
		s.editing = false
		return Navigate(AccountsKind)
	case "tab", "down":
		s.focus = (s.focus + 1) % nFields
	case "shift+tab", "up":
		s.focus = (s.focus + nFields - 1) % nFields
	case "enter":
		return s.start()
	default:
		s.fields[s.focus].handle(k)
	}
	return nil
}

// start validates the form, builds one plan per account × region and runs
// them in order through the guard; rows report each step.
func (s *patchScreen) start() tea.Cmd {
	v := func(i int) string { return strings.TrimSpace(s.fields[i].value) }
	op := map[string]string{"scan": "Scan", "install": "Install"}[strings.ToLower(v(fOperation))]
	reboot := map[string]string{"if-needed": "RebootIfNeeded", "never": "NoReboot"}[strings.ToLower(v(fReboot))]
	o := patch.Options{Operation: op, MaxConcurrency: v(fConcurrency), MaxErrors: v(fErrors), Reboot: reboot}
	if err := o.Validate(); err != nil {
		return ReportError(fmt.Errorf("%v (operation: scan|install, reboot: if-needed|never)", err))
	}
	var tgt patch.Targets
	var err error
	if t := v(fTargets); strings.HasPrefix(t, "tag:") {
		tgt, err = patch.ParseTargets(t, nil)
	} else {
		tgt, err = patch.ParseTargets("", strings.Split(t, ","))
	}
	if err != nil {
		return ReportError(err)
	}
	accts, err := s.ctx.Config.Select(v(fSelect))
	if err != nil {
		return ReportError(err)
	}
	targets := fleet.Targets(accts, nil)
	s.reqID++
	s.running, s.editing, s.note = true, false, ""
	s.tbl.SetRows(nil)
	for _, t := range targets {
		s.upsert(targetRow(t, "queued", "", ""))
	}
	updates := make(chan table.Row, 64)
	id := s.reqID
	go s.runAll(targets, tgt, o, updates)
	var next tea.Cmd
	next = func() tea.Msg {
		r, ok := <-updates
		if !ok {
			return patchDoneMsg{id}
		}
		return patchRowMsg{reqID: id, row: r, next: next}
	}
	return next
}

func targetRow(t fleet.Target, status, cmd, detail string) table.Row {
	return table.Row{Key: t.String(), Cells: []string{t.Account.Name, t.Region, "", status, cmd, detail}}
}

func (s *patchScreen) runAll(targets []fleet.Target, tgt patch.Targets, o patch.Options, updates chan<- table.Row) {
	defer close(updates)
	c := s.ctx
	r := c.runner()
	// One answer per account for the whole run, whatever its regions.
	var mu sync.Mutex
	answers := map[string]string{}
	ask := r.Confirm
	r.Confirm = func(ctx context.Context, g profiles.Gate, p plan.Plan) (string, error) {
		mu.Lock()
		a, ok := answers[p.Account.ID]
		mu.Unlock()
		if ok {
			return a, nil
		}
		if ask == nil {
			return "", errors.New("no way to confirm")
		}
		a, err := ask(ctx, g, p)
		if err == nil {
			mu.Lock()
			answers[p.Account.ID] = a
			mu.Unlock()
		}
		return a, err
	}
	for _, t := range targets {
		role := roleFor(c, t)
		p := plan.New("patch."+strings.ToLower(o.Operation), t.Account, t.Region, role, c.Config.Operator.Name, "from the opsdeck patch screen",
			[]string{tgt.String()}, map[string]string{"operation": o.Operation, "max_concurrency": o.MaxConcurrency, "max_errors": o.MaxErrors, "reboot": o.Reboot})
		p.Steps = []string{fmt.Sprintf("SendCommand %s (%s) to %s; SSM runs %s at a time, stops after %s errors", patch.Document, o.Operation, tgt, o.MaxConcurrency, o.MaxErrors)}
		updates <- targetRow(t, "confirming", "", "")
		var cmdID string
		_, err := r.Run(c.Ctx, p, func(ctx context.Context, res *plan.Result) error {
			cfg, _, err := c.Broker.Config(ctx, t.Account, role, t.Region)
			if err != nil {
				return err
			}
			var api patch.SSMAPI = ssm.NewFromConfig(cfg)
			if c.NewPatchSSM != nil {
				api = c.NewPatchSSM(cfg)
			}
			updates <- targetRow(t, "sending", "", "")
			if cmdID, err = patch.Send(ctx, api, p, tgt, o, res); err != nil {
				return err
			}
			updates <- targetRow(t, "sent", cmdID, res.Results["target_count"]+" targets")
			invs, err := patch.Follow(ctx, api, cmdID, 0, func(done, total int) {
				updates <- targetRow(t, fmt.Sprintf("following %d/%d", done, total), cmdID, "")
			})
			var ue *awsx.UnavailableError
			if errors.As(err, &ue) {
				updates <- targetRow(t, "sent", cmdID, "per-instance results are not available on this endpoint")
				return nil
			}
			for _, inv := range invs {
				updates <- table.Row{Key: t.String() + "/" + inv.InstanceID, Cells: []string{t.Account.Name, t.Region, inv.InstanceID, inv.Status, cmdID, inv.Detail}}
			}
			if err == nil {
				failed := 0
				for _, inv := range invs {
					if inv.Status != "Success" {
						failed++
					}
				}
				if failed > 0 {
					err = fmt.Errorf("%d of %d instances did not succeed", failed, len(invs))
				}
			}
			if err == nil {
				updates <- targetRow(t, "done", cmdID, fmt.Sprintf("%d instances", len(invs)))
			}
			return err
		})
		var re *plan.RefusedError
		switch {
		case errors.As(err, &re):
			updates <- targetRow(t, "refused", "", re.Reason)
		case err != nil:
			updates <- targetRow(t, "failed", cmdID, awsx.Summary(err))
		}
	}
}

func (s *patchScreen) View() string {
	st := s.ctx.Styles
	head := st.Title.Render("Patch") + st.Muted.Render(" · AWS-RunPatchBaseline with SSM's rate control")
	var form []string
	for i := 0; i < nFields; i++ {
		label := fmt.Sprintf("%-16s", fieldNames[i])
		val := s.fields[i].value
		if s.editing && !s.running && i == s.focus {
			form = append(form, st.Key.Render("› "+label)+s.fields[i].view())
		} else {
			form = append(form, st.Muted.Render("  "+label)+val)
		}
	}
	status := st.Muted.Render("tab moves · enter plans and runs (the guard asks per account) · esc leaves")
	if !s.editing || s.running {
		status = st.Info.Render(s.note)
		if s.running {
			status = st.Info.Render("running: each account's guard asks first")
		}
	}
	return head + "\n" + strings.Join(form, "\n") + "\n" + status + "\n" + s.tbl.View()
}
