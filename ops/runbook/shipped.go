package runbook

import (
	"embed"
	"fmt"
	"os"
	"path"
	"strings"

	"github.com/opsdeck/opsdeck/profiles"
)

// shipped are the runbooks opsdeck comes with.
//
//go:embed shipped
var shipped embed.FS

// Shipped returns the runbooks opsdeck comes with, validated against cfg
// (nil: without the estate).
func Shipped(cfg *profiles.Config) ([]*Runbook, error) {
	ents, err := shipped.ReadDir("shipped")
	if err != nil {
		return nil, err
	}
	var out []*Runbook
	for _, e := range ents {
		if !strings.HasSuffix(e.Name(), ".toml") {
			continue
		}
		r, err := parseShipped(e.Name(), cfg)
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, nil
}

func parseShipped(file string, cfg *profiles.Config) (*Runbook, error) {
	data, err := shipped.ReadFile(path.Join("shipped", file))
	if err != nil {
		return nil, err
	}
	return Parse("(shipped) "+file, data, cfg)
}

// Open loads a runbook file, or a shipped runbook by name when no such
// file exists.
func Open(nameOrPath string, cfg *profiles.Config) (*Runbook, error) {
	if _, err := os.Stat(nameOrPath); err == nil || strings.ContainsAny(nameOrPath, "/.") {
		return Load(nameOrPath, cfg)
	}
	r, err := parseShipped(nameOrPath+".toml", cfg)
	if err != nil && os.IsNotExist(err) {
		return nil, fmt.Errorf("no runbook file or shipped runbook %q: run `opsdeck runbook ls` to see the shipped ones", nameOrPath)
	}
	return r, err
}

// ShippedFile reads a file a shipped runbook references (a template).
func ShippedFile(rb *Runbook, name string) ([]byte, error) {
	if !strings.HasPrefix(rb.Path, "(shipped) ") || strings.Contains(name, "..") {
		return nil, os.ErrNotExist
	}
	return shipped.ReadFile(path.Join("shipped", name))
}
