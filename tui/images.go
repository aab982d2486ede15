package tui

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"
	"charm.land/lipgloss/v2"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	"github.com/charmbracelet/x/ansi"

	"github.com/opsdeck/opsdeck/images/bake"
	"github.com/opsdeck/opsdeck/images/promote"
	"github.com/opsdeck/opsdeck/images/recipe"
	"github.com/opsdeck/opsdeck/ops/audit"
	"github.com/opsdeck/opsdeck/ops/fleet"
	"github.com/opsdeck/opsdeck/ops/plan"
	"github.com/opsdeck/opsdeck/profiles"
	"github.com/opsdeck/opsdeck/tui/table"
)

func init() {
	register(screenSpec{Kind: ImagesKind, Command: "images", Aliases: []string{"img", "ami"}, Args: "[SEL]",
		Help: "golden images: recipes, b bake, channel matrix, p promote, u usage", New: newImages})
}

type channelRef struct {
	Target fleet.Target
	Entry  promote.ChannelEntry
}

type imageKeys struct {
	listKeys
	Bake, Promote, Usage, Reload key.Binding
}

type imagesScreen struct {
	ctx     *Context
	tbl     *table.Model
	fan     *fanout
	keys    imageKeys
	sel     string
	recipes []*recipe.Recipe
	rerr    []string
	baking  bool
	steps   []string // Packer's steps
	log     []string // every UI line, provisioner output included
	logPath string   // the last bake's full log
	busy    string
	w, h    int
}

var imageCols = []table.Column{
	{Title: "IMAGE", Width: 14}, {Title: "CHANNEL", Width: 10}, {Title: "ACCOUNT", Width: 14}, {Title: "REGION", Width: 12, Drop: 1},
	{Title: "AMI", Width: 22, Flex: true}, {Title: "AGE", Width: 6},
}

func newImages(c *Context) Screen {
	s := &imagesScreen{ctx: c, sel: "all", keys: imageKeys{listKeys: newListKeys(),
		Bake:    key.NewBinding(key.WithKeys("b"), key.WithHelp("b", "bake the recipe")),
		Promote: key.NewBinding(key.WithKeys("p"), key.WithHelp("p", "promote candidate → stable here")),
		Usage:   key.NewBinding(key.WithKeys("u"), key.WithHelp("u", "which AMIs this image's instances run")),
		Reload:  key.NewBinding(key.WithKeys("ctrl+r", "R"), key.WithHelp("R", "reload")),
	}}
	s.tbl = table.New(imageCols, c.Styles.Table)
	s.tbl.SetNaturalOrder(true)
	s.tbl.SetEmptyMessage("no image channels yet: bake a recipe with b")
	s.tbl.SetStyler(func(r *table.Row, col int) (lipgloss.Style, bool) {
		if col == 1 && r.Cells[1] == "stable" {
			return c.Styles.Good, true
		}
		if col == 1 && r.Cells[1] == "candidate" {
			return c.Styles.Warn, true
		}
		return lipgloss.Style{}, false
	})
	s.fan = newFanout(ImagesKind, s.tbl, func(t fleet.Target, msg string) table.Row {
		return table.Row{Key: "~" + t.String(), Cells: []string{"✗ " + msg, "", t.Account.Name, t.Region, "", ""}}
	})
	for _, f := range c.Config.RecipeFiles() {
		r, err := recipe.Load(f, c.Config)
		if err != nil {
			s.rerr = append(s.rerr, errorText(err))
			continue
		}
		s.recipes = append(s.recipes, r)
	}
	return s
}

func (s *imagesScreen) Title() string { return "Images" }
func (s *imagesScreen) Keys() []key.Binding {
	if s.ctx.ReadOnly {
		return []key.Binding{s.keys.Usage, s.keys.Reload}
	}
	return []key.Binding{s.keys.Bake, s.keys.Promote, s.keys.Usage, s.keys.Reload}
}
func (s *imagesScreen) SetFilter(f string) { s.tbl.SetFilter(f) }
func (s *imagesScreen) Filter() string     { return s.tbl.Filter() }
func (s *imagesScreen) SetSize(w, h int) {
	s.w, s.h = w, h
	s.layout()
}

// layout gives the matrix the body, or half of it while there is a bake to
// show beside its log.
func (s *imagesScreen) layout() {
	h := s.h - len(s.recipes) - len(s.rerr) - 5
	if s.baking || len(s.log) > 0 {
		h /= 2
	}
	s.tbl.SetSize(s.w, max(3, h))
}
func (s *imagesScreen) Init() tea.Cmd { return s.load() }

func (s *imagesScreen) SetParams(p any) tea.Cmd {
	if sel, ok := p.(string); ok && sel != "" {
		s.sel = sel
	}
	return s.load()
}

func (s *imagesScreen) load() tea.Cmd {
	accts, err := s.ctx.Config.Select(s.sel)
	if err != nil {
		return ReportError(err)
	}
	now := s.ctx.Now()
	return runFan(s.fan, s.ctx, fleet.Targets(accts, nil), func(ctx context.Context, c aws.Config, _ fleet.Target) ([]promote.ChannelEntry, error) {
		return promote.Channels(ctx, ssm.NewFromConfig(c))
	}, func(t fleet.Target, es []promote.ChannelEntry) []table.Row {
		rows := make([]table.Row, len(es))
		for i, e := range es {
			rows[i] = table.Row{Key: e.Image + "/" + e.Channel + "/" + t.String(), Data: channelRef{t, e},
				Cells: []string{e.Image, e.Channel, t.Account.Name, t.Region, e.AMI, age(now, e.Updated)}}
		}
		return rows
	})
}

// bakeLine is one line of Packer's UI: a step ("==> amazon-ebs.golden:
// Creating AMI …", our post-processor's lines) or only log (provisioner
// output, messages).
type bakeLine struct {
	step bool
	text string
}

type bakeStepMsg struct {
	line bakeLine
	ch   <-chan bakeLine
}

func listenBake(ch <-chan bakeLine) tea.Cmd {
	return func() tea.Msg {
		l, ok := <-ch
		if !ok {
			return nil
		}
		return bakeStepMsg{line: l, ch: ch}
	}
}

// stepText drops Packer's arrow and build-name prefix: "==>
// amazon-ebs.golden (opsdeck-promote): opsdeck: …" → "opsdeck: …".
func stepText(l string) string {
	l = strings.TrimPrefix(strings.TrimSpace(l), "==> ")
	if name, rest, ok := strings.Cut(l, ": "); ok && strings.HasPrefix(name, "amazon-ebs.") {
		return rest
	}
	return l
}

// keepLast appends l to ls, keeping the last n.
func keepLast(ls []string, l string, n int) []string {
	ls = append(ls, l)
	if len(ls) > n {
		ls = ls[len(ls)-n:]
	}
	return ls
}

func (s *imagesScreen) Update(msg tea.Msg) tea.Cmd {
	if cmd, ok := s.fan.update(msg); ok || cmd != nil {
		return cmd
	}
	switch msg := msg.(type) {
	case bakeStepMsg:
		if msg.line.step {
			s.steps = keepLast(s.steps, stepText(msg.line.text), 200)
		}
		s.log = keepLast(s.log, msg.line.text, 500)
		return listenBake(msg.ch)
	case actionDoneMsg:
		s.baking, s.busy = false, ""
		if msg.res != nil && msg.res.Results["log"] != "" {
			s.logPath = msg.res.Results["log"]
		}
		return tea.Batch(msg.report(), s.load())
	case tea.KeyPressMsg:
		if s.keys.navigate(s.tbl, len(imageCols), msg) {
			return nil
		}
		switch {
		case key.Matches(msg, s.keys.Reload):
			return s.load()
		case key.Matches(msg, s.keys.Usage):
			return s.usage()
		case s.ctx.ReadOnly || s.baking || s.busy != "":
			return nil
		case key.Matches(msg, s.keys.Bake):
			return s.bake()
		case key.Matches(msg, s.keys.Promote):
			return s.promote()
		}
	}
	return nil
}

// bake runs the first recipe through the guard: Packer's steps stream into
// the step list.
func (s *imagesScreen) bake() tea.Cmd {
	if len(s.recipes) == 0 {
		return ReportError(fmt.Errorf("no recipes: list them under [images] recipes in %s", s.ctx.Config.Path))
	}
	r := s.recipes[0]
	c := s.ctx
	a := c.Config.Account(r.Build.Account)
	role := c.Config.DefaultRole(a)
	p := plan.New("images.bake", a, r.Build.Region, role, c.Config.Operator.Name, "from the opsdeck images screen", []string{r.Name},
		map[string]string{"recipe": r.Path, "recipe_hash": r.Hash})
	p.Steps = []string{"run packer build in " + a.Name + "/" + r.Build.Region, "tag the AMI with its lineage"}
	pub, others, err := bake.PublishFor(c.Config, r, a)
	if err != nil {
		return ReportError(err)
	}
	p.Steps = append(p.Steps, "publish it (opsdeck-promote) on "+pub.Channel+" in "+r.Distribution.Select+" × "+strings.Join(r.Distribution.Regions, ","))
	steps := make(chan bakeLine, 256)
	s.baking, s.steps, s.log, s.logPath = true, nil, nil, ""
	s.layout()
	exec := func(ctx context.Context, res *plan.Result) error {
		defer close(steps)
		cfg, creds, err := c.Broker.Config(ctx, a, role, r.Build.Region)
		if err != nil {
			return err
		}
		tools, err := bake.FindTools()
		if err != nil {
			return err
		}
		work := filepath.Join(filepath.Dir(audit.DefaultPath()), "bakes", r.Name+"-"+time.Now().UTC().Format("20060102-150405"))
		out, err := bake.Bake(ctx, bake.Input{Recipe: r, API: bake.Resolver{Client: ec2.NewFromConfig(cfg), SSM: ssm.NewFromConfig(cfg)},
			Tools: tools, WorkDir: work, Env: profiles.Env(os.Environ(), creds, r.Build.Region), Endpoint: bake.EmulatorEndpoint(), BuiltBy: c.Config.Operator.Name,
			PackerVersion: tools.Version(ctx), Now: time.Now(), Publish: pub}, func(e bake.Event) {
			lvl, text, ok := e.UI()
			if text = strings.TrimRight(text, " \n"); !ok || strings.TrimSpace(text) == "" {
				return
			}
			step := lvl == "error" || strings.HasPrefix(text, "==>") || strings.Contains(text, "opsdeck:")
			for _, l := range strings.Split(text, "\n") {
				select {
				case steps <- bakeLine{step: step, text: l}:
				default: // a stalled screen drops log lines, never the bake
				}
				step = false
			}
		})
		if out != nil {
			for region, ami := range out.AMIs {
				res.Set(region, ami)
			}
			res.Set("log", out.Log)
		}
		return err
	}
	// Publishing writes in every target account: their guards are asked
	// (in the dialog) before the bake starts.
	runner := c.runner()
	run := func() tea.Msg {
		if err := runner.ConfirmAll(c.Ctx, others); err != nil {
			close(steps)
			return actionDoneMsg{plan: p, err: err}
		}
		res, err := runner.Run(c.Ctx, p, exec)
		return actionDoneMsg{plan: p, res: res, err: err}
	}
	return tea.Batch(run, listenBake(steps))
}

// usage opens the usage view for the selected row's image (or the first
// recipe's) across this screen's selection.
func (s *imagesScreen) usage() tea.Cmd {
	image := ""
	if r := s.tbl.Selected(); r != nil {
		if ref, ok := r.Data.(channelRef); ok {
			image = ref.Entry.Image
		}
	}
	if image == "" && len(s.recipes) > 0 {
		image = s.recipes[0].Name
	}
	if image == "" {
		return ReportError(fmt.Errorf("no image here: bake a recipe with b first"))
	}
	return NavigateWith(ImageUsageKind, usageParams{Image: image, Sel: s.sel})
}

// promote moves the selected row's image from candidate to stable in that
// account and region.
func (s *imagesScreen) promote() tea.Cmd {
	r := s.tbl.Selected()
	if r == nil {
		return nil
	}
	ref, ok := r.Data.(channelRef)
	if !ok {
		return nil
	}
	c := s.ctx
	p := plan.New("images.promote", ref.Target.Account, ref.Target.Region, roleFor(c, ref.Target), c.Config.Operator.Name,
		"from the opsdeck images screen", []string{ref.Entry.Image}, map[string]string{"from": "candidate", "to": "stable"})
	p.Steps = []string{"point " + promote.Parameter(ref.Entry.Image, "stable") + " at the AMI on candidate"}
	s.busy = "promoting " + ref.Entry.Image
	return runAction(c, p, func(ctx context.Context, res *plan.Result) error {
		cfg, _, err := c.Broker.Config(ctx, ref.Target.Account, roleFor(c, ref.Target), ref.Target.Region)
		if err != nil {
			return err
		}
		ami, err := promote.Move(ctx, ssm.NewFromConfig(cfg), ref.Entry.Image, "candidate", "stable")
		res.Set("stable", ami)
		return err
	})
}

func (s *imagesScreen) View() string {
	st := s.ctx.Styles
	var b strings.Builder
	b.WriteString(st.Title.Render("Images") + st.Muted.Render(" · "+s.sel) + "  " + s.fan.progress(st, "channel entries") + "\n")
	b.WriteString(st.Muted.Render("recipes: "))
	if len(s.recipes) == 0 && len(s.rerr) == 0 {
		b.WriteString(st.Muted.Render("none ([images] recipes in the config)"))
	}
	for _, r := range s.recipes {
		b.WriteString(fmt.Sprintf("%s %s", st.Key.Render(r.Name), st.Muted.Render(fmt.Sprintf("(%s/%s, %s, hash %s)  ", r.Build.Account, r.Build.Region, strings.Join(r.Distribution.Channels, "→"), r.Hash[:10]))))
	}
	for _, e := range s.rerr {
		b.WriteString("\n" + st.Bad.Render("✗ "+e))
	}
	b.WriteString("\n\n" + s.tbl.View())
	if s.baking || len(s.log) > 0 {
		b.WriteString("\n" + s.bakePanes())
	}
	if s.busy != "" {
		b.WriteString("\n" + st.Info.Render(s.busy+"…"))
	}
	return b.String()
}

// bakePanes is the bake's step list beside its log, as much of each as
// fits under the matrix.
func (s *imagesScreen) bakePanes() string {
	st := s.ctx.Styles
	title := "last bake"
	if s.baking {
		title = s.fan.spin.View() + " baking"
	}
	if s.logPath != "" {
		title += st.Muted.Render(" · log " + s.logPath)
	}
	n := max(3, s.h-lipgloss.Height(s.tbl.View())-len(s.recipes)-len(s.rerr)-5)
	left := max(20, s.w*2/5)
	pane := func(ls []string, w int, style lipgloss.Style) string {
		ls = ls[max(0, len(ls)-n):]
		cut := make([]string, len(ls))
		for i, l := range ls {
			cut[i] = ansi.Truncate(l, w-1, "…")
		}
		return style.Width(w).Render(strings.Join(cut, "\n"))
	}
	return st.Title.Render(title) + "\n" + lipgloss.JoinHorizontal(lipgloss.Top,
		pane(s.steps, left, lipgloss.NewStyle()), pane(s.log, max(10, s.w-left), st.Muted))
}
