package profiles_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	ssmtypes "github.com/aws/aws-sdk-go-v2/service/ssm/types"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/opsdeck/opsdeck/ops/emulator"
	"github.com/opsdeck/opsdeck/profiles"
)

var moto *emulator.Server

func TestMain(m *testing.M) { os.Exit(emulator.RunTests(m, &moto)) }

const brokerConfig = `[operator]
name = "ops-jane"
region = "eu-north-1"
default_role = "read"

[roles.read]
name = "OpsReadOnly"

[roles.operate]
name = "OpsOperator"
mfa_serial = "arn:aws:iam::123456789012:mfa/ops-jane"

[roles.jump]
name = "OrgJump"
account = "platform-identity"

[roles.chained]
name = "OpsDeep"
via = "jump"

[[accounts]]
id = "200000000001"
name = "acme-test"
environment = "test"

[[accounts]]
id = "200000000002"
name = "acme-qa"
environment = "qa"

[[accounts]]
id = "200000000003"
name = "acme-prod"
environment = "prod"

[[accounts]]
id = "200000000099"
name = "platform-identity"
environment = "shared"
`

// recorder wraps the real STS client to see which calls the broker makes.
type recorder struct {
	mu    sync.Mutex
	calls []string
}

type recSTS struct {
	profiles.STSAPI
	r *recorder
}

func (s recSTS) AssumeRole(ctx context.Context, in *sts.AssumeRoleInput, o ...func(*sts.Options)) (*sts.AssumeRoleOutput, error) {
	s.r.mu.Lock()
	s.r.calls = append(s.r.calls, fmt.Sprintf("AssumeRole %s session=%s source=%s", aws.ToString(in.RoleArn), aws.ToString(in.RoleSessionName), aws.ToString(in.SourceIdentity)))
	s.r.mu.Unlock()
	return s.STSAPI.AssumeRole(ctx, in, o...)
}

func (s recSTS) GetSessionToken(ctx context.Context, in *sts.GetSessionTokenInput, o ...func(*sts.Options)) (*sts.GetSessionTokenOutput, error) {
	s.r.mu.Lock()
	s.r.calls = append(s.r.calls, fmt.Sprintf("GetSessionToken %s %s", aws.ToString(in.SerialNumber), aws.ToString(in.TokenCode)))
	s.r.mu.Unlock()
	return s.STSAPI.GetSessionToken(ctx, in, o...)
}

func (r *recorder) count(prefix string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for _, c := range r.calls {
		if strings.HasPrefix(c, prefix) {
			n++
		}
	}
	return n
}

func newBroker(t *testing.T, opts profiles.BrokerOptions) (*profiles.Broker, *profiles.Config, *recorder) {
	t.Helper()
	cfg, err := profiles.Parse("broker.toml", []byte(brokerConfig))
	if err != nil {
		t.Fatal(err)
	}
	rec := &recorder{}
	opts.RetryMaxAttempts = 1
	opts.NewSTS = func(c aws.Config) profiles.STSAPI { return recSTS{sts.NewFromConfig(c), rec} }
	return profiles.NewBroker(cfg, opts), cfg, rec
}

func TestAssumeIntoThreeAccountsIsolated(t *testing.T) {
	ctx := context.Background()
	b, cfg, rec := newBroker(t, profiles.BrokerOptions{})
	names := []string{"acme-test", "acme-qa", "acme-prod"}
	for _, n := range names {
		a := cfg.Account(n)
		c, creds, err := b.Config(ctx, a, "", "")
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(creds.ARN, a.ID) || !strings.Contains(creds.ARN, "OpsReadOnly/ops-jane") {
			t.Errorf("%s: assumed ARN %s", n, creds.ARN)
		}
		id, err := b.WhoAmI(ctx, c)
		if err != nil {
			t.Fatal(err)
		}
		if aws.ToString(id.Account) != a.ID {
			t.Fatalf("%s: caller account %s, want %s", n, aws.ToString(id.Account), a.ID)
		}
		// Same parameter name in every account, different value.
		_, err = ssm.NewFromConfig(c).PutParameter(ctx, &ssm.PutParameterInput{Name: aws.String("/isolation/owner"),
			Value: aws.String(n), Type: ssmtypes.ParameterTypeString, Overwrite: aws.Bool(true)})
		if err != nil {
			t.Fatal(err)
		}
	}
	for _, n := range names {
		c, _, err := b.Config(ctx, cfg.Account(n), "", "")
		if err != nil {
			t.Fatal(err)
		}
		out, err := ssm.NewFromConfig(c).GetParameter(ctx, &ssm.GetParameterInput{Name: aws.String("/isolation/owner")})
		if err != nil {
			t.Fatal(err)
		}
		if got := aws.ToString(out.Parameter.Value); got != n {
			t.Errorf("%s sees /isolation/owner = %q: accounts are not isolated", n, got)
		}
	}
	// Second round came from the cache: one AssumeRole per account.
	if got := rec.count("AssumeRole"); got != 3 {
		t.Errorf("AssumeRole calls = %d, want 3 (cached)\n%s", got, strings.Join(rec.calls, "\n"))
	}
	if !strings.Contains(rec.calls[0], "session=ops-jane source=ops-jane") {
		t.Errorf("RoleSessionName/SourceIdentity not the operator: %s", rec.calls[0])
	}
}

func TestRoleChaining(t *testing.T) {
	ctx := context.Background()
	b, cfg, rec := newBroker(t, profiles.BrokerOptions{})
	c, creds, err := b.Config(ctx, cfg.Account("acme-prod"), "chained", "")
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"AssumeRole arn:aws:iam::200000000099:role/OrgJump",
		"AssumeRole arn:aws:iam::200000000003:role/OpsDeep",
	}
	if len(rec.calls) != 2 || !strings.HasPrefix(rec.calls[0], want[0]) || !strings.HasPrefix(rec.calls[1], want[1]) {
		t.Fatalf("chain calls:\n%s\nwant\n%s", strings.Join(rec.calls, "\n"), strings.Join(want, "\n"))
	}
	id, err := b.WhoAmI(ctx, c)
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToString(id.Account) != "200000000003" || !strings.Contains(creds.ARN, "OpsDeep") {
		t.Fatalf("chained identity = %s %s", aws.ToString(id.Account), creds.ARN)
	}
	// The intermediate hop is cached and reused for another target.
	if _, _, err := b.Config(ctx, cfg.Account("acme-qa"), "chained", ""); err != nil {
		t.Fatal(err)
	}
	if got := rec.count("AssumeRole arn:aws:iam::200000000099:role/OrgJump"); got != 1 {
		t.Errorf("jump role assumed %d times, want 1", got)
	}
}

func TestMFAOnePromptForManyAccounts(t *testing.T) {
	ctx := context.Background()
	var prompts atomic.Int32
	prompt := func(_ context.Context, serial string) (string, error) {
		prompts.Add(1)
		if serial != "arn:aws:iam::123456789012:mfa/ops-jane" {
			return "", fmt.Errorf("asked for %s", serial)
		}
		return "123456", nil
	}
	b, cfg, rec := newBroker(t, profiles.BrokerOptions{Prompt: prompt})
	var wg sync.WaitGroup
	errs := make(chan error, 3)
	for _, n := range []string{"acme-test", "acme-qa", "acme-prod"} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, _, err := b.Config(ctx, cfg.Account(n), "operate", "")
			if err == nil {
				var id *sts.GetCallerIdentityOutput
				id, err = b.WhoAmI(ctx, c)
				if err == nil && aws.ToString(id.Account) != cfg.Account(n).ID {
					err = fmt.Errorf("%s: wrong account %s", n, aws.ToString(id.Account))
				}
			}
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if prompts.Load() != 1 || b.PromptCount() != 1 {
		t.Fatalf("prompted %d times for three accounts, want 1", prompts.Load())
	}
	if got := rec.count("GetSessionToken arn:aws:iam::123456789012:mfa/ops-jane 123456"); got != 1 {
		t.Fatalf("GetSessionToken calls = %d\n%s", got, strings.Join(rec.calls, "\n"))
	}
}

func TestMFAWithoutPromptSaysWhatToDo(t *testing.T) {
	b, cfg, _ := newBroker(t, profiles.BrokerOptions{})
	_, _, err := b.Config(context.Background(), cfg.Account("acme-test"), "operate", "")
	var ae *profiles.AuthError
	if !errors.As(err, &ae) || !strings.Contains(err.Error(), "--mfa-code") || !strings.Contains(err.Error(), "acme-test") {
		t.Fatalf("err = %v", err)
	}
}

func TestMFABadCodeRejected(t *testing.T) {
	b, cfg, rec := newBroker(t, profiles.BrokerOptions{Prompt: func(context.Context, string) (string, error) { return "12ab", nil }})
	_, _, err := b.Config(context.Background(), cfg.Account("acme-test"), "operate", "")
	if err == nil || !strings.Contains(err.Error(), "not a 6-digit code") {
		t.Fatalf("err = %v", err)
	}
	if len(rec.calls) != 0 {
		t.Fatal("a malformed code must not reach STS")
	}
}

func TestExpiryRefresh(t *testing.T) {
	ctx := context.Background()
	var mu sync.Mutex
	now := time.Now()
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	b, cfg, rec := newBroker(t, profiles.BrokerOptions{Now: clock})
	a := cfg.Account("acme-qa")
	c1, err := b.Credentials(ctx, a, "read")
	if err != nil {
		t.Fatal(err)
	}
	if exp := b.Expiry(a, ""); !exp.Equal(c1.Expires) || exp.Before(now) {
		t.Fatalf("Expiry = %v, creds expire %v", exp, c1.Expires)
	}
	// Well before expiry: cached.
	mu.Lock()
	now = c1.Expires.Add(-10 * time.Minute)
	mu.Unlock()
	c2, _ := b.Credentials(ctx, a, "read")
	if c2.AccessKeyID != c1.AccessKeyID || rec.count("AssumeRole") != 1 {
		t.Fatal("credentials renewed too early")
	}
	// Inside the 5-minute refresh window: renewed before they die.
	mu.Lock()
	now = c1.Expires.Add(-4 * time.Minute)
	mu.Unlock()
	c3, err := b.Credentials(ctx, a, "read")
	if err != nil {
		t.Fatal(err)
	}
	if c3.AccessKeyID == c1.AccessKeyID || rec.count("AssumeRole") != 2 {
		t.Fatal("credentials not renewed inside the refresh window")
	}
}

func TestDeadEndpointNamesAccountAndHint(t *testing.T) {
	cfg, err := profiles.Parse("broker.toml", []byte(brokerConfig))
	if err != nil {
		t.Fatal(err)
	}
	src := aws.Config{Region: "eu-north-1", BaseEndpoint: aws.String("http://127.0.0.1:1"),
		Credentials: aws.AnonymousCredentials{}}
	b := profiles.NewBroker(cfg, profiles.BrokerOptions{Source: &src, RetryMaxAttempts: 1})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, _, err = b.Config(ctx, cfg.Account("acme-prod"), "", "")
	if err == nil {
		t.Fatal("no error from a dead endpoint")
	}
	for _, want := range []string{"acme-prod as read", "arn:aws:iam::200000000003:role/OpsReadOnly", "did not answer"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q: %v", want, err)
		}
	}
}

func TestEnvForChild(t *testing.T) {
	exp := time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)
	env := profiles.Env([]string{"PATH=/bin", "AWS_PROFILE=hub", "AWS_ACCESS_KEY_ID=old", "HOME=/root"},
		profiles.Creds{AccessKeyID: "AK", SecretAccessKey: "SK", SessionToken: "ST", Expires: exp}, "eu-west-1")
	got := strings.Join(env, " ")
	for _, want := range []string{"PATH=/bin", "HOME=/root", "AWS_ACCESS_KEY_ID=AK", "AWS_SECRET_ACCESS_KEY=SK",
		"AWS_SESSION_TOKEN=ST", "AWS_REGION=eu-west-1", "AWS_CREDENTIAL_EXPIRATION=2026-11-22T10:00:00Z"} {
		if !strings.Contains(got, want) {
			t.Errorf("env lacks %s", want)
		}
	}
	if strings.Contains(got, "AWS_PROFILE") || strings.Contains(got, "=old") {
		t.Errorf("stale settings kept: %s", got)
	}
}

// The retry policy backs off on real AWS failures but not on answers that
// are not AWS at all (an endpoint without the API), which would only cost
// the operator seconds of waiting for the same answer.
func TestRetryPolicy(t *testing.T) {
	tests := []struct {
		name     string
		body     string
		ctype    string
		wantHits int32
	}{
		{"non-AWS 500 is not retried", "<html>500 Internal Server Error</html>", "text/html", 1},
		{"AWS InternalFailure is retried", `<ErrorResponse><Error><Type>Receiver</Type><Code>InternalFailure</Code><Message>try again</Message></Error><RequestId>r</RequestId></ErrorResponse>`, "text/xml", 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var hits atomic.Int32
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				hits.Add(1)
				w.Header().Set("Content-Type", tt.ctype)
				w.WriteHeader(500)
				fmt.Fprint(w, tt.body)
			}))
			defer srv.Close()
			cfg, err := profiles.Parse("broker.toml", []byte(brokerConfig))
			if err != nil {
				t.Fatal(err)
			}
			src := aws.Config{Region: "eu-north-1", BaseEndpoint: aws.String(srv.URL), Credentials: aws.AnonymousCredentials{}}
			b := profiles.NewBroker(cfg, profiles.BrokerOptions{Source: &src, RetryMaxAttempts: 3})
			_, _, err = b.Config(context.Background(), cfg.Account("acme-test"), "", "")
			if err == nil {
				t.Fatal("no error")
			}
			if got := hits.Load(); got != tt.wantHits {
				t.Fatalf("%d requests, want %d (%v)", got, tt.wantHits, err)
			}
		})
	}
}
