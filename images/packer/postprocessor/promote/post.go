//go:generate packer-sdc mapstructure-to-hcl2 -type Config,Target

// Package promote is the opsdeck-promote post-processor: it takes the
// amazon-ebs artifact and, for every target account × region, copies the
// AMI into the region, shares it with the account, tags its lineage,
// writes the channel parameter and deprecates images beyond retention —
// through images/promote, the code the opsdeck CLI and TUI use. Partial
// failures are reported per target; the post-processor then fails without
// deregistering what succeeded.
package promote

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials/stscreds"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/hashicorp/hcl/v2/hcldec"
	packersdk "github.com/hashicorp/packer-plugin-sdk/packer"
	"github.com/hashicorp/packer-plugin-sdk/template/config"

	"github.com/opsdeck/opsdeck/images/promote"
	"github.com/opsdeck/opsdeck/profiles"
)

// Target is one account and region to publish the image in.
type Target struct {
	// The 12-digit account id.
	AccountID string `mapstructure:"account_id" required:"true"`
	// A name for messages, e.g. "acme-prod". Defaults to the id.
	AccountName string `mapstructure:"account_name"`
	// The region.
	Region string `mapstructure:"region" required:"true"`
}

// Config of the post-processor.
type Config struct {
	// The image name: the recipe's name.
	Image string `mapstructure:"image" required:"true"`
	// The channel to publish on. Defaults to "candidate".
	Channel string `mapstructure:"channel"`
	// The account the image was built in (12 digits).
	BuildAccount string `mapstructure:"build_account" required:"true"`
	// Where to publish: one block per account and region.
	Targets []Target `mapstructure:"target" required:"true"`
	// The IAM role name assumed in each other target account to write its
	// channel parameter. Defaults to the build credentials (which only
	// reach the build account).
	TargetRole string `mapstructure:"target_role"`
	// Lineage tags added to every copy (recipe hash, built-by, ...).
	Lineage map[string]string `mapstructure:"lineage"`
	// Images of this name kept per region before older ones are
	// deprecated. 0 keeps all.
	Keep int `mapstructure:"keep"`
	// Deprecate new copies after this long, e.g. "720h". Defaults to never.
	DeprecateAfter string `mapstructure:"deprecate_after"`
	// An endpoint to use instead of AWS's (an emulator). Defaults to none.
	Endpoint string `mapstructure:"endpoint"`

	deprecate time.Duration
}

// PostProcessor is opsdeck-promote.
type PostProcessor struct {
	config Config
	// clients builds the APIs (tests put fakes here).
	clients func(Config) promote.Clients
}

var (
	nameRe    = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{1,62}$`)
	channelRe = regexp.MustCompile(`^[a-z][a-z0-9-]{0,31}$`)
	accountRe = regexp.MustCompile(`^[0-9]{12}$`)
)

// ConfigSpec is the HCL2 layout of the configuration.
func (p *PostProcessor) ConfigSpec() hcldec.ObjectSpec { return p.config.FlatMapstructure().HCL2Spec() }

// Configure decodes and validates; every problem is reported at once.
func (p *PostProcessor) Configure(raws ...interface{}) error {
	if err := config.Decode(&p.config, nil, raws...); err != nil {
		return err
	}
	c := &p.config
	var errs *packersdk.MultiError
	add := func(format string, a ...any) { errs = packersdk.MultiErrorAppend(errs, fmt.Errorf(format, a...)) }
	if c.Channel == "" {
		c.Channel = "candidate"
	}
	if !nameRe.MatchString(c.Image) {
		add("image %q: use the recipe name (lower-case letters, digits, dashes)", c.Image)
	}
	if !channelRe.MatchString(c.Channel) {
		add("channel %q: lower-case words such as candidate", c.Channel)
	}
	if !accountRe.MatchString(c.BuildAccount) {
		add("build_account %q: 12 digits", c.BuildAccount)
	}
	if len(c.Targets) == 0 {
		add("at least one target block is needed")
	}
	for i := range c.Targets {
		t := &c.Targets[i]
		if !accountRe.MatchString(t.AccountID) {
			add("target %d: account_id %q: 12 digits", i+1, t.AccountID)
		}
		if !profiles.ValidRegion(t.Region) {
			add("target %d: region %q is not a region", i+1, t.Region)
		}
		if t.AccountName == "" {
			t.AccountName = t.AccountID
		}
		if t.AccountID != c.BuildAccount && c.TargetRole == "" && accountRe.MatchString(t.AccountID) {
			add("target %d: account %s is not the build account: set target_role to reach it", i+1, t.AccountID)
		}
	}
	if c.Keep < 0 {
		add("keep %d: 0 or more", c.Keep)
	}
	if c.DeprecateAfter != "" {
		d, err := time.ParseDuration(c.DeprecateAfter)
		if err != nil || d <= 0 {
			add("deprecate_after %q: a duration such as 720h", c.DeprecateAfter)
		}
		c.deprecate = d
	}
	if errs != nil && len(errs.Errors) > 0 {
		return errs
	}
	return nil
}

// envClients act with the credentials Packer runs with, assuming
// TargetRole for the other accounts' channel parameters.
func envClients(c Config) promote.Clients {
	return promote.Clients{
		BuildEC2: func(ctx context.Context, region string) (promote.EC2API, error) {
			cfg, err := profiles.EnvConfig(ctx, region, c.Endpoint)
			return ec2.NewFromConfig(cfg), err
		},
		TargetSSM: func(ctx context.Context, account, region string) (promote.SSMAPI, error) {
			cfg, err := profiles.EnvConfig(ctx, region, c.Endpoint)
			if err != nil {
				return nil, err
			}
			if account != c.BuildAccount {
				arn := profiles.RoleARN("aws", account, c.TargetRole)
				cfg.Credentials = aws.NewCredentialsCache(stscreds.NewAssumeRoleProvider(sts.NewFromConfig(cfg), arn))
			}
			return ssm.NewFromConfig(cfg), nil
		},
	}
}

// PostProcess promotes the artifact's AMI in the build region.
func (p *PostProcessor) PostProcess(ctx context.Context, ui packersdk.Ui, a packersdk.Artifact) (packersdk.Artifact, bool, bool, error) {
	c := p.config
	amis := map[string]string{}
	for _, part := range strings.Split(a.Id(), ",") {
		if region, ami, ok := strings.Cut(strings.TrimSpace(part), ":"); ok {
			amis[region] = ami
		}
	}
	if len(amis) != 1 {
		return a, true, false, fmt.Errorf("opsdeck-promote: want one AMI from the build, got %q", a.Id())
	}
	var srcRegion, srcAMI string
	for r, ami := range amis {
		srcRegion, srcAMI = r, ami
	}
	targets := make([]promote.Target, len(c.Targets))
	for i, t := range c.Targets {
		targets[i] = promote.Target{AccountID: t.AccountID, AccountName: t.AccountName, Region: t.Region}
	}
	newClients := p.clients
	if newClients == nil {
		newClients = envClients
	}
	ui.Say(fmt.Sprintf("opsdeck: promoting %s (%s) to %s on %d targets", c.Image, srcAMI, c.Channel, len(targets)))
	out, err := promote.Distribute(ctx, newClients(c), promote.Input{Image: c.Image, SourceAMI: srcAMI, SourceRegion: srcRegion,
		BuildAccount: c.BuildAccount, Channel: c.Channel, Lineage: c.Lineage, Targets: targets, Token: "opsdeck-publish-" + srcAMI,
		Keep: c.Keep, DeprecateAfter: c.deprecate, Now: time.Now()}, func(r promote.TargetResult) {
		if r.Error != "" {
			ui.Error(fmt.Sprintf("opsdeck: %s: %s", r.Target, r.Error))
			return
		}
		ui.Message(fmt.Sprintf("opsdeck: %s: %s on %s", r.Target, r.AMI, r.Parameter))
	})
	for _, r := range out {
		for _, w := range r.Warnings {
			ui.Message(fmt.Sprintf("opsdeck: %s: %s", r.Target, w))
		}
	}
	// Keep the input artifact: nothing that succeeded is rolled back.
	return a, true, false, err
}
