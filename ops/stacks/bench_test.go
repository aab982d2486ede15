package stacks

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	ststypes "github.com/aws/aws-sdk-go-v2/service/sts/types"

	"github.com/opsdeck/opsdeck/ops/emulator"
	"github.com/opsdeck/opsdeck/ops/fleet"
	"github.com/opsdeck/opsdeck/profiles"
)

// instantSTS hands out credentials without a network round trip, so the
// benchmark measures the fan-out, not STS.
type instantSTS struct{ profiles.STSAPI }

func (instantSTS) AssumeRole(_ context.Context, in *sts.AssumeRoleInput, _ ...func(*sts.Options)) (*sts.AssumeRoleOutput, error) {
	exp := time.Now().Add(time.Hour)
	return &sts.AssumeRoleOutput{Credentials: &ststypes.Credentials{AccessKeyId: aws.String("AKIA"), SecretAccessKey: aws.String("s"),
		SessionToken: aws.String("t"), Expiration: &exp}, AssumedRoleUser: &ststypes.AssumedRoleUser{Arn: in.RoleArn}}, nil
}

const listStacksXML = `<ListStacksResponse xmlns="http://cloudformation.amazonaws.com/doc/2010-05-15/"><ListStacksResult><StackSummaries>
<member><StackName>web</StackName><StackId>arn:aws:cloudformation:eu-north-1:1:stack/web/1</StackId><StackStatus>CREATE_COMPLETE</StackStatus><CreationTime>2026-11-01T00:00:00Z</CreationTime></member>
<member><StackName>db</StackName><StackId>arn:aws:cloudformation:eu-north-1:1:stack/db/2</StackId><StackStatus>UPDATE_COMPLETE</StackStatus><CreationTime>2026-11-01T00:00:00Z</CreationTime></member>
</StackSummaries></ListStacksResult><ResponseMetadata><RequestId>r</RequestId></ResponseMetadata></ListStacksResponse>`

// BenchmarkFanOut600x32 lists stacks on 600 targets at concurrency 32
// against an in-process fake CloudFormation that answers every call after
// 50 ms (moto is single-threaded and too slow to measure fan-out with).
// The lower bound is ceil(600/32) × 50 ms = 950 ms; x-bound is the
// measured time over it (target ≤ 1.2).
func BenchmarkFanOut600x32(b *testing.B) {
	const latency = 50 * time.Millisecond
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(latency)
		w.Header().Set("Content-Type", "text/xml")
		fmt.Fprint(w, listStacksXML)
	}))
	defer srv.Close()
	cfg, err := profiles.Parse("bench.toml", []byte(emulator.Synthetic(300).ConfigTOML()))
	if err != nil {
		b.Fatal(err)
	}
	src := aws.Config{Region: "eu-north-1", BaseEndpoint: aws.String(srv.URL), Credentials: aws.AnonymousCredentials{},
		HTTPClient: profiles.HTTPClient(), RetryMaxAttempts: 1}
	targets := fleet.Targets(cfg.Accounts, nil)
	if len(targets) != 600 {
		b.Fatalf("%d targets", len(targets))
	}
	bound := time.Duration((len(targets)+31)/32) * latency
	b.ResetTimer()
	var total time.Duration
	for i := 0; i < b.N; i++ {
		br := profiles.NewBroker(cfg, profiles.BrokerOptions{Source: &src, NewSTS: func(aws.Config) profiles.STSAPI { return instantSTS{} }})
		start := time.Now()
		n := 0
		for r := range ListAcross(context.Background(), br, targets, fleet.Options{Concurrency: 32}, Filter{}, nil) {
			if r.Err != nil {
				b.Fatal(r.Err)
			}
			n += len(r.Value)
		}
		total += time.Since(start)
		if n != 1200 {
			b.Fatalf("%d stacks", n)
		}
	}
	b.ReportMetric(float64(total)/float64(b.N)/float64(bound), "x-bound")
}
