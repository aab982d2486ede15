//go:generate packer-sdc mapstructure-to-hcl2 -type Config,DatasourceOutput

// Package image is the opsdeck-image data source: the AMI currently on a
// channel (/opsdeck/images/<image>/<channel>) in the region Packer runs in.
package image

import (
	"context"
	"fmt"
	"os"
	"regexp"

	"github.com/aws/aws-sdk-go-v2/service/ssm"
	"github.com/hashicorp/hcl/v2/hcldec"
	"github.com/hashicorp/packer-plugin-sdk/hcl2helper"
	packersdk "github.com/hashicorp/packer-plugin-sdk/packer"
	"github.com/hashicorp/packer-plugin-sdk/template/config"
	"github.com/zclconf/go-cty/cty"

	"github.com/opsdeck/opsdeck/images/promote"
	"github.com/opsdeck/opsdeck/profiles"
)

// Config of the data source.
type Config struct {
	// The image name: the recipe's name, e.g. "golden-base".
	Image string `mapstructure:"image" required:"true"`
	// The channel to read, e.g. "stable". Defaults to "stable".
	Channel string `mapstructure:"channel"`
	// The region whose channel parameter is read. Defaults to AWS_REGION.
	Region string `mapstructure:"region"`
	// An endpoint to use instead of AWS's (an emulator). Defaults to none.
	Endpoint string `mapstructure:"endpoint"`
}

// DatasourceOutput is what the data source gives the template.
type DatasourceOutput struct {
	// The AMI id on the channel.
	AMIID string `mapstructure:"ami_id"`
	// The parameter it was read from.
	Parameter string `mapstructure:"parameter"`
}

// Datasource is opsdeck-image.
type Datasource struct {
	config Config
	// ssm builds the SSM client (tests put a fake here).
	ssm func(ctx context.Context, region, endpoint string) (promote.SSMAPI, error)
}

var (
	nameRe    = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{1,62}$`)
	channelRe = regexp.MustCompile(`^[a-z][a-z0-9-]{0,31}$`)
)

// ConfigSpec is the HCL2 layout of the configuration.
func (d *Datasource) ConfigSpec() hcldec.ObjectSpec { return d.config.FlatMapstructure().HCL2Spec() }

// OutputSpec is the HCL2 layout of the output.
func (d *Datasource) OutputSpec() hcldec.ObjectSpec {
	return (&DatasourceOutput{}).FlatMapstructure().HCL2Spec()
}

// Configure decodes and validates; every problem is reported at once.
func (d *Datasource) Configure(raws ...interface{}) error {
	if err := config.Decode(&d.config, nil, raws...); err != nil {
		return err
	}
	var errs *packersdk.MultiError
	c := &d.config
	if c.Channel == "" {
		c.Channel = "stable"
	}
	if c.Region == "" {
		c.Region = os.Getenv("AWS_REGION")
	}
	if !nameRe.MatchString(c.Image) {
		errs = packersdk.MultiErrorAppend(errs, fmt.Errorf("image %q: use the recipe name (lower-case letters, digits, dashes)", c.Image))
	}
	if !channelRe.MatchString(c.Channel) {
		errs = packersdk.MultiErrorAppend(errs, fmt.Errorf("channel %q: lower-case words such as stable", c.Channel))
	}
	if !profiles.ValidRegion(c.Region) {
		errs = packersdk.MultiErrorAppend(errs, fmt.Errorf("region %q: set region, or AWS_REGION", c.Region))
	}
	if errs != nil && len(errs.Errors) > 0 {
		return errs
	}
	return nil
}

// Execute reads the channel.
func (d *Datasource) Execute() (cty.Value, error) {
	ctx := context.Background()
	newSSM := d.ssm
	if newSSM == nil {
		newSSM = func(ctx context.Context, region, endpoint string) (promote.SSMAPI, error) {
			c, err := profiles.EnvConfig(ctx, region, endpoint)
			return ssm.NewFromConfig(c), err
		}
	}
	api, err := newSSM(ctx, d.config.Region, d.config.Endpoint)
	if err != nil {
		return cty.NullVal(cty.EmptyObject), err
	}
	out := DatasourceOutput{Parameter: promote.Parameter(d.config.Image, d.config.Channel)}
	ami, err := promote.Current(ctx, api, d.config.Image, d.config.Channel)
	if err != nil {
		return cty.NullVal(cty.EmptyObject), fmt.Errorf("read %s in %s: %w", out.Parameter, d.config.Region, err)
	}
	// An empty channel is not an error: the first bake of an image has no
	// previous one. ami_id is then "".
	out.AMIID = ami
	return hcl2helper.HCL2ValueFromConfig(out, d.OutputSpec()), nil
}
