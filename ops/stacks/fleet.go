package stacks

import (
	"context"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/opsdeck/opsdeck/ops/fleet"
	"github.com/opsdeck/opsdeck/profiles"
)

// Factory builds the API for one target's config (New in production; tests
// and benchmarks put fakes or broken endpoints here).
type Factory func(aws.Config, fleet.Target) API

// ListAcross lists stacks on every target through the fleet; results
// stream as targets answer.
func ListAcross(ctx context.Context, b *profiles.Broker, targets []fleet.Target, o fleet.Options, f Filter, newAPI Factory) <-chan fleet.Result[[]Summary] {
	if newAPI == nil {
		newAPI = func(c aws.Config, _ fleet.Target) API { return New(c) }
	}
	return fleet.Stream(ctx, b, targets, o, func(ctx context.Context, cfg aws.Config, t fleet.Target) ([]Summary, error) {
		return List(ctx, newAPI(cfg, t), f)
	})
}
