package fleet

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	ststypes "github.com/aws/aws-sdk-go-v2/service/sts/types"
	"github.com/aws/smithy-go"

	"github.com/opsdeck/opsdeck/ops/emulator"
	"github.com/opsdeck/opsdeck/profiles"
)

// fakeSTS hands out credentials at once, and AccessDenied for accounts in
// deny: the fan-out logic is tested here without any network.
type fakeSTS struct {
	profiles.STSAPI
	deny map[string]bool
}

func (f fakeSTS) AssumeRole(_ context.Context, in *sts.AssumeRoleInput, _ ...func(*sts.Options)) (*sts.AssumeRoleOutput, error) {
	arn := aws.ToString(in.RoleArn)
	for acct := range f.deny {
		if strings.Contains(arn, acct) {
			return nil, &smithy.GenericAPIError{Code: "AccessDenied", Message: "not authorized to perform sts:AssumeRole on " + arn}
		}
	}
	exp := time.Now().Add(time.Hour)
	return &sts.AssumeRoleOutput{Credentials: &ststypes.Credentials{AccessKeyId: aws.String("AK" + arn[13:25]), SecretAccessKey: aws.String("s"),
		SessionToken: aws.String("t"), Expiration: &exp}, AssumedRoleUser: &ststypes.AssumedRoleUser{Arn: aws.String(arn)}}, nil
}

// FakeBroker returns a broker over a synthetic estate whose STS is fake.
func fakeBroker(t testing.TB, n int, deny ...string) (*profiles.Broker, *profiles.Config) {
	cfg, err := profiles.Parse("fleet.toml", []byte(emulator.Synthetic(n).ConfigTOML()))
	if err != nil {
		t.Fatal(err)
	}
	d := map[string]bool{}
	for _, a := range deny {
		d[a] = true
	}
	src := aws.Config{Region: "eu-north-1", Credentials: aws.AnonymousCredentials{}}
	return profiles.NewBroker(cfg, profiles.BrokerOptions{Source: &src, NewSTS: func(aws.Config) profiles.STSAPI { return fakeSTS{deny: d} }}), cfg
}

func TestRunReportsEveryTargetAndIsolatesFailures(t *testing.T) {
	b, cfg := fakeBroker(t, 9, cfg0ID(3))
	targets := Targets(cfg.Accounts, nil)
	if len(targets) != 18 {
		t.Fatalf("%d targets", len(targets))
	}
	var mu sync.Mutex
	var last Progress
	states := map[string]int{}
	res := Run(context.Background(), b, targets, Options{Concurrency: 4, Progress: func(p Progress) {
		mu.Lock()
		defer mu.Unlock()
		last = p
		states[p.State.String()]++
	}}, func(ctx context.Context, c aws.Config, t Target) (string, error) {
		if t.Account.Name == "cust-001-qa" && t.Region == "eu-west-1" {
			return "", errors.New("region disabled")
		}
		return c.Region + "@" + t.Account.ID, nil
	})
	var failed []string
	for i, r := range res {
		if r.Target != targets[i] {
			t.Fatalf("result %d out of order", i)
		}
		if r.Err != nil {
			failed = append(failed, r.Target.String()+": "+r.Err.Error())
			continue
		}
		if r.Value != r.Target.Region+"@"+r.Target.Account.ID {
			t.Errorf("%s got %q", r.Target, r.Value)
		}
	}
	if len(failed) != 3 {
		t.Fatalf("failed = %v", failed)
	}
	joined := strings.Join(failed, "\n")
	if !strings.Contains(joined, "cust-001-qa/eu-west-1: region disabled") || !strings.Contains(joined, "AccessDenied") {
		t.Fatalf("failures lack their cause:\n%s", joined)
	}
	if last.Done != 15 || last.Failed != 3 || last.Running != 0 || last.Total != 18 || states["running"] != 18 {
		t.Fatalf("progress = %+v %v", last, states)
	}
}

func cfg0ID(i int) string { return fmt.Sprintf("4%011d", i) }

func TestConcurrencyIsBounded(t *testing.T) {
	b, cfg := fakeBroker(t, 30)
	var mu sync.Mutex
	cur, peak := 0, 0
	Run(context.Background(), b, Targets(cfg.Accounts, nil), Options{Concurrency: 5}, func(ctx context.Context, _ aws.Config, _ Target) (int, error) {
		mu.Lock()
		cur++
		peak = max(peak, cur)
		mu.Unlock()
		time.Sleep(2 * time.Millisecond)
		mu.Lock()
		cur--
		mu.Unlock()
		return 0, nil
	})
	if peak != 5 {
		t.Fatalf("peak concurrency %d, want 5", peak)
	}
}

func TestCancelStopsTheFanOut(t *testing.T) {
	b, cfg := fakeBroker(t, 50)
	targets := Targets(cfg.Accounts, nil)
	ctx, cancel := context.WithCancel(context.Background())
	started := make(chan struct{}, len(targets))
	ch := Stream(ctx, b, targets, Options{Concurrency: 8}, func(ctx context.Context, _ aws.Config, _ Target) (int, error) {
		started <- struct{}{}
		<-ctx.Done() // a slow AWS call that honours cancellation
		return 0, ctx.Err()
	})
	for i := 0; i < 8; i++ {
		<-started
	}
	cancel()
	n, cancelled := 0, 0
	for r := range ch {
		n++
		if errors.Is(r.Err, context.Canceled) {
			cancelled++
		}
	}
	if n != len(targets) || cancelled != len(targets) {
		t.Fatalf("%d results, %d cancelled, want %d each", n, cancelled, len(targets))
	}
	if len(started) != 0 {
		t.Fatalf("%d targets started after cancel", len(started))
	}
}
