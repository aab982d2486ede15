package main

import (
	"fmt"
	"strings"
	"time"

	"github.com/opsdeck/opsdeck/ops/audit"
)

func cmdAudit(e *env, args []string) error {
	var g globals
	var since time.Duration
	var account, file string
	fs := newFlags("audit", e, &g, "audit [--since DURATION] [--account A] [--json]")
	fs.DurationVar(&since, "since", 0, "only entries newer than this (e.g. 24h)")
	fs.StringVar(&account, "account", "", "only this account (name or id)")
	fs.StringVar(&file, "file", "", "journal `FILE` (default $XDG_STATE_HOME/opsdeck/audit.jsonl)")
	if _, _, err := parse(fs, args); err != nil {
		return err
	}
	if file == "" {
		file = audit.DefaultPath()
	}
	entries, warns, err := audit.Read(file)
	if err != nil {
		return err
	}
	for _, w := range warns {
		fmt.Fprintf(e.stderr, "warning: %s: %s\n", file, w)
	}
	out := []audit.Entry{}
	cut := time.Now().Add(-since)
	for _, en := range entries {
		if since > 0 && en.Time.Before(cut) {
			continue
		}
		if account != "" && en.Account != account && en.AccountID != account {
			continue
		}
		out = append(out, en)
	}
	if g.json {
		return writeJSON(e.stdout, map[string]any{"entries": out, "file": file})
	}
	tw := newTab(e.stdout)
	fmt.Fprintln(tw, "TIME\tOPERATOR\tACCOUNT\tREGION\tACTION\tPHASE\tOUTCOME\tTARGETS\tDETAIL")
	for _, en := range out {
		detail := en.Error
		if detail == "" {
			var parts []string
			for k, v := range en.Results {
				parts = append(parts, k+"="+v)
			}
			detail = strings.Join(parts, " ")
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", en.Time.Local().Format(time.DateTime), en.Operator, en.Account, en.Region,
			en.Action, en.Phase, en.Outcome, strings.Join(en.Targets, ","), detail)
	}
	return tw.Flush()
}
