package recipe

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/opsdeck/opsdeck/ops/emulator"
	"github.com/opsdeck/opsdeck/profiles"
)

const good = `name = "golden-base"
description = "hardened base"

[base]
owner = "self"
name_pattern = "golden-base-*"

[build]
account = "platform-shared"
region = "eu-north-1"

[[provisioners]]
type = "script"
script = "harden.sh"

[tags]
team = "platform"

[distribution]
select = "customer=acme"
regions = ["eu-north-1", "eu-west-1"]

[retention]
keep = 3
deprecate_after = "720h"
`

func estate(t *testing.T) *profiles.Config {
	cfg, err := profiles.Parse("estate.toml", []byte(emulator.DemoEstate().ConfigTOML()))
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

func write(t *testing.T, dir, body string) string {
	p := filepath.Join(dir, "golden-base.toml")
	if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestLoadGood(t *testing.T) {
	dir := t.TempDir()
	script, _ := os.ReadFile("testdata/harden.sh")
	os.WriteFile(filepath.Join(dir, "harden.sh"), script, 0o755)
	r, err := Load(write(t, dir, good), estate(t))
	if err != nil {
		t.Fatal(err)
	}
	if r.Build.InstanceType != "t3.micro" || r.Base.Architecture != "x86_64" || len(r.Distribution.Channels) != 2 ||
		r.Retention.DeprecateDuration().Hours() != 720 || len(r.Hash) != 64 {
		t.Fatalf("recipe = %+v", r)
	}
	// The hash covers referenced files: changing the script changes it.
	os.WriteFile(filepath.Join(dir, "harden.sh"), append(script, []byte("echo more\n")...), 0o755)
	r2, err := Load(filepath.Join(dir, "golden-base.toml"), estate(t))
	if err != nil || r2.Hash == r.Hash {
		t.Fatalf("hash did not follow the script: %v", err)
	}
}

func TestRecipeErrors(t *testing.T) {
	tests := []struct {
		name string
		from string
		to   string
		want string
	}{
		{"unknown key", `description = "hardened base"`, `descripton = "x"`, `2:1: unknown key "descripton"`},
		{"bad name", `name = "golden-base"`, `name = "Golden Base"`, `1:8: name "Golden Base" is not an image name`},
		{"both base kinds", `owner = "self"`, "owner = \"self\"\nssm_parameter = \"/x\"", `6:17: base has both ssm_parameter and owner/name_pattern`},
		{"unknown build account", `account = "platform-shared"`, `account = "nobody"`, `9:11: build.account "nobody" is not in the estate`},
		{"bad region", `region = "eu-north-1"`, `region = "north"`, `10:10: build.region "north" is not a region`},
		{"missing script", `script = "harden.sh"`, `script = "nope.sh"`, `14:10: nope.sh:`},
		{"bad provisioner type", `type = "script"`, `type = "ansible"`, `13:8: provisioner type "ansible"`},
		{"reserved tag", `team = "platform"`, `"opsdeck:x" = "y"`, `17:15: tag "opsdeck:x" uses a reserved prefix`},
		{"bad selector", `select = "customer=acme"`, `select = "tier=gold"`, `20:10: distribution.select:`},
		{"bad duration", `deprecate_after = "720h"`, `deprecate_after = "a month"`, `25:19: retention.deprecate_after "a month"`},
		{"wrong type", `keep = 3`, `keep = "three"`, `24:8: retention.keep: got a TOML string, want an int`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			os.WriteFile(filepath.Join(dir, "harden.sh"), []byte("#!/bin/sh\n"), 0o755)
			p := write(t, dir, strings.Replace(good, tt.from, tt.to, 1))
			_, err := Load(p, estate(t))
			var ce *profiles.ConfigErrors
			if !errors.As(err, &ce) {
				t.Fatalf("err = %v", err)
			}
			if got := (*ce)[0].Error(); !strings.HasPrefix(got, p+":"+tt.want) {
				t.Fatalf("got  %s\nwant %s:%s", got, p, tt.want)
			}
		})
	}
}
