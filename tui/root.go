package tui

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"charm.land/bubbles/v2/key"
	"charm.land/bubbles/v2/spinner"
	tea "charm.land/bubbletea/v2"
	"charm.land/lipgloss/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/opsdeck/opsdeck/ops/sessions"
	"github.com/opsdeck/opsdeck/profiles"
)

type mode int

const (
	modeNormal mode = iota
	modePalette
	modeFilter
	modePrompt
	modeHelp
	modeConfirm
)

// Options configure the root model.
type Options struct {
	Config   *profiles.Config
	Broker   *profiles.Broker
	ReadOnly bool
	// Region overrides the account's first region (the --region flag).
	Region string
	// Now is the clock (golden tests pin it).
	Now func() time.Time
	// Start is the first screen (default accounts).
	Start Kind
	// Account to switch to at start (the --account flag); "" = none.
	Account string
	// Plugin runs Session Manager sessions (shells, tunnels).
	Plugin sessions.Plugin
}

// Model is the root tea.Model.
type Model struct {
	ctx     *Context
	screens map[Kind]Screen
	stack   []Kind
	mode    mode
	keys    globalKeys

	edit     lineEdit
	palSel   int
	footer   string
	footerSt lipgloss.Style

	// identity switching in flight
	reqID     int
	switching *SwitchMsg
	spin      spinner.Model
	region    string

	prompt  *mfaPromptMsg
	confirm *confirmPromptMsg
	cancel  context.CancelFunc
	initCmd tea.Cmd
}

// New builds the root model.
func New(o Options) *Model {
	if o.Now == nil {
		o.Now = time.Now
	}
	ctx, cancel := context.WithCancel(context.Background())
	c := &Context{Ctx: ctx, Config: o.Config, Broker: o.Broker, Styles: DefaultStyles(DefaultTheme()), Now: o.Now, ReadOnly: o.ReadOnly}
	m := &Model{ctx: c, screens: map[Kind]Screen{}, keys: newGlobalKeys(), region: o.Region, cancel: cancel,
		spin: spinner.New(spinner.WithSpinner(spinner.MiniDot))}
	m.initCmd = m.open(o.Start, nil)
	if o.Account != "" {
		if a := o.Config.Account(o.Account); a != nil {
			m.switching = &SwitchMsg{Account: a, Role: o.Config.DefaultRole(a)}
		}
	}
	return m
}

// Context exposes the shared context (tests and cmd read the identity).
func (m *Model) Context() *Context { return m.ctx }

type tickMsg time.Time

func tick() tea.Cmd { return tea.Tick(time.Second, func(t time.Time) tea.Msg { return tickMsg(t) }) }

// Init starts the clock, the first screen, and a pending switch.
func (m *Model) Init() tea.Cmd {
	cmds := []tea.Cmd{tick(), m.initCmd}
	if m.switching != nil {
		sw := *m.switching
		m.switching = nil
		cmds = append(cmds, m.startSwitch(sw))
	}
	return tea.Batch(cmds...)
}

func (m *Model) current() Screen { return m.screens[m.stack[len(m.stack)-1]] }

func (m *Model) open(k Kind, params any) tea.Cmd {
	spec, found := screens[k]
	if !found {
		return ReportError(fmt.Errorf("no screen %d", k))
	}
	for i, s := range m.stack {
		if s == k { // already open: go back to it
			m.stack = m.stack[:i]
			break
		}
	}
	s, ok := m.screens[k]
	var cmds []tea.Cmd
	if !ok || spec.Fresh {
		s = spec.New(m.ctx)
		m.screens[k] = s
		cmds = append(cmds, s.Init())
	}
	m.stack = append(m.stack, k)
	s.SetSize(m.bodySize())
	if p, ok := s.(Paramed); ok && params != nil {
		cmds = append(cmds, p.SetParams(params))
	}
	return tea.Batch(cmds...)
}

func (m *Model) bodySize() (int, int) { return m.ctx.Width, max(0, m.ctx.Height-2) }

// Update routes messages: by mode first, then global keys, then the screen.
func (m *Model) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	switch msg := msg.(type) {
	case tea.WindowSizeMsg:
		m.ctx.Width, m.ctx.Height = msg.Width, msg.Height
		w, h := m.bodySize()
		for _, s := range m.screens {
			s.SetSize(w, h)
		}
		return m, nil
	case tickMsg:
		// Screens with clocks (tunnel uptimes) refresh on the same tick.
		return m, tea.Batch(tick(), m.current().Update(msg))
	case spinner.TickMsg:
		if msg.ID != m.spin.ID() {
			return m, m.current().Update(msg) // a screen's spinner
		}
		if m.switching == nil {
			return m, nil
		}
		var cmd tea.Cmd
		m.spin, cmd = m.spin.Update(msg)
		return m, cmd
	case NavigateMsg:
		return m, m.open(msg.Kind, msg.Params)
	case ErrorMsg:
		m.setFooter(errorText(msg.Err), m.ctx.Styles.Bad)
		return m, nil
	case InfoMsg:
		m.setFooter(msg.Text, m.ctx.Styles.Info)
		return m, nil
	case SwitchMsg:
		return m, m.startSwitch(msg)
	case identityMsg:
		return m, m.finishSwitch(msg)
	case confirmPromptMsg:
		m.confirm = &msg
		m.mode = modeConfirm
		m.edit = lineEdit{}
		return m, nil
	case mfaPromptMsg:
		m.prompt = &msg
		m.mode = modePrompt
		m.edit = lineEdit{}
		return m, nil
	case tea.KeyPressMsg:
		return m, m.handleKey(msg)
	}
	return m, m.current().Update(msg)
}

func (m *Model) setFooter(s string, st lipgloss.Style) { m.footer, m.footerSt = s, st }

func (m *Model) handleKey(k tea.KeyPressMsg) tea.Cmd {
	if k.String() == "ctrl+c" {
		return m.quit()
	}
	switch m.mode {
	case modeConfirm:
		return m.confirmKey(k)
	case modePrompt:
		return m.promptKey(k)
	case modePalette:
		return m.paletteKey(k)
	case modeFilter:
		return m.filterKey(k)
	case modeHelp:
		if key.Matches(k, m.keys.Back, m.keys.Help, m.keys.Quit) {
			m.mode = modeNormal
		}
		return nil
	}
	if c, ok := m.current().(Capturing); ok && c.Capturing() {
		return m.current().Update(k)
	}
	m.footer = "" // the next key clears the footer
	switch {
	case key.Matches(k, m.keys.Quit):
		return m.quit()
	case key.Matches(k, m.keys.Palette):
		m.mode, m.edit, m.palSel = modePalette, lineEdit{}, 0
		return nil
	case key.Matches(k, m.keys.Filter):
		if f, ok := m.current().(Filterable); ok {
			m.mode = modeFilter
			m.edit = lineEdit{value: f.Filter()}
		}
		return nil
	case key.Matches(k, m.keys.Help):
		m.mode = modeHelp
		return nil
	case key.Matches(k, m.keys.Back):
		if f, ok := m.current().(Filterable); ok && f.Filter() != "" {
			f.SetFilter("")
			return nil
		}
		if len(m.stack) > 1 {
			m.stack = m.stack[:len(m.stack)-1]
			m.current().SetSize(m.bodySize())
		}
		return nil
	}
	return m.current().Update(k)
}

func (m *Model) quit() tea.Cmd {
	if m.prompt != nil {
		m.prompt.reply <- mfaReply{err: errors.New("opsdeck is quitting")}
		m.prompt = nil
	}
	if m.confirm != nil {
		m.confirm.reply <- mfaReply{err: errors.New("opsdeck is quitting")}
		m.confirm = nil
	}
	m.cancel()
	return tea.Quit
}

func (m *Model) filterKey(k tea.KeyPressMsg) tea.Cmd {
	f := m.current().(Filterable)
	switch k.String() {
	case "esc":
		f.SetFilter("")
		m.mode = modeNormal
	case "enter":
		m.mode = modeNormal
	default:
		if m.edit.handle(k) {
			f.SetFilter(m.edit.value)
		}
	}
	return nil
}

func (m *Model) paletteKey(k tea.KeyPressMsg) tea.Cmd {
	cmds := m.commands()
	word, _, _ := strings.Cut(m.edit.value, " ")
	matches := complete(cmds, word)
	switch k.String() {
	case "esc":
		m.mode = modeNormal
	case "up", "ctrl+p":
		m.palSel = max(0, m.palSel-1)
	case "down", "ctrl+n":
		m.palSel = min(len(matches)-1, m.palSel+1)
	case "tab":
		if len(matches) > 0 && !strings.Contains(m.edit.value, " ") {
			c := matches[min(m.palSel, len(matches)-1)]
			m.edit.value = c.Name
			if c.Args != "" {
				m.edit.value += " "
			}
		}
	case "enter":
		m.mode = modeNormal
		fields := strings.Fields(m.edit.value)
		if len(fields) == 0 {
			return nil
		}
		c, ok := lookup(cmds, strings.ToLower(fields[0]))
		if !ok && len(matches) > 0 && !strings.Contains(m.edit.value, " ") {
			c, ok = matches[min(m.palSel, len(matches)-1)], true
		}
		if !ok {
			return ReportError(fmt.Errorf("no command %q: type : then tab to see the commands", fields[0]))
		}
		return c.Run(m, fields[1:])
	default:
		if m.edit.handle(k) {
			m.palSel = 0
		}
	}
	return nil
}

func (m *Model) promptKey(k tea.KeyPressMsg) tea.Cmd {
	switch k.String() {
	case "esc":
		m.prompt.reply <- mfaReply{err: errors.New("MFA prompt cancelled")}
		m.prompt, m.mode = nil, modeNormal
	case "enter":
		m.prompt.reply <- mfaReply{code: m.edit.value}
		m.prompt, m.mode = nil, modeNormal
	default:
		m.edit.handle(k)
	}
	return nil
}

func (m *Model) cmdRegion(args []string) tea.Cmd {
	id := m.ctx.Identity
	if id.Account == nil {
		return ReportError(errors.New("no account yet: pick one on :accounts first"))
	}
	if len(args) != 1 {
		return ReportError(fmt.Errorf("usage: region REGION (this account: %s)", strings.Join(id.Account.Regions, ", ")))
	}
	m.region = args[0]
	return m.startSwitch(SwitchMsg{Account: id.Account, Role: id.Role})
}

func (m *Model) cmdRole(args []string) tea.Cmd {
	id := m.ctx.Identity
	if id.Account == nil {
		return ReportError(errors.New("no account yet: pick one on :accounts first"))
	}
	if len(args) != 1 {
		return ReportError(fmt.Errorf("usage: role ROLE (roles: %s)", strings.Join(roleKeys(m.ctx.Config), ", ")))
	}
	if _, err := m.ctx.Config.Role(args[0]); err != nil {
		return ReportError(err)
	}
	return m.startSwitch(SwitchMsg{Account: id.Account, Role: args[0]})
}

// identityMsg is the reply to a switch; reqID drops stale replies.
type identityMsg struct {
	reqID int
	ident Identity
	err   error
}

func (m *Model) startSwitch(sw SwitchMsg) tea.Cmd {
	if sw.Role == "" {
		sw.Role = m.ctx.Config.DefaultRole(sw.Account)
	}
	m.reqID++
	id := m.reqID
	m.switching = &sw
	region := m.region
	if region == "" || !contains(sw.Account.Regions, region) && m.ctx.Identity.Account != sw.Account {
		region = sw.Account.Regions[0]
	}
	b, ctx := m.ctx.Broker, m.ctx.Ctx
	run := func() tea.Msg {
		if b == nil {
			return identityMsg{reqID: id, err: errors.New("no credential broker configured")}
		}
		cctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
		defer cancel()
		_, creds, err := b.Config(cctx, sw.Account, sw.Role, region)
		return identityMsg{reqID: id, err: err, ident: Identity{Account: sw.Account, Role: sw.Role, Region: region, Expires: creds.Expires, ARN: creds.ARN}}
	}
	return tea.Batch(run, m.spin.Tick)
}

func (m *Model) finishSwitch(msg identityMsg) tea.Cmd {
	if msg.reqID != m.reqID {
		return nil // an older switch answered late
	}
	sw := m.switching
	m.switching = nil
	if msg.err != nil {
		prev := "no account"
		if a := m.ctx.Identity.Account; a != nil {
			prev = a.Name
		}
		// What to try comes first: a narrow footer cuts the SDK detail.
		hint, detail := "press enter to retry or r for another role", errorText(msg.err)
		var ae *profiles.AuthError
		if errors.As(msg.err, &ae) && ae.Hint != "" {
			hint = ae.Hint
			detail = fmt.Sprintf("%s: %v", ae.Step, ae.Err)
		}
		m.setFooter(fmt.Sprintf("✗ could not switch to %s as %s (still on %s): %s · %s",
			sw.Account.Name, sw.Role, prev, hint, detail), m.ctx.Styles.Bad)
		return nil
	}
	m.ctx.Identity = msg.ident
	m.region = msg.ident.Region
	m.setFooter(fmt.Sprintf("now in %s (%s) as %s, %s", msg.ident.Account.Name, msg.ident.Account.ID, msg.ident.Role, msg.ident.Region), m.ctx.Styles.Good)
	return nil
}

// View draws status bar, body and footer.
func (m *Model) View() tea.View {
	v := tea.NewView(m.Render())
	v.AltScreen = true
	v.WindowTitle = "opsdeck"
	if a := m.ctx.Identity.Account; a != nil {
		v.WindowTitle = "opsdeck · " + a.Name
	}
	return v
}

// Render is the frame as a string (View without the terminal settings).
func (m *Model) Render() string {
	w, h := m.ctx.Width, m.ctx.Height
	if w <= 0 || h <= 0 {
		return ""
	}
	body := m.current().View()
	if m.mode == modeHelp {
		body = m.helpView()
	}
	if m.mode == modePalette {
		body = overlayBottom(body, m.paletteView(), h-2)
	}
	if m.mode == modePrompt {
		body = m.promptView(h - 2)
	}
	if m.mode == modeConfirm {
		body = m.confirmView(h - 2)
	}
	return strings.Join([]string{m.statusBar(), fitLines(body, w, h-2), m.footerView()}, "\n")
}

func (m *Model) footerView() string {
	s := m.ctx.Styles
	w := m.ctx.Width
	var line string
	switch m.mode {
	case modePalette:
		line = s.Prompt.Render(":") + m.edit.view()
	case modeFilter:
		line = s.Prompt.Render("/") + m.edit.view() + s.Muted.Render("  enter keep · esc clear")
	case modePrompt:
		line = s.Prompt.Render("MFA code: ") + m.edit.view()
	case modeConfirm:
		line = s.Warn.Render("the guard asks before anything changes")
	default:
		if m.footer != "" {
			line = m.footerSt.Render(ansi.Truncate(m.footer, w, "…"))
		} else {
			line = m.shortHelp()
		}
	}
	return ansi.Truncate(line, w, "…")
}

func (m *Model) shortHelp() string {
	s := m.ctx.Styles
	var parts []string
	for _, b := range append(m.current().Keys(), m.keys.short()...) {
		h := b.Help()
		parts = append(parts, s.Key.Render(h.Key)+" "+s.Desc.Render(h.Desc))
	}
	return strings.Join(parts, s.Muted.Render(" · "))
}

func (m *Model) paletteView() string {
	s := m.ctx.Styles
	word, _, _ := strings.Cut(m.edit.value, " ")
	matches := complete(m.commands(), word)
	var lines []string
	for i, c := range matches {
		name := c.Name
		if c.Args != "" {
			name += " " + c.Args
		}
		line := fmt.Sprintf(" %-18s %s", name, c.Help)
		if len(c.Aliases) > 0 {
			line += s.Muted.Render("  (" + strings.Join(c.Aliases, ", ") + ")")
		}
		if i == m.palSel {
			line = s.Table.Selected.Render(ansi.Strip(line))
		}
		lines = append(lines, line)
	}
	if len(lines) == 0 {
		lines = []string{s.Muted.Render(" no matching command")}
	}
	return s.Box.Render(s.Title.Render("commands") + "  " + s.Muted.Render("tab complete · enter run · esc close") + "\n" + strings.Join(lines, "\n"))
}

func (m *Model) promptView(h int) string {
	s := m.ctx.Styles
	serial := ""
	if m.prompt != nil {
		serial = m.prompt.serial
	}
	box := s.Box.Render(s.Title.Render("MFA code needed") + "\n\n" +
		"device " + serial + "\n" +
		"One code unlocks every account that uses this device\nuntil the session expires.\n\n" +
		s.Muted.Render("type the 6 digits, enter to send, esc to cancel"))
	return lipgloss.Place(m.ctx.Width, h, lipgloss.Center, lipgloss.Center, box)
}

// fitLines pads or cuts s to exactly h lines of at most w cells.
func fitLines(s string, w, h int) string {
	lines := strings.Split(s, "\n")
	if len(lines) > h {
		lines = lines[:h]
	}
	for i, l := range lines {
		if ansi.StringWidth(l) > w {
			lines[i] = ansi.Truncate(l, w, "")
		}
	}
	for len(lines) < h {
		lines = append(lines, "")
	}
	return strings.Join(lines, "\n")
}

// overlayBottom replaces the last lines of body with box.
func overlayBottom(body, box string, h int) string {
	bl := strings.Split(fitLines(body, 1<<16, h), "\n")
	ol := strings.Split(box, "\n")
	if len(ol) > h {
		ol = ol[len(ol)-h:]
	}
	copy(bl[h-len(ol):], ol)
	return strings.Join(bl, "\n")
}

func errorText(err error) string {
	if err == nil {
		return ""
	}
	return strings.ReplaceAll(err.Error(), "\n", "; ")
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func roleKeys(c *profiles.Config) []string {
	out := make([]string, 0, len(c.Roles))
	for k := range c.Roles {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
