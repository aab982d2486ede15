package promote

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	ssmtypes "github.com/aws/aws-sdk-go-v2/service/ssm/types"
)

// ChannelEntry is one image channel in one account and region.
type ChannelEntry struct {
	Image   string    `json:"image"`
	Channel string    `json:"channel"`
	AMI     string    `json:"ami"`
	Updated time.Time `json:"updated"`
}

// ListAPI reads every channel parameter.
type ListAPI interface {
	ssm.GetParametersByPathAPIClient
}

// Channels lists the /opsdeck/images/<name>/<channel> parameters.
func Channels(ctx context.Context, api ListAPI) ([]ChannelEntry, error) {
	var out []ChannelEntry
	p := ssm.NewGetParametersByPathPaginator(api, &ssm.GetParametersByPathInput{Path: aws.String("/opsdeck/images/"), Recursive: aws.Bool(true)})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("image channels: %w", err)
		}
		for _, prm := range page.Parameters {
			parts := strings.Split(strings.TrimPrefix(aws.ToString(prm.Name), "/opsdeck/images/"), "/")
			if len(parts) != 2 {
				continue
			}
			out = append(out, ChannelEntry{Image: parts[0], Channel: parts[1], AMI: aws.ToString(prm.Value), Updated: aws.ToTime(prm.LastModifiedDate)})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Image+out[i].Channel < out[j].Image+out[j].Channel })
	return out, nil
}

// Move points channel to at what channel from holds, in one account and
// region; it returns the AMI (an error when from is empty there).
func Move(ctx context.Context, api SSMAPI, image, from, to string) (string, error) {
	ami, err := Current(ctx, api, image, from)
	if err != nil {
		return "", fmt.Errorf("read %s: %w", Parameter(image, from), err)
	}
	if ami == "" {
		return "", fmt.Errorf("channel %s of %s is empty here: bake and publish first", from, image)
	}
	if _, err := api.PutParameter(ctx, &ssm.PutParameterInput{Name: aws.String(Parameter(image, to)), Value: aws.String(ami),
		Type: ssmtypes.ParameterTypeString, DataType: aws.String("aws:ec2:image"), Overwrite: aws.Bool(true),
		Description: aws.String(fmt.Sprintf("opsdeck image %s on channel %s (promoted from %s)", image, to, from))}); err != nil {
		return "", fmt.Errorf("write %s: %w", Parameter(image, to), err)
	}
	return ami, nil
}
