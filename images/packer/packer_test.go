package packer_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/ssm"

	"github.com/opsdeck/opsdeck/images/promote"
	"github.com/opsdeck/opsdeck/ops/emulator"
	"github.com/opsdeck/opsdeck/profiles"
)

var moto *emulator.Server

func TestMain(m *testing.M) { os.Exit(emulator.RunTests(m, &moto)) }

// Real Packer, the amazon plugin and our plugin (all built by `make
// tools`): the data source reads a channel, amazon-ebs bakes, and the
// post-processor publishes to the build account's two regions and to
// another account.
func TestPluginInRealPacker(t *testing.T) {
	d := moto.SharedDemo(t)
	ctx := context.Background()
	build := d.Config.Account("platform-shared")
	other := d.Config.Account("acme-test")
	_, creds, err := d.Broker.Config(ctx, build, "read", "eu-north-1")
	if err != nil {
		t.Fatal(err)
	}
	root, _ := filepath.Abs("../..")
	dir := t.TempDir()
	tmpl := fmt.Sprintf(`
data "opsdeck-image" "current" {
  image    = "golden-base"
  channel  = "stable"
  endpoint = %[1]q
}

source "amazon-ebs" "golden" {
  region                     = "eu-north-1"
  source_ami                 = "ami-0a11e2023b6e86400"
  instance_type              = "t3.micro"
  ami_name                   = "golden-base-plugin-test"
  ami_description            = "previous stable: ${data.opsdeck-image.current.ami_id}"
  custom_endpoint_ec2        = %[1]q
  skip_credential_validation = true
  skip_region_validation     = true
  communicator               = "none"
  tags = { "opsdeck:image" = "golden-base" }
}

build {
  sources = ["source.amazon-ebs.golden"]
  post-processor "opsdeck-promote" {
    image         = "golden-base"
    channel       = "candidate"
    build_account = %[2]q
    target_role   = "OpsReadOnly"
    endpoint      = %[1]q
    lineage       = { "opsdeck:recipe-hash" = "test" }
    target {
      account_id = %[2]q
      region     = "eu-north-1"
    }
    target {
      account_id = %[2]q
      region     = "eu-west-1"
    }
    target {
      account_id   = %[3]q
      account_name = "acme-test"
      region       = "eu-west-1"
    }
  }
}
`, moto.URL, build.ID, other.ID)
	path := filepath.Join(dir, "t.pkr.hcl")
	os.WriteFile(path, []byte(tmpl), 0o644)
	cmd := exec.Command(filepath.Join(root, "bin", "packer"), "build", "-color=false", path)
	cmd.Env = append(profiles.Env(os.Environ(), creds, "eu-north-1"), "PACKER_PLUGIN_PATH="+filepath.Join(root, ".packer.d", "plugins"), "CHECKPOINT_DISABLE=1")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("packer build: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), "opsdeck: promoting golden-base") {
		t.Fatalf("post-processor did not run:\n%s", out)
	}
	for _, tg := range []struct {
		acct   *profiles.Account
		region string
	}{{build, "eu-north-1"}, {build, "eu-west-1"}, {other, "eu-west-1"}} {
		c, _, err := d.Broker.Config(ctx, tg.acct, "read", tg.region)
		if err != nil {
			t.Fatal(err)
		}
		ami, err := promote.Current(ctx, ssm.NewFromConfig(c), "golden-base", "candidate")
		if err != nil || !strings.HasPrefix(ami, "ami-") {
			t.Errorf("%s/%s: candidate = %q (%v)\n%s", tg.acct.Name, tg.region, ami, err, out)
		}
	}
}
