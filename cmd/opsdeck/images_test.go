package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/opsdeck/opsdeck/ops/audit"
)

// The demo's recipe bakes against the emulator through the CLI, with the
// guard and the journal, using the Packer that `make tools` built.
func TestImagesBakeCLI(t *testing.T) {
	cfg := seededConfig(t)
	root, _ := filepath.Abs("../..")
	t.Setenv("OPSDECK_PACKER", filepath.Join(root, "bin", "packer"))
	t.Setenv("PACKER_PLUGIN_PATH", filepath.Join(root, ".packer.d", "plugins"))
	t.Setenv("XDG_STATE_HOME", t.TempDir())
	recipe := filepath.Join(filepath.Dir(cfg), "golden-base.toml")

	code, out, errs := opsdeck(t, "images", "bake", recipe, "--config", cfg, "--dry-run", "--var", "release=2026.11")
	if code != 0 || !strings.Contains(out, `source_ami    = "ami-0a11e2023b6e86400"`) || !strings.Contains(out, `communicator               = "none"`) ||
		!strings.Contains(out, `variable "release"`) || !strings.Contains(out, `post-processor "opsdeck-promote"`) {
		t.Fatalf("dry run: %d\n%s\n%s", code, out, errs)
	}
	if code, _, errs := opsdeck(t, "images", "bake", recipe, "--config", cfg, "--var", "not a var"); code != exitBadInput || !strings.Contains(errs, "want name=value") {
		t.Fatalf("bad --var: %d %s", code, errs)
	}
	if es, _, _ := audit.Read(audit.DefaultPath()); len(es) != 0 {
		t.Fatal("a dry run wrote to the journal")
	}
	// The recipe publishes to customer=acme: acme-prod is protected and
	// must be named (before anything starts); the others take --yes.
	code, _, errs = opsdeck(t, "images", "bake", recipe, "--config", cfg, "--yes")
	if code != exitFailure || !strings.Contains(errs, "acme-prod") {
		t.Fatalf("bake without acme-prod's name: %d %s", code, errs)
	}
	code, out, errs = opsdeck(t, "images", "bake", recipe, "--config", cfg, "--yes", "--confirm-account", "acme-prod", "--json", "--var", "release=2026.11")
	if code != 0 {
		t.Fatalf("bake: %d\n%s\n%s", code, out, errs)
	}
	var res struct {
		Results map[string]string `json:"results"`
	}
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if !strings.Contains(errs, "opsdeck: promoting golden-base") {
		t.Errorf("the post-processor did not publish:\n%s", errs)
	}
	baked := res.Results["ami_eu-north-1"]
	if !strings.HasPrefix(baked, "ami-") {
		t.Fatalf("no AMI: %s", out)
	}
	if _, err := os.Stat(res.Results["log"]); err != nil {
		t.Fatalf("bake log not kept: %v", err)
	}
	if !strings.Contains(errs, "Creating AMI golden-base-") {
		t.Errorf("no progress on stderr:\n%s", errs)
	}
	// Published by opsdeck-promote in every acme account and region.
	code, out, _ = opsdeck(t, "images", "ls", "--select", "customer=acme", "--config", cfg, "--json")
	if code != 0 || strings.Count(out, baked) < 3 || strings.Count(out, `"channel": "candidate"`) < 6 {
		t.Fatalf("images ls after publishing: %d\n%s", code, out)
	}
	code, out, _ = opsdeck(t, "images", "ls", "--select", "acme-test", "--regions", "eu-north-1", "--config", cfg, "--json")
	if code != 0 || !strings.Contains(out, `"channel": "candidate"`) || !strings.Contains(out, baked) {
		t.Fatalf("images ls: %d\n%s", code, out)
	}
	code, _, errs = opsdeck(t, "images", "promote", "golden-base", "--from", "candidate", "--to", "stable", "--select", "acme-test", "--yes", "--config", cfg)
	if code != 0 {
		t.Fatalf("promote: %d %s", code, errs)
	}
	code, out, _ = opsdeck(t, "images", "ls", "--select", "acme-test", "--regions", "eu-north-1", "--config", cfg, "--json")
	var ls struct {
		Channels []struct{ Image, Channel, AMI string } `json:"channels"`
	}
	json.Unmarshal([]byte(out), &ls)
	stable := ""
	for _, c := range ls.Channels {
		if c.Image == "golden-base" && c.Channel == "stable" {
			stable = c.AMI
		}
	}
	if stable != baked {
		t.Fatalf("stable = %s after promotion, want %s", stable, baked)
	}
	// The seeded instances still run the old image: usage marks them.
	code, out, _ = opsdeck(t, "images", "usage", "golden-base", "--select", "acme-test", "--regions", "eu-north-1", "--config", cfg)
	if code != 0 || !strings.Contains(out, "OLD: not on stable") || !strings.Contains(out, baked) {
		t.Fatalf("images usage: %d\n%s", code, out)
	}
	code, _, errs = opsdeck(t, "images", "bake", filepath.Join(t.TempDir(), "missing.toml"), "--config", cfg)
	if code == 0 || !strings.Contains(errs, "missing.toml") {
		t.Fatalf("missing recipe: %d %s", code, errs)
	}
}
