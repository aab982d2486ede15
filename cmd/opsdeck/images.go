package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ssm"

	"github.com/opsdeck/opsdeck/images/bake"
	"github.com/opsdeck/opsdeck/images/recipe"
	"github.com/opsdeck/opsdeck/ops/audit"
	"github.com/opsdeck/opsdeck/ops/plan"
	"github.com/opsdeck/opsdeck/profiles"
)

const imagesUsage = `images bake RECIPE [--dry-run] [--yes] [--confirm-account NAME]`

func cmdImages(ctx context.Context, e *env, args []string) error {
	verb, rest := splitCommand(args)
	switch verb {
	case "bake":
		return imagesBake(ctx, e, rest)
	case "":
		return usagef("usage: opsdeck %s", imagesUsage)
	}
	return usagef("unknown images command %q (bake is here; ls, promote and usage come with the promotion work); usage: opsdeck %s", verb, imagesUsage)
}

// findTools locates Packer and the plugin directory: $OPSDECK_PACKER and
// $PACKER_PLUGIN_PATH, else bin/packer and .packer.d/plugins next to the
// opsdeck binary (where `make tools` puts them), else packer on PATH.
func findTools() (bake.Tools, error) {
	t := bake.Tools{Packer: os.Getenv("OPSDECK_PACKER"), PluginPath: os.Getenv("PACKER_PLUGIN_PATH")}
	if self, err := os.Executable(); err == nil {
		dir := filepath.Dir(self)
		if t.Packer == "" {
			if p := filepath.Join(dir, "packer"); fileExists(p) {
				t.Packer = p
			}
		}
		if t.PluginPath == "" {
			if p := filepath.Join(dir, "..", ".packer.d", "plugins"); fileExists(p) {
				t.PluginPath, _ = filepath.Abs(p)
			}
		}
	}
	if t.Packer == "" {
		if p, err := exec.LookPath("packer"); err == nil {
			t.Packer = p
		}
	}
	if t.Packer == "" {
		return t, bake.ErrNoPacker
	}
	return t, nil
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

// emulatorEndpoint is the EC2 endpoint when it is an emulator on this
// machine (loopback): the bake then renders the emulator template. A real
// endpoint override (a VPC endpoint) bakes normally.
func emulatorEndpoint() string {
	for _, k := range []string{"AWS_ENDPOINT_URL_EC2", "AWS_ENDPOINT_URL"} {
		v := os.Getenv(k)
		if v == "" {
			continue
		}
		u, err := url.Parse(v)
		if err != nil {
			return ""
		}
		if ip := net.ParseIP(u.Hostname()); u.Hostname() == "localhost" || ip != nil && ip.IsLoopback() {
			return v
		}
		return ""
	}
	return ""
}

func packerVersion(packer string) string {
	out, err := exec.Command(packer, "version").Output()
	if err != nil {
		return "unknown"
	}
	return strings.TrimPrefix(strings.TrimSpace(strings.SplitN(string(out), "\n", 2)[0]), "Packer v")
}

func imagesBake(ctx context.Context, e *env, args []string) error {
	var g globals
	var m mutFlags
	fs := newFlags("images bake", e, &g, imagesUsage)
	m.register(fs)
	pos, _, err := parse(fs, args)
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
	endpoint := emulatorEndpoint()
	c, creds, err := b.Config(ctx, a, role, r.Build.Region)
	if err != nil {
		return err
	}
	api := bake.Resolver{Client: ec2.NewFromConfig(c), SSM: ssm.NewFromConfig(c)}
	if m.dryRun {
		base, err := bake.ResolveBase(ctx, api, r)
		if err != nil {
			return err
		}
		tmpl, err := bake.Render(r, bake.RenderOptions{SourceAMI: base, Stamp: now.UTC().Format("20060102-150405"), BuiltBy: cfg.Operator.Name,
			BuiltAt: now.UTC().Format(time.RFC3339), PackerVersion: "(dry run)", Endpoint: endpoint})
		if err != nil {
			return err
		}
		fmt.Fprint(e.stdout, tmpl)
		return nil
	}
	tools, err := findTools()
	if err != nil {
		return err
	}
	work := filepath.Join(filepath.Dir(audit.DefaultPath()), "bakes", r.Name+"-"+now.UTC().Format("20060102-150405"))
	p := newPlan("images.bake", a, r.Build.Region, role, cfg.Operator.Name, m.reason, []string{r.Name},
		map[string]string{"recipe": r.Path, "recipe_hash": r.Hash})
	p.Steps = []string{"run packer build in " + a.Name + "/" + r.Build.Region + " (an instance runs until the AMI is made)", "tag the AMI with its lineage"}
	return runPlan(ctx, e, &g, m.runner(e, &g, cfg), p, func(ctx context.Context, res *plan.Result) error {
		out, err := bake.Bake(ctx, bake.Input{Recipe: r, API: api, Tools: tools, WorkDir: work, Env: envFor(creds, r.Build.Region),
			Endpoint: endpoint, BuiltBy: cfg.Operator.Name, PackerVersion: packerVersion(tools.Packer), Now: now},
			func(ev bake.Event) {
				if lvl, text, ok := ev.UI(); ok && (lvl == "say" || lvl == "error") && strings.TrimSpace(text) != "" {
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

// envFor is the child environment acting with creds in region.
func envFor(creds profiles.Creds, region string) []string {
	return profiles.Env(os.Environ(), creds, region)
}
