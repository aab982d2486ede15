// Package promote distributes a baked image and moves it between
// channels: for every target account × region it copies the AMI into the
// region (from the build account), shares it with the account, tags its
// lineage, writes the channel parameter /opsdeck/images/<name>/<channel>
// in that account and region, and deprecates images beyond retention.
//
// The Packer post-processor, the CLI and the TUI all promote through this
// package, so a promotion behaves the same from each. Partial failures are
// reported per target; what succeeded is never rolled back.
package promote

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	ssmtypes "github.com/aws/aws-sdk-go-v2/service/ssm/types"

	"github.com/opsdeck/opsdeck/ops/awsx"
)

// EC2API is what promotion needs from EC2 in the build account.
type EC2API interface {
	DescribeImages(ctx context.Context, in *ec2.DescribeImagesInput, o ...func(*ec2.Options)) (*ec2.DescribeImagesOutput, error)
	CopyImage(ctx context.Context, in *ec2.CopyImageInput, o ...func(*ec2.Options)) (*ec2.CopyImageOutput, error)
	CreateTags(ctx context.Context, in *ec2.CreateTagsInput, o ...func(*ec2.Options)) (*ec2.CreateTagsOutput, error)
	ModifyImageAttribute(ctx context.Context, in *ec2.ModifyImageAttributeInput, o ...func(*ec2.Options)) (*ec2.ModifyImageAttributeOutput, error)
	EnableImageDeprecation(ctx context.Context, in *ec2.EnableImageDeprecationInput, o ...func(*ec2.Options)) (*ec2.EnableImageDeprecationOutput, error)
}

// SSMAPI is what promotion needs from SSM in each target account.
type SSMAPI interface {
	PutParameter(ctx context.Context, in *ssm.PutParameterInput, o ...func(*ssm.Options)) (*ssm.PutParameterOutput, error)
	GetParameter(ctx context.Context, in *ssm.GetParameterInput, o ...func(*ssm.Options)) (*ssm.GetParameterOutput, error)
}

var (
	_ EC2API = (*ec2.Client)(nil)
	_ SSMAPI = (*ssm.Client)(nil)
)

// Parameter is the channel parameter's name.
func Parameter(image, channel string) string { return "/opsdeck/images/" + image + "/" + channel }

// Tags used by promotion.
const (
	TagToken     = "opsdeck:promotion"
	TagSourceAMI = "opsdeck:source-ami"
	TagChannel   = "opsdeck:channel"
)

// Clients are the APIs promotion uses; the functions give clients for
// (account id, region), acting as the operator's role there.
type Clients struct {
	// BuildEC2 is EC2 in the build account, by region.
	BuildEC2 func(ctx context.Context, region string) (EC2API, error)
	// TargetSSM is SSM in a target account and region.
	TargetSSM func(ctx context.Context, accountID, region string) (SSMAPI, error)
}

// Target is one account and region to distribute to.
type Target struct {
	AccountID, AccountName, Region string
}

func (t Target) String() string { return t.AccountName + "/" + t.Region }

// Input of a distribution.
type Input struct {
	Image        string // recipe name
	SourceAMI    string
	SourceRegion string
	BuildAccount string // account id of the build account
	Channel      string
	Lineage      map[string]string
	Targets      []Target
	// Token makes retries find earlier copies (the plan's token).
	Token string
	// Keep is how many images per channel stay undeprecated (0 = all).
	Keep int
	// DeprecateAfter sets a deprecation date on new copies (0 = none).
	DeprecateAfter time.Duration
	Now            time.Time
}

// TargetResult is one target's outcome.
type TargetResult struct {
	Target    Target   `json:"-"`
	Account   string   `json:"account"`
	Region    string   `json:"region"`
	AMI       string   `json:"ami,omitempty"`
	Parameter string   `json:"parameter,omitempty"`
	Shared    bool     `json:"shared"`
	Warnings  []string `json:"warnings,omitempty"`
	Error     string   `json:"error,omitempty"`
}

// Distribute runs the whole promotion; it returns every target's result
// and an error when any target failed (after trying them all).
func Distribute(ctx context.Context, c Clients, in Input, progress func(TargetResult)) ([]TargetResult, error) {
	regional := map[string]string{in.SourceRegion: in.SourceAMI} // region -> AMI in the build account
	var out []TargetResult
	failed := 0
	for _, t := range in.Targets {
		r := TargetResult{Target: t, Account: t.AccountName, Region: t.Region}
		err := func() error {
			ami, ok := regional[t.Region]
			if !ok {
				var err error
				if ami, err = copyInto(ctx, c, in, t.Region); err != nil {
					return err
				}
				regional[t.Region] = ami
			}
			r.AMI = ami
			ec, err := c.BuildEC2(ctx, t.Region)
			if err != nil {
				return err
			}
			if t.AccountID != in.BuildAccount {
				if _, err := ec.ModifyImageAttribute(ctx, &ec2.ModifyImageAttributeInput{ImageId: aws.String(ami),
					LaunchPermission: &ec2types.LaunchPermissionModifications{Add: []ec2types.LaunchPermission{{UserId: aws.String(t.AccountID)}}}}); err != nil {
					return fmt.Errorf("share %s with %s: %w", ami, t.AccountName, err)
				}
				r.Shared = true
			}
			sm, err := c.TargetSSM(ctx, t.AccountID, t.Region)
			if err != nil {
				return err
			}
			r.Parameter = Parameter(in.Image, in.Channel)
			if _, err := sm.PutParameter(ctx, &ssm.PutParameterInput{Name: aws.String(r.Parameter), Value: aws.String(ami),
				Type: ssmtypes.ParameterTypeString, DataType: aws.String("aws:ec2:image"), Overwrite: aws.Bool(true),
				Description: aws.String(fmt.Sprintf("opsdeck image %s on channel %s (recipe %s)", in.Image, in.Channel, short(in.Lineage["opsdeck:recipe-hash"])))}); err != nil {
				return fmt.Errorf("write %s: %w", r.Parameter, err)
			}
			return nil
		}()
		if err != nil {
			failed++
			r.Error = awsx.Clean(err)
		}
		out = append(out, r)
		if progress != nil {
			progress(r)
		}
	}
	// Retention: deprecate older images of this name, region by region.
	for region := range regional {
		if w := retain(ctx, c, in, region); w != "" {
			for i := range out {
				if out[i].Region == region {
					out[i].Warnings = append(out[i].Warnings, w)
				}
			}
		}
	}
	if failed > 0 {
		return out, fmt.Errorf("%d of %d targets failed; the others were promoted and stay so", failed, len(in.Targets))
	}
	return out, nil
}

func short(h string) string {
	if len(h) > 12 {
		return h[:12]
	}
	return h
}

// copyInto copies the source AMI into region in the build account, or
// finds the copy an earlier attempt made (CopyImage's ClientToken is not
// honoured by every endpoint, so the token is also a tag).
func copyInto(ctx context.Context, c Clients, in Input, region string) (string, error) {
	ec, err := c.BuildEC2(ctx, region)
	if err != nil {
		return "", err
	}
	found, err := ec.DescribeImages(ctx, &ec2.DescribeImagesInput{Owners: []string{"self"},
		Filters: []ec2types.Filter{{Name: aws.String("tag:" + TagToken), Values: []string{in.Token}}}})
	if err != nil {
		return "", fmt.Errorf("look for an earlier copy in %s: %w", region, err)
	}
	if len(found.Images) > 0 {
		return aws.ToString(found.Images[0].ImageId), nil
	}
	cp, err := ec.CopyImage(ctx, &ec2.CopyImageInput{SourceImageId: aws.String(in.SourceAMI), SourceRegion: aws.String(in.SourceRegion),
		Name: aws.String(in.Lineage["Name"]), ClientToken: aws.String(in.Token + "-" + region),
		Description: aws.String(fmt.Sprintf("opsdeck %s: copy of %s from %s", in.Image, in.SourceAMI, in.SourceRegion))})
	if err != nil {
		return "", fmt.Errorf("copy %s to %s: %w", in.SourceAMI, region, err)
	}
	ami := aws.ToString(cp.ImageId)
	tags := []ec2types.Tag{{Key: aws.String(TagToken), Value: aws.String(in.Token)}, {Key: aws.String(TagSourceAMI), Value: aws.String(in.SourceAMI)}}
	for k, v := range in.Lineage {
		tags = append(tags, ec2types.Tag{Key: aws.String(k), Value: aws.String(v)})
	}
	sort.Slice(tags, func(i, j int) bool { return *tags[i].Key < *tags[j].Key })
	if _, err := ec.CreateTags(ctx, &ec2.CreateTagsInput{Resources: []string{ami}, Tags: tags}); err != nil {
		return ami, fmt.Errorf("tag %s in %s: %w", ami, region, err)
	}
	if in.DeprecateAfter > 0 {
		_, _ = ec.EnableImageDeprecation(ctx, &ec2.EnableImageDeprecationInput{ImageId: aws.String(ami), DeprecateAt: aws.Time(in.Now.Add(in.DeprecateAfter))})
	}
	return ami, nil
}

// retain deprecates this image's AMIs in region beyond the newest Keep;
// it returns a warning instead of failing (the promotion itself succeeded).
func retain(ctx context.Context, c Clients, in Input, region string) string {
	if in.Keep <= 0 {
		return ""
	}
	ec, err := c.BuildEC2(ctx, region)
	if err != nil {
		return err.Error()
	}
	out, err := ec.DescribeImages(ctx, &ec2.DescribeImagesInput{Owners: []string{"self"},
		Filters: []ec2types.Filter{{Name: aws.String("tag:opsdeck:image"), Values: []string{in.Image}}}})
	if err != nil {
		return "retention: " + awsx.Summary(err)
	}
	imgs := out.Images
	// Newest first by when opsdeck built it (the lineage tag), else by
	// creation date: images copied or registered in the same second must
	// not outrank the image just baked.
	when := func(im ec2types.Image) string {
		for _, t := range im.Tags {
			if aws.ToString(t.Key) == "opsdeck:built-at" {
				return "1" + aws.ToString(t.Value)
			}
		}
		return "0" + aws.ToString(im.CreationDate)
	}
	sort.SliceStable(imgs, func(i, j int) bool { return when(imgs[i]) > when(imgs[j]) })
	var old []string
	for i, im := range imgs {
		if i >= in.Keep && aws.ToString(im.DeprecationTime) == "" {
			if _, err := ec.EnableImageDeprecation(ctx, &ec2.EnableImageDeprecationInput{ImageId: im.ImageId, DeprecateAt: aws.Time(in.Now.Add(time.Hour))}); err != nil {
				return fmt.Sprintf("retention: could not deprecate %s: %s", aws.ToString(im.ImageId), awsx.Summary(awsx.Classify("EnableImageDeprecation", err)))
			}
			old = append(old, aws.ToString(im.ImageId))
		}
	}
	if len(old) > 0 {
		return "deprecated beyond retention: " + strings.Join(old, ", ")
	}
	return ""
}

// Current reads the AMI on a channel in one account and region ("" when
// the channel is empty there).
func Current(ctx context.Context, api SSMAPI, image, channel string) (string, error) {
	out, err := api.GetParameter(ctx, &ssm.GetParameterInput{Name: aws.String(Parameter(image, channel))})
	if err != nil {
		if strings.Contains(err.Error(), "ParameterNotFound") {
			return "", nil
		}
		return "", err
	}
	return aws.ToString(out.Parameter.Value), nil
}
