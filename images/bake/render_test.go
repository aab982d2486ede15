package bake

import (
	"flag"
	"os"
	"path/filepath"
	"testing"

	"github.com/opsdeck/opsdeck/images/recipe"
	"github.com/opsdeck/opsdeck/ops/emulator"
	"github.com/opsdeck/opsdeck/profiles"
)

var update = flag.Bool("update", false, "rewrite golden files")

func loadRecipe(t *testing.T) *recipe.Recipe {
	t.Helper()
	cfg, err := profiles.Parse("estate.toml", []byte(emulator.DemoEstate().ConfigTOML()))
	if err != nil {
		t.Fatal(err)
	}
	r, err := recipe.Load("testdata/golden-base.toml", cfg)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func checkGolden(t *testing.T, name, got string) {
	t.Helper()
	p := filepath.Join("testdata", name)
	if *update {
		os.WriteFile(p, []byte(got), 0o644)
		return
	}
	want, err := os.ReadFile(p)
	if err != nil {
		t.Fatalf("%v (go test ./images/bake -update writes it)", err)
	}
	if string(want) != got {
		t.Errorf("%s differs:\n%s", p, got)
	}
}

func TestRenderGolden(t *testing.T) {
	r := loadRecipe(t)
	o := RenderOptions{SourceAMI: "ami-0123456789abcdef0", Stamp: "20261122-0930", BuiltBy: "ops-jane", BuiltAt: "2026-11-22T09:30:00Z", PackerVersion: "1.12.0"}
	aws, err := Render(r, o)
	if err != nil {
		t.Fatal(err)
	}
	// The recipe hash changes with the file contents; pin it for the golden.
	r.Hash = "0000000000000000000000000000000000000000000000000000000000000000"
	aws, _ = Render(r, o)
	checkGolden(t, "aws.pkr.hcl.golden", aws)
	o.Endpoint = "http://127.0.0.1:5000"
	emu, err := Render(r, o)
	if err != nil {
		t.Fatal(err)
	}
	checkGolden(t, "emulated.pkr.hcl.golden", emu)
	o.Publish = &Publish{Channel: "candidate", BuildAccount: "310000000001", TargetRole: "OpsOperator", Targets: []PublishTarget{
		{AccountID: "210000000001", AccountName: "acme-test", Region: "eu-north-1"}, {AccountID: "210000000001", AccountName: "acme-test", Region: "eu-west-1"}}}
	pub, err := Render(r, o)
	if err != nil {
		t.Fatal(err)
	}
	checkGolden(t, "publish.pkr.hcl.golden", pub)
	if _, err := Render(r, RenderOptions{}); err == nil {
		t.Fatal("rendered without a base image")
	}
}
