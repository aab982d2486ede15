// Package sessions opens Session Manager sessions to jumpboxes: discovery
// (EC2 tags joined with SSM's managed-instance information), interactive
// shells, and supervised port forwards. The data channel itself is spoken
// by AWS's session-manager-plugin (installed, or opsdeck's own binary in a
// hidden mode that runs the same code), started with the same argument
// contract the AWS CLI uses.
package sessions

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ssm"

	"github.com/opsdeck/opsdeck/profiles"
)

// ResponseEnv is the variable that carries the StartSession response to
// the plugin, so the session token never shows in `ps`.
const ResponseEnv = "AWS_SSM_START_SESSION_RESPONSE"

// minPluginVersion is the first plugin that reads ResponseEnv.
var minPluginVersion = []int{1, 2, 497, 0}

// standardPluginPaths are where AWS's installers put the plugin.
var standardPluginPaths = []string{
	"/usr/local/sessionmanagerplugin/bin/session-manager-plugin",
	"/usr/local/bin/session-manager-plugin",
	"/opt/homebrew/bin/session-manager-plugin",
}

// Plugin is how to run session-manager-plugin: a binary, plus leading
// arguments (opsdeck's hidden mode).
type Plugin struct {
	Path    string
	Prefix  []string
	Version string
	// Builtin is true when opsdeck runs AWS's plugin code itself.
	Builtin bool
}

func (p Plugin) String() string {
	if p.Builtin {
		return "built-in session-manager-plugin code (" + p.Path + ")"
	}
	return p.Path + " " + p.Version
}

// FindPlugin returns the installed plugin when it is new enough, else
// opsdeck itself (self, with hiddenArg) running AWS's plugin code.
func FindPlugin(ctx context.Context, self, hiddenArg string) Plugin {
	cands := []string{}
	if p, err := exec.LookPath("session-manager-plugin"); err == nil {
		cands = append(cands, p)
	}
	cands = append(cands, standardPluginPaths...)
	for _, c := range cands {
		if st, err := os.Stat(c); err != nil || st.IsDir() {
			continue
		}
		vctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		out, err := exec.CommandContext(vctx, c, "--version").Output()
		cancel()
		v := strings.TrimSpace(string(out))
		if err == nil && versionAtLeast(v, minPluginVersion) {
			return Plugin{Path: c, Version: v}
		}
	}
	return Plugin{Path: self, Prefix: []string{hiddenArg}, Builtin: true}
}

func versionAtLeast(v string, want []int) bool {
	parts := strings.Split(v, ".")
	for i, w := range want {
		if i >= len(parts) {
			return false
		}
		n, err := strconv.Atoi(parts[i])
		if err != nil {
			return false
		}
		if n != w {
			return n > w
		}
	}
	return true
}

// Request is a StartSession request.
type Request struct {
	Target     string              `json:"Target"`
	Document   string              `json:"DocumentName,omitempty"`
	Parameters map[string][]string `json:"Parameters,omitempty"`
	Reason     string              `json:"Reason,omitempty"`
}

// Started is a started session: what the plugin needs to connect.
type Started struct {
	SessionID  string `json:"SessionId"`
	StreamURL  string `json:"StreamUrl"`
	TokenValue string `json:"TokenValue"`
}

// Command builds the plugin invocation with the AWS CLI's contract:
//
//	session-manager-plugin AWS_SSM_START_SESSION_RESPONSE REGION StartSession "" REQUEST-JSON SSM-ENDPOINT
//
// The response travels in the environment; credentials too (the profile
// argument is empty and AWS_PROFILE is removed, since an explicit profile
// would win over them).
func (p Plugin) Command(ctx context.Context, s Started, req Request, region, endpoint string, creds profiles.Creds) (*exec.Cmd, error) {
	resp, err := json.Marshal(s)
	if err != nil {
		return nil, err
	}
	reqJSON, err := json.Marshal(req)
	if err != nil {
		return nil, err
	}
	args := append(append([]string{}, p.Prefix...), ResponseEnv, region, "StartSession", "", string(reqJSON), endpoint)
	cmd := exec.CommandContext(ctx, p.Path, args...)
	// When stdin is not a file (a pipe from a script), exec copies it in a
	// goroutine that only ends at EOF; once the plugin has exited, stop
	// waiting for that copy instead of hanging.
	cmd.WaitDelay = time.Second
	env := profiles.Env(os.Environ(), creds, region)
	cmd.Env = append(dropEnv(env, ResponseEnv), ResponseEnv+"="+string(resp))
	return cmd, nil
}

func dropEnv(env []string, names ...string) []string {
	out := env[:0:0]
	for _, kv := range env {
		k, _, _ := strings.Cut(kv, "=")
		keep := true
		for _, n := range names {
			if k == n {
				keep = false
			}
		}
		if keep {
			out = append(out, kv)
		}
	}
	return out
}

// SSMAPI is the part of SSM sessions use; *ssm.Client satisfies it.
type SSMAPI interface {
	StartSession(ctx context.Context, in *ssm.StartSessionInput, optFns ...func(*ssm.Options)) (*ssm.StartSessionOutput, error)
	TerminateSession(ctx context.Context, in *ssm.TerminateSessionInput, optFns ...func(*ssm.Options)) (*ssm.TerminateSessionOutput, error)
	ssm.DescribeInstanceInformationAPIClient
}

var _ SSMAPI = (*ssm.Client)(nil)

// Endpoint is the SSM endpoint URL the plugin must use for ResumeSession
// and TerminateSession: AWS_ENDPOINT_URL_SSM, the config's base endpoint,
// or the public regional endpoint.
func Endpoint(cfg aws.Config) string {
	if u := os.Getenv("AWS_ENDPOINT_URL_SSM"); u != "" {
		return u
	}
	if cfg.BaseEndpoint != nil && *cfg.BaseEndpoint != "" {
		return *cfg.BaseEndpoint
	}
	suffix := "amazonaws.com"
	if strings.HasPrefix(cfg.Region, "cn-") {
		suffix = "amazonaws.com.cn"
	}
	return "https://ssm." + cfg.Region + "." + suffix
}

// Start calls StartSession.
func Start(ctx context.Context, api SSMAPI, req Request) (Started, error) {
	in := &ssm.StartSessionInput{Target: aws.String(req.Target), Parameters: req.Parameters}
	if req.Document != "" {
		in.DocumentName = aws.String(req.Document)
	}
	if req.Reason != "" {
		in.Reason = aws.String(req.Reason)
	}
	out, err := api.StartSession(ctx, in)
	if err != nil {
		return Started{}, fmt.Errorf("start session on %s: %w", req.Target, err)
	}
	if aws.ToString(out.StreamUrl) == "" || aws.ToString(out.TokenValue) == "" {
		return Started{}, errors.New("start session on " + req.Target + ": the service returned no stream")
	}
	return Started{SessionID: aws.ToString(out.SessionId), StreamURL: aws.ToString(out.StreamUrl), TokenValue: aws.ToString(out.TokenValue)}, nil
}

// Terminate ends a session. The plugin exits 0 even when a session failed,
// so opsdeck always terminates after the child exits; a fresh context is
// used so Ctrl-C does not skip it.
func Terminate(api SSMAPI, sessionID string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	_, err := api.TerminateSession(ctx, &ssm.TerminateSessionInput{SessionId: aws.String(sessionID)})
	return err
}
