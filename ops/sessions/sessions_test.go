package sessions

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	ststypes "github.com/aws/aws-sdk-go-v2/service/sts/types"

	"github.com/opsdeck/opsdeck/ops/emulator"
	"github.com/opsdeck/opsdeck/ops/sessions/pluginmain"
	"github.com/opsdeck/opsdeck/ops/sessions/standin"
	"github.com/opsdeck/opsdeck/profiles"
)

var moto *emulator.Server

// TestMain doubles as the plugin: the test binary re-executes itself in
// the same hidden mode opsdeck uses, so the tests run AWS's real plugin
// code end to end.
func TestMain(m *testing.M) {
	if len(os.Args) > 1 && os.Args[1] == pluginmain.Arg {
		pluginmain.Run(os.Args[2:])
		os.Exit(0)
	}
	os.Exit(emulator.RunTests(m, &moto))
}

func selfPlugin(t *testing.T) Plugin {
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	return Plugin{Path: self, Prefix: []string{pluginmain.Arg}, Builtin: true}
}

// instantSTS hands out credentials without a network: these tests are
// about sessions, not identity.
type instantSTS struct{ profiles.STSAPI }

func (instantSTS) AssumeRole(_ context.Context, in *sts.AssumeRoleInput, _ ...func(*sts.Options)) (*sts.AssumeRoleOutput, error) {
	exp := time.Now().Add(time.Hour)
	return &sts.AssumeRoleOutput{Credentials: &ststypes.Credentials{AccessKeyId: aws.String("ASIAROLE"), SecretAccessKey: aws.String("role-secret"),
		SessionToken: aws.String("role-token"), Expiration: &exp}, AssumedRoleUser: &ststypes.AssumedRoleUser{Arn: in.RoleArn}}, nil
}

func testBroker(t *testing.T, endpoint string) (*profiles.Broker, *profiles.Account) {
	cfg, err := profiles.Parse("s.toml", []byte(emulator.DemoEstate().ConfigTOML()))
	if err != nil {
		t.Fatal(err)
	}
	src := aws.Config{Region: "eu-north-1", BaseEndpoint: aws.String(endpoint), Credentials: aws.AnonymousCredentials{}, RetryMaxAttempts: 1}
	b := profiles.NewBroker(cfg, profiles.BrokerOptions{Source: &src, RetryMaxAttempts: 1, NewSTS: func(aws.Config) profiles.STSAPI { return instantSTS{} }})
	return b, cfg.Account("acme-prod")
}

// recordingSSM is the SSM side of the contract test: StartSession answers
// at once and TerminateSession is recorded.
type recordingSSM struct {
	SSMAPI
	mu         sync.Mutex
	terminated []string
}

func (r *recordingSSM) StartSession(_ context.Context, in *ssm.StartSessionInput, _ ...func(*ssm.Options)) (*ssm.StartSessionOutput, error) {
	return &ssm.StartSessionOutput{SessionId: aws.String("sess-1"), StreamUrl: aws.String("wss://example.invalid/stream"), TokenValue: aws.String("secret-token")}, nil
}

func (r *recordingSSM) TerminateSession(_ context.Context, in *ssm.TerminateSessionInput, _ ...func(*ssm.Options)) (*ssm.TerminateSessionOutput, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.terminated = append(r.terminated, aws.ToString(in.SessionId))
	return &ssm.TerminateSessionOutput{}, nil
}

// The contract the AWS CLI uses with session-manager-plugin, checked with a
// fake plugin that records its arguments and environment.
func TestPluginContract(t *testing.T) {
	dir := t.TempDir()
	record := filepath.Join(dir, "record")
	fake := filepath.Join(dir, "session-manager-plugin")
	script := "#!/bin/sh\n{ for a in \"$@\"; do printf 'ARG %s\\n' \"$a\"; done; env | sed 's/^/ENV /'; } > " + record + "\nexit 0\n"
	if err := os.WriteFile(fake, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("AWS_PROFILE", "hub")
	t.Setenv("AWS_ENDPOINT_URL_SSM", "")
	b, a := testBroker(t, "https://sts.example.invalid")
	api := &recordingSSM{}
	sh, err := PrepareShell(context.Background(), b, a, "read", "eu-west-1", "i-0123456789abcdef0", Plugin{Path: fake},
		func(aws.Config) SSMAPI { return api })
	if err != nil {
		t.Fatal(err)
	}
	sh.SetStdin(strings.NewReader(""))
	if err := sh.Run(); err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(record)
	if err != nil {
		t.Fatal(err)
	}
	var args []string
	env := map[string]string{}
	for _, l := range strings.Split(strings.TrimSpace(string(raw)), "\n") {
		if v, ok := strings.CutPrefix(l, "ARG "); ok {
			args = append(args, v)
		} else if v, ok := strings.CutPrefix(l, "ENV "); ok {
			k, val, _ := strings.Cut(v, "=")
			env[k] = val
		}
	}
	if len(args) != 6 {
		t.Fatalf("args = %q", args)
	}
	var req map[string]any
	if err := json.Unmarshal([]byte(args[4]), &req); err != nil {
		t.Fatalf("request arg: %v", err)
	}
	want := []string{ResponseEnv, "eu-west-1", "StartSession", "", args[4], "https://sts.example.invalid"}
	for i := range want {
		if args[i] != want[i] {
			t.Errorf("arg %d = %q, want %q", i+1, args[i], want[i])
		}
	}
	if req["Target"] != "i-0123456789abcdef0" {
		t.Errorf("request Target = %v", req["Target"])
	}
	var resp map[string]string
	if err := json.Unmarshal([]byte(env[ResponseEnv]), &resp); err != nil || resp["TokenValue"] != "secret-token" || resp["SessionId"] != "sess-1" {
		t.Errorf("%s = %q", ResponseEnv, env[ResponseEnv])
	}
	if strings.Contains(strings.Join(args, " "), "secret-token") {
		t.Error("the session token is on the command line (visible in ps)")
	}
	for k, v := range map[string]string{"AWS_ACCESS_KEY_ID": "ASIAROLE", "AWS_SECRET_ACCESS_KEY": "role-secret", "AWS_SESSION_TOKEN": "role-token", "AWS_REGION": "eu-west-1"} {
		if env[k] != v {
			t.Errorf("%s = %q, want %q", k, env[k], v)
		}
	}
	if _, ok := env["AWS_PROFILE"]; ok {
		t.Error("AWS_PROFILE left in the plugin's environment")
	}
	if len(api.terminated) != 1 || api.terminated[0] != "sess-1" {
		t.Errorf("TerminateSession calls = %v", api.terminated)
	}
}

func startStandIn(t *testing.T, opts standin.Options) *standin.Server {
	s, err := standin.Start(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	s.Register(standin.Instance{ID: "i-0jumpbox00000001", Name: "acme-prod-jumpbox"})
	return s
}

func ssmFor(url string) func(aws.Config) SSMAPI {
	return func(c aws.Config) SSMAPI {
		c.BaseEndpoint = aws.String(url)
		return ssm.NewFromConfig(c)
	}
}

func TestShellRoundTripThroughRealPlugin(t *testing.T) {
	s := startStandIn(t, standin.Options{})
	b, a := testBroker(t, s.URL)
	sh, err := PrepareShell(context.Background(), b, a, "read", "eu-north-1", "i-0jumpbox00000001", selfPlugin(t), ssmFor(s.URL))
	if err != nil {
		t.Fatal(err)
	}
	// Like a terminal, stdin stays open while the operator types: the
	// plugin ends the session when its stdin reaches EOF.
	out := &syncBuffer{}
	inR, inW := io.Pipe()
	sh.SetStdin(inR)
	sh.SetStdout(out)
	sh.SetStderr(out)
	done := make(chan error, 1)
	go func() { done <- sh.Run() }()
	fmt.Fprintln(inW, "echo remote-says-$((6*7))")
	deadline := time.After(30 * time.Second)
	for !strings.Contains(out.String(), "remote-says-42") {
		select {
		case <-deadline:
			t.Fatalf("no round trip; output:\n%s", out.String())
		case <-time.After(20 * time.Millisecond):
		}
	}
	fmt.Fprintln(inW, "exit")
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(30 * time.Second):
		t.Fatalf("session did not end after exit; output:\n%s", out.String())
	}
	inW.Close()
	if !calledFor(s, "TerminateSession", sh.SessionID) {
		t.Fatalf("TerminateSession not called: %+v", s.Calls())
	}
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func calledFor(s *standin.Server, op, id string) bool {
	for _, c := range s.Calls() {
		if c.Op == op && c.SessionID == id {
			return true
		}
	}
	return false
}

func echoClient(addr, msg string) (string, error) {
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		return "", err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	r := bufio.NewReader(c)
	banner, err := r.ReadString('\n')
	if err != nil {
		return "", fmt.Errorf("banner: %w", err)
	}
	fmt.Fprintf(c, "%s\n", msg)
	echo, err := r.ReadString('\n')
	return strings.TrimSpace(banner) + " | " + strings.TrimSpace(echo), err
}

func forwardFixture(t *testing.T) (*standin.Server, *Manager, Spec) {
	db, err := standin.StartEcho("stand-in db")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(db.Close)
	s := startStandIn(t, standin.Options{Dial: standin.MapHosts(db.Addr)})
	b, a := testBroker(t, s.URL)
	mgr := NewManager(NewLauncher(b, selfPlugin(t), ssmFor(s.URL)), Backoff{Initial: 50 * time.Millisecond, Max: 200 * time.Millisecond})
	t.Cleanup(mgr.StopAll)
	return s, mgr, Spec{Account: a, Role: "read", Region: "eu-north-1", Instance: "i-0jumpbox00000001", Host: "db.internal.example", Port: 5432}
}

func TestPortForwardTwoConcurrentClients(t *testing.T) {
	s, mgr, spec := forwardFixture(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	info, err := mgr.Open(ctx, spec)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(info.LocalAddr, "127.0.0.1:") || info.State != Open {
		t.Fatalf("info = %+v", info)
	}
	// Two connections open at the same time, interleaved: both banners
	// first, then each echo.
	conns := make([]*bufio.ReadWriter, 2)
	for i := range conns {
		c, err := net.DialTimeout("tcp", info.LocalAddr, 5*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		_ = c.SetDeadline(time.Now().Add(20 * time.Second))
		conns[i] = bufio.NewReadWriter(bufio.NewReader(c), bufio.NewWriter(c))
		if banner, err := conns[i].ReadString('\n'); err != nil || banner != "stand-in db\n" {
			t.Fatalf("client %d banner %q %v", i, banner, err)
		}
	}
	for i := len(conns) - 1; i >= 0; i-- {
		fmt.Fprintf(conns[i], "client-%d\n", i)
		conns[i].Flush()
	}
	for i, rw := range conns {
		if got, err := rw.ReadString('\n'); err != nil || got != fmt.Sprintf("echo: client-%d\n", i) {
			t.Fatalf("client %d got %q %v", i, got, err)
		}
	}
	// And two clients opening in the same instant. (With pipelined output
	// frames this lost a banner about 1 run in 40; the stand-in now keeps
	// one output frame in flight.)
	var wg sync.WaitGroup
	errs := make(chan error, 2)
	for i := 0; i < 2; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			got, err := echoClient(info.LocalAddr, fmt.Sprintf("burst-%d", i))
			if err == nil && got != fmt.Sprintf("stand-in db | echo: burst-%d", i) {
				err = fmt.Errorf("burst client %d got %q", i, got)
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
	var doc string
	for _, c := range s.Calls() {
		if c.Op == "StartSession" {
			doc = c.Document
		}
	}
	if doc != DocPortForwardRemote {
		t.Errorf("document = %s", doc)
	}
	mgr.Stop(info.ID)
	if !calledFor(s, "TerminateSession", info.SessionID) {
		t.Fatalf("TerminateSession not called on stop: %+v", s.Calls())
	}
	if _, err := net.DialTimeout("tcp", info.LocalAddr, time.Second); err == nil {
		t.Fatal("the port still listens after stop")
	}
}

// The service recycles data channels about hourly; the stand-in drops
// them on demand. The tunnel must come back on the same local address.
func TestTunnelRestartsWhenDropped(t *testing.T) {
	s, mgr, spec := forwardFixture(t)
	changed := make(chan struct{}, 64)
	mgr.OnChange = func() {
		select {
		case changed <- struct{}{}:
		default:
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	info, err := mgr.Open(ctx, spec)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := echoClient(info.LocalAddr, "before"); err != nil {
		t.Fatal(err)
	}
	s.DropAll()
	deadline := time.After(90 * time.Second)
	for {
		l := mgr.List()
		if len(l) == 1 && l[0].Restarts >= 1 && l[0].State == Open && l[0].SessionID != info.SessionID {
			if l[0].LocalAddr != info.LocalAddr {
				t.Fatalf("restarted on %s, was %s", l[0].LocalAddr, info.LocalAddr)
			}
			break
		}
		select {
		case <-changed:
		case <-time.After(time.Second):
		case <-deadline:
			t.Fatalf("tunnel did not come back: %+v", mgr.List())
		}
	}
	got, err := echoClient(info.LocalAddr, "after")
	if err != nil || !strings.HasSuffix(got, "echo: after") {
		t.Fatalf("after restart: %q %v", got, err)
	}
	if !calledFor(s, "TerminateSession", info.SessionID) {
		t.Error("the dropped session was not terminated")
	}
}

func TestForwardFailsClearlyWhenTargetOffline(t *testing.T) {
	_, mgr, spec := forwardFixture(t)
	spec.Instance = "i-0notregistered000"
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	_, err := mgr.Open(ctx, spec)
	if err == nil || !strings.Contains(err.Error(), "TargetNotConnected") || !strings.Contains(err.Error(), "i-0notregistered000") {
		t.Fatalf("err = %v", err)
	}
	if len(mgr.List()) != 0 {
		t.Fatal("a failed tunnel stayed in the list")
	}
}

func TestJumpboxDiscovery(t *testing.T) {
	ctx := context.Background()
	if err := moto.Reset(ctx); err != nil {
		t.Fatal(err)
	}
	cfg := aws.Config{Region: "eu-north-1", BaseEndpoint: aws.String(moto.URL), RetryMaxAttempts: 1,
		Credentials: aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
			return aws.Credentials{AccessKeyID: "AKIDTEST", SecretAccessKey: "x"}, nil
		})}
	ec := ec2.NewFromConfig(cfg)
	img, err := ec.RegisterImage(ctx, &ec2.RegisterImageInput{Name: aws.String("base"), RootDeviceName: aws.String("/dev/xvda")})
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, n := range []string{"jb-b", "jb-a", "app"} {
		role := "jumpbox"
		if n == "app" {
			role = "app"
		}
		out, err := ec.RunInstances(ctx, &ec2.RunInstancesInput{ImageId: img.ImageId, MinCount: aws.Int32(1), MaxCount: aws.Int32(1),
			TagSpecifications: []ec2types.TagSpecification{{ResourceType: ec2types.ResourceTypeInstance,
				Tags: []ec2types.Tag{{Key: aws.String("Name"), Value: aws.String(n)}, {Key: aws.String("Role"), Value: aws.String(role)}}}}})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, aws.ToString(out.Instances[0].InstanceId))
	}
	// Only jb-a is managed (online) in the stand-in.
	s := startStandIn(t, standin.Options{Upstream: moto.URL})
	s.Register(standin.Instance{ID: ids[1], Name: "jb-a"})
	jbs, err := Jumpboxes(ctx, ec, ssmFor(s.URL)(cfg), "Role", "jumpbox")
	if err != nil {
		t.Fatal(err)
	}
	if len(jbs) != 2 || jbs[0].Name != "jb-a" || !jbs[0].Online() || jbs[0].AgentVersion == "" || jbs[1].Ping != "unknown" {
		t.Fatalf("jumpboxes = %+v", jbs)
	}
	if j, err := Pick(jbs, ""); err != nil || j.Name != "jb-a" {
		t.Fatalf("Pick = %+v %v", j, err)
	}
	// The emulator itself lacks DescribeInstanceInformation: EC2's list
	// comes back with status unknown and a warning.
	jbs, err = Jumpboxes(ctx, ec, ssm.NewFromConfig(cfg), "Role", "jumpbox")
	if !errors.Is(err, ErrNoInstanceInfo) || len(jbs) != 2 || jbs[0].Ping != "unknown" {
		t.Fatalf("fallback: %+v %v", jbs, err)
	}
	var amb *AmbiguousError
	if _, err := Pick(jbs, ""); !errors.As(err, &amb) || len(amb.Choices) != 2 {
		t.Fatalf("two running, status unknown: %v", err)
	}
	if j, err := Pick(jbs, "jb-b"); err != nil || j.InstanceID != ids[0] {
		t.Fatalf("Pick by name: %+v %v", j, err)
	}
}

func TestVersionAtLeast(t *testing.T) {
	for _, tt := range []struct {
		v    string
		want bool
	}{{"1.2.497.0", true}, {"1.2.707.0", true}, {"1.3.0.0", true}, {"1.2.398.0", false}, {"1.1.61.0", false}, {"garbage", false}} {
		if got := versionAtLeast(tt.v, minPluginVersion); got != tt.want {
			t.Errorf("versionAtLeast(%s) = %v", tt.v, got)
		}
	}
}
