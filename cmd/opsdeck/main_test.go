package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/opsdeck/opsdeck/ops/emulator"
)

var moto *emulator.Server

func TestMain(m *testing.M) { os.Exit(emulator.RunTests(m, &moto)) }

// opsdeck runs the CLI in-process and returns exit code, stdout, stderr.
func opsdeck(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	e := &env{stdin: strings.NewReader(""), stdout: &out, stderr: &errb, args: args}
	code := run(context.Background(), e)
	return code, out.String(), errb.String()
}

func writeConfig(t *testing.T, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "config.toml")
	if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func demoConfigFile(t *testing.T) string {
	return writeConfig(t, emulator.DemoEstate().ConfigTOML())
}

func TestAccountsJSONAndSelect(t *testing.T) {
	cfg := demoConfigFile(t)
	code, out, errs := opsdeck(t, "accounts", "--config", cfg, "--select", "customer=acme,environment=prod", "--json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	var got struct {
		Accounts []accountJSON `json:"accounts"`
	}
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatal(err)
	}
	if len(got.Accounts) != 1 || got.Accounts[0].Name != "acme-prod" || got.Accounts[0].Protection != "protected" ||
		got.Accounts[0].ID != "210000000003" || len(got.Accounts[0].Regions) != 2 {
		t.Fatalf("accounts = %+v", got.Accounts)
	}
	code, out, _ = opsdeck(t, "--config", cfg, "accounts", "--select", "globex-*")
	if code != 0 || strings.Count(out, "globex-") != 3 || !strings.HasPrefix(out, "NAME") {
		t.Fatalf("table output:\n%s", out)
	}
}

func TestBadInputExitsTwo(t *testing.T) {
	cfg := demoConfigFile(t)
	bad := writeConfig(t, "[operator]\nname = \"ops-x\"\n\n[roles.read]\nname = \"R\"\nfoo = 1\n")
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"unknown command", []string{"frobnicate"}, `unknown command "frobnicate"`},
		{"unknown flag", []string{"accounts", "--bogus"}, "flag provided but not defined: -bogus"},
		{"bad selector", []string{"accounts", "--config", cfg, "--select", "tier=gold"}, `unknown key "tier"`},
		{"selects nothing", []string{"accounts", "--config", cfg, "--select", "nope-*"}, "matches no account"},
		{"config error names file:line:col", []string{"accounts", "--config", bad}, bad + `:6:1: unknown key "roles.read.foo"`},
		{"missing config", []string{"accounts", "--config", "/nonexistent/opsdeck.toml"}, "config file not found"},
		{"unknown account", []string{"whoami", "nobody", "--config", cfg}, `"nobody": no such account`},
		{"unknown role", []string{"whoami", "acme-prod", "--role", "admin", "--config", cfg}, `"admin": no such role`},
		{"bad region", []string{"whoami", "acme-prod", "--region", "mars-1", "--config", cfg}, `--region "mars-1" is not a region name`},
		{"exec without command", []string{"exec", "acme-prod", "--config", cfg}, "exec needs ACCOUNT and a command"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out, errs := opsdeck(t, tt.args...)
			if code != exitBadInput {
				t.Fatalf("exit %d, want 2; stderr: %s", code, errs)
			}
			if out != "" {
				t.Errorf("bad input printed to stdout: %s", out)
			}
			if !strings.Contains(errs, tt.want) {
				t.Errorf("stderr lacks %q:\n%s", tt.want, errs)
			}
		})
	}
}

func TestWhoamiAgainstMoto(t *testing.T) {
	cfg := demoConfigFile(t)
	code, out, errs := opsdeck(t, "whoami", "globex-qa", "--config", cfg, "--json", "--region", "eu-west-1")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	var got map[string]any
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatal(err)
	}
	if got["account_id"] != "210000000005" || got["region"] != "eu-west-1" || got["role"] != "read" ||
		!strings.Contains(got["arn"].(string), "assumed-role/OpsReadOnly/ops-demo") {
		t.Fatalf("whoami = %v", got)
	}
	if secs := got["expires_in_seconds"].(float64); secs < 600 || secs > 3600*12 {
		t.Fatalf("expires_in_seconds = %v", secs)
	}
	// A role with MFA takes --mfa-code without prompting.
	code, out, errs = opsdeck(t, "whoami", "globex-qa", "--role", "operate", "--mfa-code", "123456", "--config", cfg)
	if code != 0 || !strings.Contains(out, "assumed-role/OpsOperator/ops-demo") {
		t.Fatalf("exit %d: %s %s", code, out, errs)
	}
}

func TestExecPassesCredentialsAndExitCode(t *testing.T) {
	cfg := demoConfigFile(t)
	awsCfg := filepath.Join(t.TempDir(), "aws-config")
	os.WriteFile(awsCfg, []byte("[profile hub]\nregion = eu-north-1\n"), 0o600)
	t.Setenv("AWS_CONFIG_FILE", awsCfg)
	t.Setenv("AWS_PROFILE", "hub")
	script := `echo "key=$AWS_ACCESS_KEY_ID"; echo "token=${AWS_SESSION_TOKEN:+set}"; echo "region=$AWS_REGION"; ` +
		`echo "exp=$AWS_CREDENTIAL_EXPIRATION"; echo "profile=${AWS_PROFILE:-unset}"; exit 7`
	code, out, errs := opsdeck(t, "exec", "acme-test", "--config", cfg, "--region", "eu-west-1", "--", "sh", "-c", script)
	if code != 7 {
		t.Fatalf("exit %d, want the child's 7; stderr: %s", code, errs)
	}
	for _, want := range []string{"token=set", "region=eu-west-1", "profile=unset", "exp=20"} {
		if !strings.Contains(out, want) {
			t.Errorf("child env lacks %s:\n%s", want, out)
		}
	}
	if strings.Contains(out, "key=AKIAOPSDECKDEMO") || strings.Contains(out, "key=\n") {
		t.Errorf("child got the hub keys, not the role's: %s", out)
	}
}

func TestImportAWSConfigCommand(t *testing.T) {
	aws := filepath.Join(t.TempDir(), "aws-config")
	os.WriteFile(aws, []byte("[profile umbrella-prod]\nrole_arn = arn:aws:iam::555566667777:role/OpsReadOnly\nregion = us-east-2\n[profile bad]\nrole_arn = nope\n"), 0o600)
	code, out, errs := opsdeck(t, "accounts", "import-aws-config", "--file", aws, "--config", demoConfigFile(t))
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	if !strings.Contains(out, `id = "555566667777"`) || !strings.Contains(out, `role = "read"`) || !strings.Contains(out, `environment = "prod"`) {
		t.Fatalf("import output:\n%s", out)
	}
	if !strings.Contains(errs, "profile bad") {
		t.Fatalf("bad ARN not warned about: %s", errs)
	}
}

// buildBinary builds opsdeck once per test run.
func buildBinary(t testing.TB) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "opsdeck")
	out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput()
	if err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	return bin
}

// The demo must never leave moto_server behind: Ctrl-C while serving stops
// it (the same path the TUI's quit takes).
func TestDemoServeStopsMotoOnInterrupt(t *testing.T) {
	bin := buildBinary(t)
	cmd := exec.Command(bin, "demo", "--serve")
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	cmd.Env = os.Environ()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(90 * time.Second)
	for !strings.Contains(out.String(), "AWS_ENDPOINT_URL=") {
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			t.Fatalf("demo did not come up:\n%s", errb.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	pid := 0
	for _, f := range strings.Fields(errb.String()) {
		if strings.HasSuffix(f, ")") && pid == 0 {
			_, _ = fmt.Sscan(strings.TrimSuffix(f, ")"), &pid)
		}
	}
	if pid == 0 {
		t.Fatalf("no moto pid in: %s", errb.String())
	}
	if err := syscall.Kill(pid, 0); err != nil {
		t.Fatalf("moto (pid %d) not running while serving", pid)
	}
	cmd.Process.Signal(os.Interrupt)
	if err := cmd.Wait(); err != nil {
		t.Fatalf("demo exit: %v\n%s", err, errb.String())
	}
	for syscall.Kill(pid, 0) == nil {
		if time.Now().After(deadline) {
			t.Fatalf("moto_server pid %d left behind", pid)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestFirstFrameHasNoNetwork(t *testing.T) {
	cfg := demoConfigFile(t)
	t.Setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:1")
	code, out, errs := opsdeck(t, "--config", cfg, "--first-frame", "80x24")
	if code != 0 || !strings.Contains(out, "acme-prod") || strings.Count(out, "\n") != 24 {
		t.Fatalf("exit %d: %s\n%s", code, errs, out)
	}
}
