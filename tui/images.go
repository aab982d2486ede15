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
	steps   []string
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
	s.tbl.SetSize(w, max(3, h-len(s.recipes)-len(s.rerr)-12))
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

type bakeStepMsg struct {
	text string
	ch   <-chan string
}

func listenBake(ch <-chan string) tea.Cmd {
	return func() tea.Msg {
		t, ok := <-ch
		if !ok {
			return nil
		}
		return bakeStepMsg{text: t, ch: ch}
	}
}

func (s *imagesScreen) Update(msg tea.Msg) tea.Cmd {
	if cmd, ok := s.fan.update(msg); ok || cmd != nil {
		return cmd
	}
	switch msg := msg.(type) {
	case bakeStepMsg:
		s.steps = append(s.steps, msg.text)
		if len(s.steps) > 200 {
			s.steps = s.steps[len(s.steps)-200:]
		}
		return listenBake(msg.ch)
	case actionDoneMsg:
		s.baking, s.busy = false, ""
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
	steps := make(chan string, 256)
	s.baking, s.steps = true, nil
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
			if lvl, text, ok := e.UI(); ok && (lvl == "say" || lvl == "error" || strings.HasPrefix(text, "opsdeck:")) && strings.TrimSpace(text) != "" {
				select {
				case steps <- strings.TrimSpace(text):
				default:
				}
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
	if s.baking || len(s.steps) > 0 {
		title := "last bake"
		if s.baking {
			title = s.fan.spin.View() + " baking"
		}
		n := 6
		from := max(0, len(s.steps)-n)
		lines := s.steps[from:]
		b.WriteString("\n" + st.Title.Render(title) + "\n" + strings.Join(lines, "\n"))
	}
	if s.busy != "" {
		b.WriteString("\n" + st.Info.Render(s.busy+"…"))
	}
	return b.String()
}
