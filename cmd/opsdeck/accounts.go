package main

import (
	"fmt"
	"strings"

	"github.com/opsdeck/opsdeck/profiles"
)

type accountJSON struct {
	ID          string   `json:"id"`
	Name        string   `json:"name"`
	Customer    string   `json:"customer"`
	Environment string   `json:"environment"`
	Role        string   `json:"role"`
	Regions     []string `json:"regions"`
	Protection  string   `json:"protection"`
}

func cmdAccounts(e *env, args []string) error {
	var g globals
	var sel string
	fs := newFlags("accounts", e, &g, "accounts [--select SEL] [--json]")
	fs.StringVar(&sel, "select", "all", "accounts to list: all, name globs (acme-*), or key=value terms (customer=acme,environment=prod)")
	pos, _, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usagef("accounts takes no arguments (got %q); use --select", strings.Join(pos, " "))
	}
	cfg, err := g.load()
	if err != nil {
		return err
	}
	accts, err := cfg.Select(sel)
	if err != nil {
		return err
	}
	out := make([]accountJSON, len(accts))
	for i, a := range accts {
		out[i] = accountJSON{ID: a.ID, Name: a.Name, Customer: a.Customer, Environment: a.Environment,
			Role: cfg.DefaultRole(a), Regions: a.Regions, Protection: a.Env().Level().String()}
	}
	if g.json {
		return writeJSON(e.stdout, map[string]any{"accounts": out})
	}
	tw := newTab(e.stdout)
	fmt.Fprintln(tw, "NAME\tID\tCUSTOMER\tENVIRONMENT\tROLE\tREGIONS\tPROTECTION")
	for _, a := range out {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", a.Name, a.ID, a.Customer, a.Environment, a.Role, strings.Join(a.Regions, ","), a.Protection)
	}
	return tw.Flush()
}

func cmdImport(e *env, args []string) error {
	var g globals
	var file string
	fs := newFlags("accounts import-aws-config", e, &g, "accounts import-aws-config [--file ~/.aws/config]")
	fs.StringVar(&file, "file", profiles.AWSConfigPath(), "AWS shared config `FILE` to read")
	if _, _, err := parse(fs, args); err != nil {
		return err
	}
	profs, err := profiles.ReadAWSConfig(file)
	if err != nil {
		return usagef("%v", err)
	}
	// The current config, when there is one, says what not to repeat.
	cfg, _ := g.load()
	toml, warnings := profiles.ImportAWSConfig(profs, cfg, file)
	for _, w := range warnings {
		fmt.Fprintln(e.stderr, "warning:", w)
	}
	_, err = fmt.Fprint(e.stdout, toml)
	return err
}
