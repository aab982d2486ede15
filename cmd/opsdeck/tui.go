package main

import (
	"context"
	"fmt"
	"strings"

	"github.com/opsdeck/opsdeck/profiles"
	"github.com/opsdeck/opsdeck/tui"
)

func cmdTUI(ctx context.Context, e *env, args []string) error {
	var g globals
	var account string
	var firstFrame string
	fs := newFlags("", e, &g, "[--config FILE] [--read-only] [--account NAME]")
	fs.StringVar(&account, "account", "", "switch to account `NAME` at start")
	fs.StringVar(&firstFrame, "first-frame", "", "")
	pos, _, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usagef("unknown command %q", pos[0])
	}
	cfg, err := g.load()
	if err != nil {
		return err
	}
	if account != "" {
		if _, err := cfg.MustAccount(account); err != nil {
			return err
		}
	}
	o := tui.Options{ReadOnly: g.readOnly, Region: g.region, Account: account, Plugin: findPlugin(ctx)}
	if firstFrame != "" {
		// Hidden: render the first frame at WxH and exit (start-up benchmark).
		return printFirstFrame(e, cfg, o, firstFrame)
	}
	return tui.Run(ctx, cfg, g.brokerOptions(e), o)
}

func printFirstFrame(e *env, cfg *profiles.Config, o tui.Options, size string) error {
	var w, h int
	if _, err := fmt.Sscanf(strings.ToLower(size), "%dx%d", &w, &h); err != nil {
		return usagef("--first-frame WxH: %v", err)
	}
	o.Config = cfg
	o.Account = ""
	m := tui.New(o)
	m.Context().Width, m.Context().Height = w, h
	_, _ = m.Update(tui.Resize(w, h))
	_, err := fmt.Fprintln(e.stdout, m.Render())
	return err
}
