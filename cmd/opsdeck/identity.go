package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"syscall"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/opsdeck/opsdeck/profiles"
)

// resolve loads the config and finds ACCOUNT, the role to use and the
// region (--region, else the account's first).
func resolve(g *globals, name, role string) (cfg *profiles.Config, a *profiles.Account, _ string, region string, err error) {
	if cfg, err = g.load(); err != nil {
		return nil, nil, "", "", err
	}
	if a, err = cfg.MustAccount(name); err != nil {
		return nil, nil, "", "", err
	}
	if role == "" {
		role = cfg.DefaultRole(a)
	}
	if _, err := cfg.Role(role); err != nil {
		return nil, nil, "", "", err
	}
	region = g.region
	switch {
	case region == "":
		region = a.Regions[0]
	case !profiles.ValidRegion(region):
		return nil, nil, "", "", usagef("--region %q is not a region name (e.g. eu-west-1)", g.region)
	}
	return cfg, a, role, region, nil
}

func cmdWhoami(ctx context.Context, e *env, args []string) error {
	var g globals
	var role string
	fs := newFlags("whoami", e, &g, "whoami ACCOUNT [--role KEY] [--json]")
	fs.StringVar(&role, "role", "", "role `KEY` from [roles.*] (default: the account's role)")
	pos, _, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usagef("whoami needs exactly one ACCOUNT (name or id)")
	}
	cfg, a, role, region, err := resolve(&g, pos[0], role)
	if err != nil {
		return err
	}
	b := g.broker(e, cfg)
	c, creds, err := b.Config(ctx, a, role, region)
	if err != nil {
		return err
	}
	id, err := b.WhoAmI(ctx, c)
	if err != nil {
		return fmt.Errorf("%s as %s (%s): GetCallerIdentity: %w", a.Name, role, c.Region, err)
	}
	left := time.Until(creds.Expires).Round(time.Second)
	if g.json {
		return writeJSON(e.stdout, map[string]any{
			"account": a.Name, "account_id": aws.ToString(id.Account), "role": role, "region": c.Region,
			"arn": aws.ToString(id.Arn), "user_id": aws.ToString(id.UserId),
			"expires": creds.Expires.UTC().Format(time.RFC3339), "expires_in_seconds": int(left.Seconds()),
		})
	}
	tw := newTab(e.stdout)
	fmt.Fprintf(tw, "account\t%s (%s)\n", a.Name, aws.ToString(id.Account))
	fmt.Fprintf(tw, "role\t%s\n", role)
	fmt.Fprintf(tw, "region\t%s\n", c.Region)
	fmt.Fprintf(tw, "arn\t%s\n", aws.ToString(id.Arn))
	fmt.Fprintf(tw, "expires\t%s (in %s)\n", creds.Expires.Local().Format("15:04:05 MST"), left)
	return tw.Flush()
}

func cmdExec(ctx context.Context, e *env, args []string) error {
	var g globals
	var role string
	fs := newFlags("exec", e, &g, "exec ACCOUNT [--role KEY] [--region R] -- CMD [ARGS...]")
	fs.StringVar(&role, "role", "", "role `KEY` from [roles.*] (default: the account's role)")
	pos, rest, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 1 && rest == nil {
		// "opsdeck exec acme-prod aws s3 ls" without "--": accept it.
		pos, rest = pos[:1], pos[1:]
	}
	if len(pos) != 1 || len(rest) == 0 {
		return usagef("exec needs ACCOUNT and a command: opsdeck exec ACCOUNT -- CMD [ARGS...]")
	}
	cfg, a, role, region, err := resolve(&g, pos[0], role)
	if err != nil {
		return err
	}
	creds, err := g.broker(e, cfg).Credentials(ctx, a, role)
	if err != nil {
		return err
	}
	path, err := exec.LookPath(rest[0])
	if err != nil {
		return usagef("%s: command not found", rest[0])
	}
	cmd := exec.Command(path, rest[1:]...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = e.stdin, e.stdout, e.stderr
	cmd.Env = profiles.Env(os.Environ(), creds, region)
	// The child gets Ctrl-C from the terminal itself; opsdeck waits for it.
	signal.Ignore(syscall.SIGINT, syscall.SIGQUIT)
	defer signal.Reset(syscall.SIGINT, syscall.SIGQUIT)
	if err := cmd.Run(); err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			return &exitError{code: ee.ExitCode()}
		}
		return fmt.Errorf("exec %s: %w", rest[0], err)
	}
	return nil
}
