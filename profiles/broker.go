package profiles

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	ststypes "github.com/aws/aws-sdk-go-v2/service/sts/types"
	"github.com/aws/smithy-go"
)

// STSAPI is the part of STS the broker uses; *sts.Client satisfies it.
type STSAPI interface {
	AssumeRole(ctx context.Context, in *sts.AssumeRoleInput, optFns ...func(*sts.Options)) (*sts.AssumeRoleOutput, error)
	GetSessionToken(ctx context.Context, in *sts.GetSessionTokenInput, optFns ...func(*sts.Options)) (*sts.GetSessionTokenOutput, error)
	GetCallerIdentity(ctx context.Context, in *sts.GetCallerIdentityInput, optFns ...func(*sts.Options)) (*sts.GetCallerIdentityOutput, error)
}

var _ STSAPI = (*sts.Client)(nil)

// MFAPrompt asks the operator for a one-time code for the device serial.
type MFAPrompt func(ctx context.Context, serial string) (string, error)

// BrokerOptions tune a Broker; the zero value is the production setup.
type BrokerOptions struct {
	// Prompt asks for MFA codes. Nil: roles with mfa_serial fail with a
	// hint to pass --mfa-code.
	Prompt MFAPrompt
	// Now is the clock (tests move it to exercise refresh).
	Now func() time.Time
	// RefreshWindow: cached credentials are renewed this long before they
	// expire (default 5m), so no call starts with credentials about to die.
	RefreshWindow time.Duration
	// RetryMaxAttempts for every AWS call (default 5, adaptive mode, which
	// backs off on throttling). Tests set 1 so a missing API fails fast.
	RetryMaxAttempts int
	// Source, when set, is the hub identity's config and nothing is loaded
	// from the environment or ~/.aws.
	Source *aws.Config
	// NewSTS builds the STS client (tests put a fake here).
	NewSTS func(aws.Config) STSAPI
	// MFADuration of the GetSessionToken session (default 12h).
	MFADuration time.Duration
}

// Creds are temporary credentials and when they expire.
type Creds struct {
	AccessKeyID     string
	SecretAccessKey string
	SessionToken    string
	Expires         time.Time
	// ARN of the identity (assumed-role ARN for roles).
	ARN string
}

// Broker turns (account, role) into an aws.Config. It is the one place that
// loads AWS configuration (config.LoadDefaultConfig), so AWS_ENDPOINT_URL,
// AWS_REGION, AWS_PROFILE and the other standard variables work everywhere.
// Credentials live only in memory and are cached until shortly before they
// expire.
type Broker struct {
	cfg  *Config
	opts BrokerOptions

	srcOnce sync.Once
	src     aws.Config
	srcErr  error

	mu      sync.Mutex
	entries map[string]*entry

	mfaMu    sync.Mutex
	mfaCache map[string]Creds
	prompts  int
}

type entry struct {
	mu    sync.Mutex
	creds Creds
}

// NewBroker returns a broker for the estate in cfg.
func NewBroker(cfg *Config, opts BrokerOptions) *Broker {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.RefreshWindow == 0 {
		opts.RefreshWindow = 5 * time.Minute
	}
	if opts.RetryMaxAttempts == 0 {
		opts.RetryMaxAttempts = 5
	}
	if opts.NewSTS == nil {
		opts.NewSTS = func(c aws.Config) STSAPI { return sts.NewFromConfig(c) }
	}
	if opts.MFADuration == 0 {
		opts.MFADuration = 12 * time.Hour
	}
	return &Broker{cfg: cfg, opts: opts, entries: map[string]*entry{}, mfaCache: map[string]Creds{}}
}

// Estate is the config the broker serves.
func (b *Broker) Estate() *Config { return b.cfg }

// PromptCount is how many MFA codes were asked for so far.
func (b *Broker) PromptCount() int {
	b.mfaMu.Lock()
	defer b.mfaMu.Unlock()
	return b.prompts
}

// Source returns the hub identity's config, loading it once.
func (b *Broker) Source(ctx context.Context) (aws.Config, error) {
	b.srcOnce.Do(func() {
		if b.opts.Source != nil {
			b.src = b.opts.Source.Copy()
			return
		}
		opts := []func(*config.LoadOptions) error{
			config.WithRegion(b.cfg.Operator.Region),
			config.WithRetryer(b.retryer),
			config.WithHTTPClient(HTTPClient()),
		}
		if p := b.cfg.Operator.SourceProfile; p != "" {
			opts = append(opts, config.WithSharedConfigProfile(p))
		}
		b.src, b.srcErr = config.LoadDefaultConfig(ctx, opts...)
		if b.srcErr != nil {
			b.srcErr = &AuthError{Step: "load the hub identity", Err: b.srcErr,
				Hint: "check operator.source_profile and ~/.aws/config, or the AWS_* environment variables"}
		}
	})
	return b.src, b.srcErr
}

// HTTPClient is the SDK client with a connection pool sized for fan-out:
// every account in a region talks to the same endpoint host, and the SDK's
// default keeps only a few idle connections per host, so a fan-out would
// reconnect (TLS included) on most calls.
func HTTPClient() *awshttp.BuildableClient {
	return awshttp.NewBuildableClient().WithTransportOptions(func(t *http.Transport) {
		t.MaxIdleConns = 256
		t.MaxIdleConnsPerHost = 64
	})
}

func (b *Broker) retryer() aws.Retryer {
	return retry.NewAdaptiveMode(func(o *retry.AdaptiveModeOptions) {
		o.StandardOptions = append(o.StandardOptions, func(so *retry.StandardOptions) {
			so.MaxAttempts = b.opts.RetryMaxAttempts
			so.Retryables = append([]retry.IsErrorRetryable{noRetryForNonAWS}, so.Retryables...)
		})
	})
}

// Config returns an aws.Config acting as roleKey ("" = the account's
// default role) in account a and region ("" = the account's first region).
// Credentials are fetched now, so a failure surfaces here; the returned
// config renews them by itself when they near expiry.
func (b *Broker) Config(ctx context.Context, a *Account, roleKey, region string) (aws.Config, Creds, error) {
	roleKey = b.roleKey(a, roleKey)
	creds, err := b.Credentials(ctx, a, roleKey)
	if err != nil {
		return aws.Config{}, Creds{}, err
	}
	src, _ := b.Source(ctx)
	c := src.Copy()
	if region == "" {
		region = a.Regions[0]
	}
	c.Region = region
	c.Retryer = b.retryer
	provider := aws.CredentialsProviderFunc(func(ctx context.Context) (aws.Credentials, error) {
		cr, err := b.Credentials(ctx, a, roleKey)
		if err != nil {
			return aws.Credentials{}, err
		}
		return cr.aws(), nil
	})
	c.Credentials = aws.NewCredentialsCache(provider, func(o *aws.CredentialsCacheOptions) {
		o.ExpiryWindow = b.opts.RefreshWindow
	})
	return c, creds, nil
}

func (b *Broker) roleKey(a *Account, roleKey string) string {
	if roleKey == "" {
		roleKey = b.cfg.DefaultRole(a)
	}
	return roleKey
}

// Expiry of the cached credentials for (a, roleKey); zero when none.
func (b *Broker) Expiry(a *Account, roleKey string) time.Time {
	b.mu.Lock()
	e := b.entries[a.ID+"/"+b.roleKey(a, roleKey)]
	b.mu.Unlock()
	if e == nil {
		return time.Time{}
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.creds.Expires
}

// Credentials returns cached or fresh credentials for roleKey in a.
func (b *Broker) Credentials(ctx context.Context, a *Account, roleKey string) (Creds, error) {
	roleKey = b.roleKey(a, roleKey)
	role, ok := b.cfg.Roles[roleKey]
	if !ok {
		return Creds{}, &AuthError{Account: a.Name, Role: roleKey, Step: "pick the role",
			Err: errors.New("no such role"), Hint: "roles: " + strings.Join(sortedKeys(b.cfg.Roles), ", ")}
	}
	return b.assume(ctx, a, role, 0)
}

func (b *Broker) entryFor(key string) *entry {
	b.mu.Lock()
	defer b.mu.Unlock()
	e, ok := b.entries[key]
	if !ok {
		e = &entry{}
		b.entries[key] = e
	}
	return e
}

func (b *Broker) fresh(c Creds) bool {
	return c.AccessKeyID != "" && b.opts.Now().Add(b.opts.RefreshWindow).Before(c.Expires)
}

// assume gets credentials for role in target account a, first assuming
// role.Via (recursively) when the role is chained.
func (b *Broker) assume(ctx context.Context, a *Account, role *Role, depth int) (Creds, error) {
	if depth > 8 {
		return Creds{}, &AuthError{Account: a.Name, Role: role.Key, Step: "follow the via chain", Err: errors.New("chain too long")}
	}
	acctID := a.ID
	acctName := a.Name
	if role.Account != "" {
		if pinned := b.cfg.Account(role.Account); pinned != nil {
			acctID, acctName = pinned.ID, pinned.Name
		} else {
			acctID, acctName = role.Account, role.Account
		}
	}
	e := b.entryFor(acctID + "/" + role.Key)
	e.mu.Lock()
	defer e.mu.Unlock()
	if b.fresh(e.creds) {
		return e.creds, nil
	}

	// Whose credentials sign the AssumeRole call.
	var parent aws.CredentialsProvider
	switch {
	case role.Via != "":
		via := b.cfg.Roles[role.Via]
		pc, err := b.assume(ctx, a, via, depth+1)
		if err != nil {
			return Creds{}, err
		}
		parent = credentials.NewStaticCredentialsProvider(pc.AccessKeyID, pc.SecretAccessKey, pc.SessionToken)
	case role.MFASerial != "":
		mc, err := b.mfaSession(ctx, role.MFASerial, acctName, role.Key)
		if err != nil {
			return Creds{}, err
		}
		parent = credentials.NewStaticCredentialsProvider(mc.AccessKeyID, mc.SecretAccessKey, mc.SessionToken)
	}
	src, err := b.Source(ctx)
	if err != nil {
		return Creds{}, err
	}
	c := src.Copy()
	c.Retryer = b.retryer
	if parent != nil {
		c.Credentials = parent
	}
	in := &sts.AssumeRoleInput{
		RoleArn:         aws.String(RoleARN(partition(c.Region), acctID, role.Name)),
		RoleSessionName: aws.String(b.cfg.Operator.Name),
		SourceIdentity:  aws.String(b.cfg.Operator.Name),
	}
	if d := role.SessionDuration(); d > 0 {
		if role.Via != "" && d > time.Hour {
			d = time.Hour // AWS caps chained role sessions at one hour
		}
		in.DurationSeconds = aws.Int32(int32(d / time.Second))
	}
	out, err := b.opts.NewSTS(c).AssumeRole(ctx, in)
	if err != nil {
		return Creds{}, &AuthError{Account: acctName, Role: role.Key, Step: "assume " + aws.ToString(in.RoleArn), Err: err, Hint: assumeHint(err, role)}
	}
	e.creds = fromSTS(out.Credentials, aws.ToString(out.AssumedRoleUser.Arn))
	return e.creds, nil
}

// mfaSession returns the MFA-authenticated session for serial, prompting
// once; every role that needs the device is then assumed from it, so the
// operator types one code however many accounts they touch.
func (b *Broker) mfaSession(ctx context.Context, serial, acct, role string) (Creds, error) {
	b.mfaMu.Lock()
	defer b.mfaMu.Unlock()
	if c, ok := b.mfaCache[serial]; ok && b.fresh(c) {
		return c, nil
	}
	if b.opts.Prompt == nil {
		return Creds{}, &AuthError{Account: acct, Role: role, Step: "get an MFA session",
			Err: errors.New("an MFA code is needed and there is no terminal to ask on"), Hint: "pass --mfa-code CODE"}
	}
	b.prompts++
	code, err := b.opts.Prompt(ctx, serial)
	if err != nil {
		return Creds{}, &AuthError{Account: acct, Role: role, Step: "read the MFA code", Err: err}
	}
	code = strings.TrimSpace(code)
	if len(code) != 6 || strings.Trim(code, "0123456789") != "" {
		return Creds{}, &AuthError{Account: acct, Role: role, Step: "read the MFA code",
			Err: fmt.Errorf("%q is not a 6-digit code", code), Hint: "type the current code from the device " + serial}
	}
	src, err := b.Source(ctx)
	if err != nil {
		return Creds{}, err
	}
	out, err := b.opts.NewSTS(src).GetSessionToken(ctx, &sts.GetSessionTokenInput{
		SerialNumber:    aws.String(serial),
		TokenCode:       aws.String(code),
		DurationSeconds: aws.Int32(int32(b.opts.MFADuration / time.Second)),
	})
	if err != nil {
		return Creds{}, &AuthError{Account: acct, Role: role, Step: "get an MFA session for " + serial, Err: err,
			Hint: "the code may have expired or been used already; wait for the next one"}
	}
	c := fromSTS(out.Credentials, "")
	b.mfaCache[serial] = c
	return c, nil
}

// WhoAmI calls GetCallerIdentity with cfg.
func (b *Broker) WhoAmI(ctx context.Context, cfg aws.Config) (*sts.GetCallerIdentityOutput, error) {
	return b.opts.NewSTS(cfg).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
}

// Env is the environment for a child process acting as the role:
// base with AWS_PROFILE and stale credentials removed, fresh ones added.
func Env(base []string, c Creds, region string) []string {
	drop := map[string]bool{"AWS_PROFILE": true, "AWS_DEFAULT_PROFILE": true, "AWS_ACCESS_KEY_ID": true,
		"AWS_SECRET_ACCESS_KEY": true, "AWS_SESSION_TOKEN": true, "AWS_SECURITY_TOKEN": true,
		"AWS_REGION": true, "AWS_DEFAULT_REGION": true, "AWS_CREDENTIAL_EXPIRATION": true}
	out := make([]string, 0, len(base)+6)
	for _, kv := range base {
		k, _, _ := strings.Cut(kv, "=")
		if !drop[k] {
			out = append(out, kv)
		}
	}
	out = append(out,
		"AWS_ACCESS_KEY_ID="+c.AccessKeyID,
		"AWS_SECRET_ACCESS_KEY="+c.SecretAccessKey,
		"AWS_SESSION_TOKEN="+c.SessionToken,
		"AWS_REGION="+region,
		"AWS_DEFAULT_REGION="+region,
		"AWS_CREDENTIAL_EXPIRATION="+c.Expires.UTC().Format(time.RFC3339),
	)
	return out
}

func (c Creds) aws() aws.Credentials {
	return aws.Credentials{AccessKeyID: c.AccessKeyID, SecretAccessKey: c.SecretAccessKey,
		SessionToken: c.SessionToken, CanExpire: true, Expires: c.Expires, Source: "opsdeck"}
}

func fromSTS(v *ststypes.Credentials, arn string) Creds {
	if v == nil {
		return Creds{}
	}
	return Creds{AccessKeyID: aws.ToString(v.AccessKeyId), SecretAccessKey: aws.ToString(v.SecretAccessKey),
		SessionToken: aws.ToString(v.SessionToken), Expires: aws.ToTime(v.Expiration), ARN: arn}
}

// RoleARN builds arn:PARTITION:iam::ACCOUNT:role/NAME.
func RoleARN(partition, account, name string) string {
	return fmt.Sprintf("arn:%s:iam::%s:role/%s", partition, account, name)
}

func partition(region string) string {
	switch {
	case strings.HasPrefix(region, "cn-"):
		return "aws-cn"
	case strings.HasPrefix(region, "us-gov-"):
		return "aws-us-gov"
	}
	return "aws"
}

// AuthError is a failure to get credentials, naming the account and role
// and saying what to try.
type AuthError struct {
	Account, Role string
	Step          string
	Err           error
	Hint          string
}

func (e *AuthError) Error() string {
	var b strings.Builder
	if e.Account != "" {
		fmt.Fprintf(&b, "%s", e.Account)
		if e.Role != "" {
			fmt.Fprintf(&b, " as %s", e.Role)
		}
		b.WriteString(": ")
	}
	fmt.Fprintf(&b, "%s: %v", e.Step, e.Err)
	if e.Hint != "" {
		fmt.Fprintf(&b, " (%s)", e.Hint)
	}
	return b.String()
}

func (e *AuthError) Unwrap() error { return e.Err }

func assumeHint(err error, role *Role) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		switch ae.ErrorCode() {
		case "AccessDenied":
			if role.MFASerial != "" {
				return "the role's trust policy must allow the hub identity with MFA"
			}
			return "check the role exists in that account and trusts the hub identity"
		case "ExpiredToken", "ExpiredTokenException", "InvalidClientTokenId":
			return "the hub credentials have expired: log in again (e.g. aws sso login) and retry"
		case "Throttling", "ThrottlingException":
			return "STS is throttling; retry in a moment"
		}
	}
	var oe *smithy.OperationError
	if errors.As(err, &oe) && strings.Contains(err.Error(), "connect") {
		return "the STS endpoint did not answer; check the network or AWS_ENDPOINT_URL"
	}
	return "check the role name and the trust policy"
}

// EnvConfig is an aws.Config from the process environment alone: what a
// Packer plugin started by opsdeck acts as (opsdeck puts the credentials
// in its environment). endpoint overrides every service ("" = none).
func EnvConfig(ctx context.Context, region, endpoint string) (aws.Config, error) {
	opts := []func(*config.LoadOptions) error{config.WithRegion(region), config.WithHTTPClient(HTTPClient())}
	if endpoint != "" {
		opts = append(opts, config.WithBaseEndpoint(endpoint))
	}
	return config.LoadDefaultConfig(ctx, opts...)
}
