package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ssm"

	"github.com/opsdeck/opsdeck/images/bake"
	"github.com/opsdeck/opsdeck/images/promote"
	"github.com/opsdeck/opsdeck/images/recipe"
	"github.com/opsdeck/opsdeck/ops/audit"
	"github.com/opsdeck/opsdeck/ops/awsx"
	"github.com/opsdeck/opsdeck/ops/fleet"
	"github.com/opsdeck/opsdeck/ops/plan"
	"github.com/opsdeck/opsdeck/profiles"
)

const imagesUsage = `images bake RECIPE [--var k=v]... [--dry-run] [--yes] [--confirm-account NAME]
       opsdeck images promote NAME --from candidate --to stable [--select SEL] [--regions R1,R2]
       opsdeck images ls [--select SEL] [--regions R1,R2]
       opsdeck images usage NAME [--select SEL] [--regions R1,R2]`

func cmdImages(ctx context.Context, e *env, args []string) error {
	verb, rest := splitCommand(args)
	switch verb {
	case "bake":
		return imagesBake(ctx, e, rest)
	case "promote":
		return imagesPromote(ctx, e, rest)
	case "ls", "list":
		return imagesLs(ctx, e, rest)
	case "usage":
		return cmdImagesUsage(ctx, e, rest)
	case "":
		return usagef("usage: opsdeck %s", imagesUsage)
	}
	return usagef("unknown images command %q; usage: opsdeck %s", verb, imagesUsage)
}

func imagesBake(ctx context.Context, e *env, args []string) error {
	var g globals
	var m mutFlags
	var rawVars listFlag
	fs := newFlags("images bake", e, &g, imagesUsage)
	m.register(fs)
	fs.Var(&rawVars, "var", "Packer variable `k=v` (repeat), usable in the recipe as ${var.k}")
	pos, _, err := parse(fs, args)
	if err != nil {
		return err
	}
	vars, err := rawVars.pairs("var")
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usagef("usage: opsdeck %s", imagesUsage)
	}
	cfg, err := g.load()
	if err != nil {
		return err
	}
	r, err := recipe.Load(pos[0], cfg)
	if err != nil {
		return err
	}
	a := cfg.Account(r.Build.Account)
	role := cfg.DefaultRole(a)
	b := g.broker(e, cfg)
	now := time.Now()
	endpoint := bake.EmulatorEndpoint()
	c, creds, err := b.Config(ctx, a, role, r.Build.Region)
	if err != nil {
		return err
	}
	api := bake.Resolver{Client: ec2.NewFromConfig(c), SSM: ssm.NewFromConfig(c)}
	pub, others, err := bake.PublishFor(cfg, r, a)
	if err != nil {
		return err
	}
	if m.dryRun {
		base, err := bake.ResolveBase(ctx, api, r)
		if err != nil {
			return err
		}
		tmpl, err := bake.Render(r, bake.RenderOptions{SourceAMI: base, Stamp: now.UTC().Format("20060102-150405"), BuiltBy: cfg.Operator.Name,
			BuiltAt: now.UTC().Format(time.RFC3339), PackerVersion: "(dry run)", Endpoint: endpoint, Publish: pub, Vars: vars})
		if err != nil {
			return err
		}
		fmt.Fprint(e.stdout, tmpl)
		return nil
	}
	tools, err := bake.FindTools()
	if err != nil {
		return err
	}
	work := filepath.Join(filepath.Dir(audit.DefaultPath()), "bakes", r.Name+"-"+now.UTC().Format("20060102-150405"))
	p := newPlan("images.bake", a, r.Build.Region, role, cfg.Operator.Name, m.reason, []string{r.Name},
		map[string]string{"recipe": r.Path, "recipe_hash": r.Hash})
	for k, v := range vars {
		p.Params["var."+k] = v
	}
	p.Steps = []string{"run packer build in " + a.Name + "/" + r.Build.Region + " (an instance runs until the AMI is made)", "tag the AMI with its lineage",
		"publish it (opsdeck-promote) on channel " + r.Distribution.Channels[0] + " in " + r.Distribution.Select + " × " + strings.Join(r.Distribution.Regions, ",") + " (each account's guard is asked first)"}
	runner := m.runner(e, &g, cfg)
	// Publishing writes in every target account: all their guards agree
	// before the bake starts.
	if err := runner.ConfirmAll(ctx, others); err != nil {
		return &guardError{err.(*plan.RefusedError)}
	}
	return runPlan(ctx, e, &g, runner, p, func(ctx context.Context, res *plan.Result) error {
		out, err := bake.Bake(ctx, bake.Input{Recipe: r, API: api, Tools: tools, WorkDir: work, Env: envFor(creds, r.Build.Region),
			Endpoint: endpoint, BuiltBy: cfg.Operator.Name, PackerVersion: tools.Version(ctx), Now: now, Publish: pub, Vars: vars},
			func(ev bake.Event) {
				if lvl, text, ok := ev.UI(); ok && (lvl == "say" || lvl == "error" || strings.HasPrefix(text, "opsdeck:")) && strings.TrimSpace(text) != "" {
					fmt.Fprintln(e.stderr, strings.TrimRight(text, "\n"))
				}
			})
		if out != nil {
			res.Set("log", out.Log)
			for region, ami := range out.AMIs {
				res.Set("ami_"+region, ami)
			}
		}
		if errors.Is(ctx.Err(), context.Canceled) {
			return fmt.Errorf("bake interrupted: %w", err)
		}
		return err
	})
}

func imagesPromote(ctx context.Context, e *env, args []string) error {
	var g globals
	var m mutFlags
	var ff fanFlags
	var from, to string
	fs := newFlags("images promote", e, &g, "images promote NAME --from candidate --to stable [--select SEL]")
	m.register(fs)
	ff.register(fs)
	fs.StringVar(&from, "from", "candidate", "channel to promote from")
	fs.StringVar(&to, "to", "stable", "channel to promote to")
	pos, _, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 || from == to {
		return usagef("usage: opsdeck images promote NAME --from CHANNEL --to CHANNEL (different channels)")
	}
	cfg, err := g.load()
	if err != nil {
		return err
	}
	targets, err := ff.targets(cfg)
	if err != nil {
		return err
	}
	b := g.broker(e, cfg)
	r := m.runner(e, &g, cfg)
	failed, first := 0, ""
	for _, t := range targets {
		p := newPlan("images.promote", t.Account, t.Region, ff.role, cfg.Operator.Name, m.reason, []string{pos[0]},
			map[string]string{"from": from, "to": to})
		p.Steps = []string{"point " + promote.Parameter(pos[0], to) + " at the AMI on " + promote.Parameter(pos[0], from)}
		if err := runPlan(ctx, e, &g, r, p, func(ctx context.Context, res *plan.Result) error {
			c, _, err := b.Config(ctx, t.Account, ff.role, t.Region)
			if err != nil {
				return err
			}
			ami, err := promote.Move(ctx, ssm.NewFromConfig(c), pos[0], from, to)
			res.Set("ami", ami)
			return err
		}); err != nil {
			failed++
			msg := fmt.Sprintf("%s/%s: %s", t.Account.Name, t.Region, awsx.Clean(err))
			fmt.Fprintln(e.stderr, "opsdeck: "+msg)
			if first == "" {
				first = msg
			}
		}
	}
	return fanOutcome(e, "promotion", failed, len(targets), first)
}

type channelRow struct {
	Account string `json:"account"`
	Region  string `json:"region"`
	promote.ChannelEntry
	AgeSeconds int64 `json:"age_seconds"`
}

func imagesLs(ctx context.Context, e *env, args []string) error {
	var g globals
	var ff fanFlags
	fs := newFlags("images ls", e, &g, "images ls [--select SEL] [--regions R1,R2]")
	ff.register(fs)
	if _, _, err := parse(fs, args); err != nil {
		return err
	}
	cfg, err := g.load()
	if err != nil {
		return err
	}
	now := time.Now()
	return runListing(ctx, e, &g, &ff, cfg, listing[promote.ChannelEntry, channelRow]{
		key:    "channels",
		header: []string{"IMAGE", "CHANNEL", "ACCOUNT", "REGION", "AMI", "AGE"},
		fetch: func(ctx context.Context, c aws.Config, _ fleet.Target) ([]promote.ChannelEntry, error) {
			return promote.Channels(ctx, ssm.NewFromConfig(c))
		},
		row: func(t fleet.Target, ce promote.ChannelEntry) channelRow {
			return channelRow{t.Account.Name, t.Region, ce, int64(now.Sub(ce.Updated).Seconds())}
		},
		less: func(a, b channelRow) bool {
			return a.Image+a.Channel+a.Account+a.Region < b.Image+b.Channel+b.Account+b.Region
		},
		cells: func(r channelRow) []string {
			return []string{r.Image, r.Channel, r.Account, r.Region, r.AMI, (time.Duration(r.AgeSeconds) * time.Second).Round(time.Minute).String()}
		},
	})
}

// envFor is the child environment acting with creds in region.
func envFor(creds profiles.Creds, region string) []string {
	return profiles.Env(os.Environ(), creds, region)
}

type usageRow struct {
	Account string `json:"account"`
	Region  string `json:"region"`
	Stable  string `json:"stable"`
	promote.Usage
}

func cmdImagesUsage(ctx context.Context, e *env, args []string) error {
	var g globals
	var ff fanFlags
	fs := newFlags("images usage", e, &g, "images usage NAME [--select SEL] [--regions R1,R2]")
	ff.register(fs)
	pos, _, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usagef("usage: opsdeck images usage NAME")
	}
	name := pos[0]
	cfg, err := g.load()
	if err != nil {
		return err
	}
	return runListing(ctx, e, &g, &ff, cfg, listing[stableUsage, usageRow]{
		key:    "usage",
		header: []string{"ACCOUNT", "REGION", "AMI", "INSTANCES", "STABLE", ""},
		fetch: func(ctx context.Context, c aws.Config, t fleet.Target) ([]stableUsage, error) {
			stable, us, err := promote.UsageAt(ctx, ssm.NewFromConfig(c), ec2.NewFromConfig(c), name)
			out := make([]stableUsage, len(us))
			for i, u := range us {
				out[i] = stableUsage{stable, u}
			}
			return out, err
		},
		row: func(t fleet.Target, u stableUsage) usageRow {
			return usageRow{t.Account.Name, t.Region, u.stable, u.Usage}
		},
		less: func(a, b usageRow) bool { return a.Account+a.Region < b.Account+b.Region },
		cells: func(r usageRow) []string {
			return []string{r.Account, r.Region, r.AMI, fmt.Sprint(r.Instances), r.Stable, r.Usage.Status(r.Stable)}
		},
	})
}

// stableUsage is one AMI in use with the AMI on stable where it runs.
type stableUsage struct {
	stable string
	promote.Usage
}
