package bake

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/aws-sdk-go-v2/service/ssm"

	"github.com/opsdeck/opsdeck/ops/emulator"
	"github.com/opsdeck/opsdeck/profiles"
)

var moto *emulator.Server

func TestMain(m *testing.M) { os.Exit(emulator.RunTests(m, &moto)) }

// tools finds the Packer built by `make tools` (the Makefile's test target
// builds it first).
func tools(t *testing.T) Tools {
	t.Helper()
	root, _ := filepath.Abs("../..")
	tl := Tools{Packer: filepath.Join(root, "bin", "packer"), PluginPath: filepath.Join(root, ".packer.d", "plugins")}
	if _, err := os.Stat(tl.Packer); err != nil {
		t.Fatalf("%v: %v", ErrNoPacker, err)
	}
	return tl
}

type bakeFixture struct {
	in  Input
	ec2 *ec2.Client
}

func fixture(t *testing.T) bakeFixture {
	d := moto.SharedDemo(t)
	ctx := context.Background()
	a := d.Config.Account("platform-shared")
	c, creds, err := d.Broker.Config(ctx, a, "read", "eu-north-1")
	if err != nil {
		t.Fatal(err)
	}
	ec := ec2.NewFromConfig(c)
	r := loadRecipe(t)
	base, err := ResolveBase(ctx, Resolver{Client: ec, SSM: ssm.NewFromConfig(c)}, r)
	if err != nil || base != "ami-0a11e2023b6e86400" {
		t.Fatalf("base %s (%v), want the emulator's x86_64 Amazon Linux", base, err)
	}
	return bakeFixture{ec2: ec, in: Input{Recipe: r, API: Resolver{Client: ec, SSM: ssm.NewFromConfig(c)}, Tools: tools(t), WorkDir: t.TempDir(),
		Env: profiles.Env(os.Environ(), creds, "eu-north-1"), Endpoint: moto.URL, BuiltBy: "ops-test", PackerVersion: "1.12.0", Now: time.Now()}}
}

// A real bake: Packer and the amazon plugin, built from source, against
// the emulator.
func TestBakeAgainstEmulator(t *testing.T) {
	f := fixture(t)
	var mu sync.Mutex
	var says []string
	res, err := Bake(context.Background(), f.in, func(e Event) {
		if _, text, ok := e.UI(); ok {
			mu.Lock()
			says = append(says, text)
			mu.Unlock()
		}
	})
	if err != nil {
		log, _ := os.ReadFile(filepath.Join(f.in.WorkDir, "packer.log"))
		t.Fatalf("%v\n%s", err, log)
	}
	ami := res.AMIs["eu-north-1"]
	if ami == "" {
		t.Fatalf("no AMI in %v", res.AMIs)
	}
	out, err := f.ec2.DescribeImages(context.Background(), &ec2.DescribeImagesInput{ImageIds: []string{ami}})
	if err != nil || len(out.Images) != 1 {
		t.Fatalf("AMI %s: %v", ami, err)
	}
	tags := map[string]string{}
	for _, tg := range out.Images[0].Tags {
		tags[aws.ToString(tg.Key)] = aws.ToString(tg.Value)
	}
	if tags[TagImage] != "golden-base" || len(tags[TagRecipe]) != 64 || tags[TagBuiltBy] != "ops-test" || !strings.HasPrefix(tags[TagBaseAMI], "ami-") {
		t.Fatalf("lineage tags: %v", tags)
	}
	if len(says) < 3 {
		t.Fatalf("progress events: %v", says)
	}
	if _, err := os.Stat(res.Log); err != nil {
		t.Fatal("the bake log was not kept")
	}
}

// Ctrl-C during a bake: Packer is interrupted, cleans up, and no build
// instance is left running.
func TestBakeInterruptLeavesNoInstance(t *testing.T) {
	f := fixture(t)
	ctx, cancel := context.WithCancel(context.Background())
	// Interrupt as soon as Packer has launched its instance.
	_, err := Bake(ctx, f.in, func(e Event) {
		if _, text, ok := e.UI(); ok && (strings.Contains(text, "Launching a source AWS instance") || strings.Contains(text, "Instance ID:")) {
			cancel()
		}
	})
	if err == nil || !strings.Contains(err.Error(), "interrupted") {
		t.Fatalf("err = %v", err)
	}
	out, err2 := f.ec2.DescribeInstances(context.Background(), &ec2.DescribeInstancesInput{Filters: []ec2types.Filter{
		{Name: aws.String("image-id"), Values: []string{"ami-0a11e2023b6e86400"}},
		{Name: aws.String("instance-state-name"), Values: []string{"pending", "running", "stopping", "stopped"}}}})
	if err2 != nil {
		t.Fatal(err2)
	}
	for _, r := range out.Reservations {
		for _, in := range r.Instances {
			t.Errorf("build instance %s left %s", aws.ToString(in.InstanceId), in.State.Name)
		}
	}
	// The check above is only meaningful if the build got far enough to
	// launch one: the bake log says so.
	log, _ := os.ReadFile(filepath.Join(f.in.WorkDir, "packer.log"))
	if !strings.Contains(string(log), "Launching a source AWS instance") {
		t.Fatalf("interrupted before launching an instance:\n%s", log)
	}
}
