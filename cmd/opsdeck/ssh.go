package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/rds"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	"golang.org/x/term"

	"github.com/opsdeck/opsdeck/ops/fleet"
	"github.com/opsdeck/opsdeck/ops/sessions"
	"github.com/opsdeck/opsdeck/ops/sessions/pluginmain"
	"github.com/opsdeck/opsdeck/profiles"
)

// findPlugin: $OPSDECK_SESSION_PLUGIN (a path) wins; else an installed
// session-manager-plugin new enough; else opsdeck's built-in plugin mode.
func findPlugin(ctx context.Context) sessions.Plugin {
	if p := os.Getenv("OPSDECK_SESSION_PLUGIN"); p != "" {
		return sessions.Plugin{Path: p, Version: "from OPSDECK_SESSION_PLUGIN"}
	}
	self, err := os.Executable()
	if err != nil {
		self = os.Args[0]
	}
	return sessions.FindPlugin(ctx, self, pluginmain.Arg)
}

// discover lists the account's jumpboxes in region.
func discover(ctx context.Context, b *profiles.Broker, cfg *profiles.Config, a *profiles.Account, role, region string) ([]sessions.Jumpbox, aws.Config, error) {
	c, _, err := b.Config(ctx, a, role, region)
	if err != nil {
		return nil, c, err
	}
	k, v := sessions.JumpboxTag(cfg, a)
	jbs, err := sessions.Jumpboxes(ctx, ec2.NewFromConfig(c), ssm.NewFromConfig(c), k, v)
	return jbs, c, err
}

// pickJumpbox chooses one; with several online and a terminal, it asks.
func pickJumpbox(e *env, jbs []sessions.Jumpbox, want string, where string) (sessions.Jumpbox, error) {
	j, err := sessions.Pick(jbs, want)
	var amb *sessions.AmbiguousError
	if errors.As(err, &amb) {
		if f, ok := e.stdin.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
			for i, c := range amb.Choices {
				fmt.Fprintf(e.stderr, "  %d) %s %s %s\n", i+1, c.InstanceID, c.Name, c.PrivateIP)
			}
			fmt.Fprint(e.stderr, "jumpbox number: ")
			line, _ := bufio.NewReader(f).ReadString('\n')
			n, perr := strconv.Atoi(strings.TrimSpace(line))
			if perr != nil || n < 1 || n > len(amb.Choices) {
				return j, usagef("no such choice %q", strings.TrimSpace(line))
			}
			return amb.Choices[n-1], nil
		}
	}
	if err != nil {
		return j, fmt.Errorf("%s: %w", where, err)
	}
	return j, nil
}

func cmdSSH(ctx context.Context, e *env, args []string) error {
	var g globals
	var role string
	fs := newFlags("ssh", e, &g, "ssh ACCOUNT [INSTANCE-ID|NAME] [--role KEY] [--region R]")
	fs.StringVar(&role, "role", "", "role `KEY`")
	pos, _, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) < 1 || len(pos) > 2 {
		return usagef("usage: opsdeck ssh ACCOUNT [INSTANCE-ID|NAME]")
	}
	cfg, a, role, region, err := resolve(&g, pos[0], role)
	if err != nil {
		return err
	}
	want := ""
	if len(pos) == 2 {
		want = pos[1]
	}
	b := g.broker(e, cfg)
	where := a.Name + "/" + region
	jbs, _, err := discover(ctx, b, cfg, a, role, region)
	if err != nil && !errors.Is(err, sessions.ErrNoInstanceInfo) {
		return fmt.Errorf("%s: %w", where, err)
	}
	if err != nil {
		fmt.Fprintln(e.stderr, "warning:", err)
	}
	target := want
	if want == "" || !strings.HasPrefix(want, "i-") {
		j, err := pickJumpbox(e, jbs, want, where)
		if err != nil {
			return err
		}
		target = j.InstanceID
	}
	plugin := findPlugin(ctx)
	sh, err := sessions.PrepareShell(ctx, b, a, role, region, target, plugin, nil)
	if err != nil {
		return fmt.Errorf("%s: %w", where, err)
	}
	sh.SetStdin(e.stdin)
	sh.SetStdout(e.stdout)
	sh.SetStderr(e.stderr)
	fmt.Fprintf(e.stderr, "opsdeck: session %s on %s (%s) via %s\n", sh.SessionID, target, where, plugin)
	return sh.Run()
}

func cmdForward(ctx context.Context, e *env, args []string) error {
	var g globals
	var role, to, via, rdsID string
	var local int
	fs := newFlags("forward", e, &g, "forward ACCOUNT (--to HOST:PORT | --rds DB-ID) [--local PORT] [--via INSTANCE]")
	fs.StringVar(&role, "role", "", "role `KEY`")
	fs.StringVar(&to, "to", "", "`HOST:PORT` behind the jumpbox (HOST = the jumpbox itself: a port on it)")
	fs.StringVar(&rdsID, "rds", "", "RDS instance `ID`: forward to its endpoint and port")
	fs.StringVar(&via, "via", "", "jumpbox `INSTANCE` id or Name (default: the account's online jumpbox)")
	fs.IntVar(&local, "local", 0, "local `PORT` on 127.0.0.1 (default: any free port)")
	pos, _, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 || (to == "") == (rdsID == "") {
		return usagef("usage: opsdeck forward ACCOUNT (--to HOST:PORT | --rds DB-ID) [--local PORT] [--via INSTANCE]")
	}
	if local < 0 || local > 65535 {
		return usagef("--local must be a port number")
	}
	cfg, a, role, region, err := resolve(&g, pos[0], role)
	if err != nil {
		return err
	}
	where := a.Name + "/" + region
	b := g.broker(e, cfg)
	jbs, awsCfg, err := discover(ctx, b, cfg, a, role, region)
	if err != nil && !errors.Is(err, sessions.ErrNoInstanceInfo) {
		return fmt.Errorf("%s: %w", where, err)
	}
	j, err := pickJumpbox(e, jbs, via, where)
	if err != nil {
		return err
	}
	var host string
	var port int
	if rdsID != "" {
		db, err := sessions.FindDatabase(ctx, rds.NewFromConfig(awsCfg), rdsID)
		if err != nil {
			return fmt.Errorf("%s: %w", where, err)
		}
		host, port = db.Endpoint, int(db.Port)
	} else {
		h, p, err := net.SplitHostPort(to)
		if err != nil {
			return usagef("--to %q: want HOST:PORT", to)
		}
		if port, err = strconv.Atoi(p); err != nil || port < 1 || port > 65535 {
			return usagef("--to %q: bad port", to)
		}
		host = h
		if h == j.InstanceID || h == j.Name || h == "localhost" {
			host = "" // a port on the jumpbox itself
		}
	}
	spec := sessions.Spec{Account: a, Role: role, Region: region, Instance: j.InstanceID, Host: host, Port: port, LocalPort: local}
	mgr := sessions.NewManager(sessions.NewLauncher(b, findPlugin(ctx), nil), sessions.Backoff{})
	defer mgr.StopAll()
	var last sessions.Info
	mgr.OnChange = func() {
		for _, i := range mgr.List() {
			if i.State != last.State || i.Restarts != last.Restarts {
				if last.State != "" && !g.json {
					fmt.Fprintf(e.stderr, "tunnel %s: %s (restarts %d)%s\n", i.LocalAddr, i.State, i.Restarts, errSuffix(i.LastErr))
				}
				last = i
			}
		}
	}
	sctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	info, err := mgr.Open(sctx, spec)
	if err != nil {
		return fmt.Errorf("%s: %w", where, err)
	}
	last = info
	if g.json {
		_ = jsonEncoder(e.stdout).Encode(map[string]any{"local": info.LocalAddr, "target": spec.Target(), "via": j.InstanceID,
			"account": a.Name, "region": region, "session_id": info.SessionID})
	} else {
		fmt.Fprintf(e.stdout, "forwarding %s → %s via %s (%s); Ctrl-C stops\n", info.LocalAddr, spec.Target(), j.InstanceID, where)
	}
	<-sctx.Done()
	fmt.Fprintln(e.stderr, "opsdeck: stopping the tunnel")
	return nil
}

func errSuffix(s string) string {
	if s == "" {
		return ""
	}
	return ": " + s
}

type jumpboxRow struct {
	Account string `json:"account"`
	Region  string `json:"region"`
	sessions.Jumpbox
}

func cmdJumpboxes(ctx context.Context, e *env, args []string) error {
	var g globals
	var ff fanFlags
	fs := newFlags("jumpboxes", e, &g, "jumpboxes [--select SEL] [--regions R1,R2]")
	ff.register(fs)
	if _, _, err := parse(fs, args); err != nil {
		return err
	}
	cfg, err := g.load()
	if err != nil {
		return err
	}
	warned := false
	err = runListing(ctx, e, &g, &ff, cfg, listing[sessions.Jumpbox, jumpboxRow]{
		key:    "jumpboxes",
		header: []string{"ACCOUNT", "REGION", "INSTANCE", "NAME", "STATE", "SSM", "AGENT", "LAST PING"},
		fetch: func(ctx context.Context, c aws.Config, t fleet.Target) ([]sessions.Jumpbox, error) {
			k, v := sessions.JumpboxTag(cfg, t.Account)
			jbs, err := sessions.Jumpboxes(ctx, ec2.NewFromConfig(c), ssm.NewFromConfig(c), k, v)
			if errors.Is(err, sessions.ErrNoInstanceInfo) {
				warned, err = true, nil
			}
			return jbs, err
		},
		row: func(t fleet.Target, j sessions.Jumpbox) jumpboxRow { return jumpboxRow{t.Account.Name, t.Region, j} },
		cells: func(r jumpboxRow) []string {
			lp := ""
			if !r.LastPing.IsZero() {
				lp = r.LastPing.Local().Format(time.DateTime)
			}
			return []string{r.Account, r.Region, r.InstanceID, r.Name, r.State, r.Ping, r.AgentVersion, lp}
		},
	})
	if warned {
		fmt.Fprintln(e.stderr, "warning:", sessions.ErrNoInstanceInfo)
	}
	return err
}
