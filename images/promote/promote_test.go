package promote

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/aws-sdk-go-v2/service/ssm"

	"github.com/opsdeck/opsdeck/images/bake"
	"github.com/opsdeck/opsdeck/images/recipe"
	"github.com/opsdeck/opsdeck/ops/emulator"
	"github.com/opsdeck/opsdeck/profiles"
)

var moto *emulator.Server

func TestMain(m *testing.M) { os.Exit(emulator.RunTests(m, &moto)) }

// End to end: bake with real Packer + the amazon plugin, then promote to
// two accounts × two regions and check what the emulator models.
func TestBakeAndPromoteTwoAccountsTwoRegions(t *testing.T) {
	d := moto.SharedDemo(t)
	ctx := context.Background()
	build := d.Config.Account("platform-shared")
	r, err := recipe.Load(filepath.Join(filepath.Dir(d.ConfigPath), "golden-base.toml"), d.Config)
	if err != nil {
		t.Fatal(err)
	}
	c, creds, err := d.Broker.Config(ctx, build, "read", "eu-north-1")
	if err != nil {
		t.Fatal(err)
	}
	root, _ := filepath.Abs("../..")
	tools := bake.Tools{Packer: filepath.Join(root, "bin", "packer"), PluginPath: filepath.Join(root, ".packer.d", "plugins")}
	now := time.Now()
	res, err := bake.Bake(ctx, bake.Input{Recipe: r, API: bake.Resolver{Client: ec2.NewFromConfig(c), SSM: ssm.NewFromConfig(c)}, Tools: tools,
		WorkDir: t.TempDir(), Env: profiles.Env(os.Environ(), creds, "eu-north-1"), Endpoint: moto.URL, BuiltBy: "ops-test",
		PackerVersion: "1.12.0", Now: now}, nil)
	if err != nil {
		t.Fatal(err)
	}
	src := res.AMIs["eu-north-1"]
	lineage := bake.LineageTags(r, bake.RenderOptions{SourceAMI: "ami-0a11e2023b6e86400", Stamp: "x", BuiltBy: "ops-test", PackerVersion: "1.12.0"})

	clients := Clients{
		BuildEC2: func(ctx context.Context, region string) (EC2API, error) {
			cfg, _, err := d.Broker.Config(ctx, build, "read", region)
			return ec2.NewFromConfig(cfg), err
		},
		TargetSSM: func(ctx context.Context, id, region string) (SSMAPI, error) {
			cfg, _, err := d.Broker.Config(ctx, d.Config.Account(id), "read", region)
			return ssm.NewFromConfig(cfg), err
		},
	}
	var targets []Target
	for _, name := range []string{"acme-test", "acme-qa"} {
		a := d.Config.Account(name)
		for _, region := range []string{"eu-north-1", "eu-west-1"} {
			targets = append(targets, Target{AccountID: a.ID, AccountName: a.Name, Region: region})
		}
	}
	// An older image of the same name, so retention (keep 1) has work.
	northEC2 := ec2.NewFromConfig(c)
	old, err := northEC2.RegisterImage(ctx, &ec2.RegisterImageInput{Name: aws.String("golden-base-older"), RootDeviceName: aws.String("/dev/xvda")})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := northEC2.CreateTags(ctx, &ec2.CreateTagsInput{Resources: []string{aws.ToString(old.ImageId)},
		Tags: []ec2types.Tag{{Key: aws.String("opsdeck:image"), Value: aws.String("golden-base")}}}); err != nil {
		t.Fatal(err)
	}
	in := Input{Image: r.Name, SourceAMI: src, SourceRegion: "eu-north-1", BuildAccount: build.ID, Channel: "candidate",
		Lineage: lineage, Targets: targets, Token: "opsdeck-test-" + src, Keep: 1, Now: now}
	out, err := Distribute(ctx, clients, in, nil)
	if err != nil {
		t.Fatalf("%v: %+v", err, out)
	}
	westEC2, _ := clients.BuildEC2(ctx, "eu-west-1")
	var westAMI string
	for _, tr := range out {
		if tr.Region == "eu-north-1" && tr.AMI != src {
			t.Errorf("%s: %s, want the baked AMI in its own region", tr.Target, tr.AMI)
		}
		if tr.Region == "eu-west-1" {
			westAMI = tr.AMI
		}
		if !tr.Shared {
			t.Errorf("%s: not shared", tr.Target)
		}
		// The channel parameter exists in the target account and region.
		sm, _ := clients.TargetSSM(ctx, tr.Target.AccountID, tr.Region)
		cur, err := Current(ctx, sm, r.Name, "candidate")
		if err != nil || cur != tr.AMI {
			t.Errorf("%s: channel = %q (%v), want %s", tr.Target, cur, err, tr.AMI)
		}
	}
	// The copy in eu-west-1 carries the lineage.
	img, err := westEC2.DescribeImages(ctx, &ec2.DescribeImagesInput{ImageIds: []string{westAMI}})
	if err != nil || len(img.Images) != 1 {
		t.Fatalf("copy %s: %v", westAMI, err)
	}
	tags := map[string]string{}
	for _, tg := range img.Images[0].Tags {
		tags[aws.ToString(tg.Key)] = aws.ToString(tg.Value)
	}
	if tags["opsdeck:image"] != "golden-base" || tags[TagSourceAMI] != src || len(tags["opsdeck:recipe-hash"]) != 64 {
		t.Fatalf("copy tags: %v", tags)
	}
	// Launch permissions for both accounts. (The emulator does not make a
	// shared AMI visible to the other account; the permission is what it
	// models, so that is what is asserted.)
	perms, err := westEC2.(*ec2.Client).DescribeImageAttribute(ctx, &ec2.DescribeImageAttributeInput{ImageId: aws.String(westAMI), Attribute: ec2types.ImageAttributeNameLaunchPermission})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]bool{}
	for _, p := range perms.LaunchPermissions {
		got[aws.ToString(p.UserId)] = true
	}
	if !got[d.Config.Account("acme-test").ID] || !got[d.Config.Account("acme-qa").ID] {
		t.Fatalf("launch permissions %v", perms.LaunchPermissions)
	}
	// Retention ran; the emulator lacks deprecation, which is a warning,
	// not a failure.
	warned := false
	for _, tr := range out {
		for _, w := range tr.Warnings {
			if strings.Contains(w, "not available on this endpoint") {
				warned = true
			}
			if strings.Contains(w, src) {
				t.Errorf("retention picked the image just baked: %s", w)
			}
		}
	}
	if !warned {
		t.Errorf("no retention warning: %+v", out)
	}
	// A retry with the same token copies nothing new.
	before, _ := westEC2.DescribeImages(ctx, &ec2.DescribeImagesInput{Owners: []string{"self"}})
	if _, err := Distribute(ctx, clients, in, nil); err != nil {
		t.Fatal(err)
	}
	after, _ := westEC2.DescribeImages(ctx, &ec2.DescribeImagesInput{Owners: []string{"self"}})
	if len(after.Images) != len(before.Images) {
		t.Fatalf("retry made %d more images", len(after.Images)-len(before.Images))
	}
}
