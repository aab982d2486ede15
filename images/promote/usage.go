package promote

import (
	"context"
	"fmt"
	"sort"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
)

// Usage is how many running instances use one AMI in one account and
// region, and whether it is the image's current stable.
type Usage struct {
	AMI       string `json:"ami"`
	Instances int    `json:"instances"`
	Stable    bool   `json:"on_stable"`
	// Image is the AMI's opsdeck:image tag when this account can see it.
	Image string `json:"image,omitempty"`
}

// InstancesAPI lists instances.
type InstancesAPI interface {
	ec2.DescribeInstancesAPIClient
}

// UsageOf groups the running instances by AMI and marks the ones not on
// stable (the AMI on /opsdeck/images/<image>/stable here; "" when the
// channel is empty, so nothing is marked current).
func UsageOf(ctx context.Context, api InstancesAPI, stable string) ([]Usage, error) {
	count := map[string]int{}
	p := ec2.NewDescribeInstancesPaginator(api, &ec2.DescribeInstancesInput{Filters: []ec2types.Filter{
		{Name: aws.String("instance-state-name"), Values: []string{"pending", "running"}}}})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("instances: %w", err)
		}
		for _, r := range page.Reservations {
			for _, in := range r.Instances {
				count[aws.ToString(in.ImageId)]++
			}
		}
	}
	out := make([]Usage, 0, len(count))
	for ami, n := range count {
		out = append(out, Usage{AMI: ami, Instances: n, Stable: stable != "" && ami == stable})
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Stable != out[j].Stable {
			return out[i].Stable
		}
		return out[i].Instances > out[j].Instances
	})
	return out, nil
}

// UsageAt is UsageOf for one account and region: it reads the AMI on the
// image's stable channel there first. stable is "" when the channel is empty.
func UsageAt(ctx context.Context, params SSMAPI, instances InstancesAPI, image string) (stable string, _ []Usage, _ error) {
	stable, err := Current(ctx, params, image, "stable")
	if err != nil {
		return "", nil, err
	}
	us, err := UsageOf(ctx, instances, stable)
	for i := range us {
		us[i].Image = image
	}
	return stable, us, err
}

// OldStatus is Status for instances not on the stable AMI.
const OldStatus = "OLD: not on stable"

// Status says whether u's instances run the stable AMI here (stable is
// UsageAt's first result).
func (u Usage) Status(stable string) string {
	switch {
	case u.Stable:
		return "current"
	case stable == "":
		return "no stable channel here"
	}
	return OldStatus
}
