package profiles

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const validConfig = `[operator]
name = "ops-jane"
region = "eu-north-1"

[roles.read]
name = "OpsReadOnly"
[roles.operate]
name = "OpsOperator"
mfa_serial = "arn:aws:iam::100000000001:mfa/ops-jane"
duration = "1h"

[environments.prod]
protection = "protected"
default_role = "read"
color = "#ff5f5f"

[[accounts]]
id = "210987654321"
name = "acme-prod"
customer = "acme"
environment = "prod"
regions = ["eu-north-1", "eu-west-1"]
role = "read"

[[accounts]]
id = "210987654322"
name = "acme-test"
customer = "acme"
environment = "test"
role = "operate"
`

func TestParseValid(t *testing.T) {
	c, err := Parse("ok.toml", []byte(validConfig))
	if err != nil {
		t.Fatal(err)
	}
	prod := c.Account("acme-prod")
	if prod == nil || prod.ID != "210987654321" || prod.Env().Level() != Protected {
		t.Fatalf("acme-prod = %+v", prod)
	}
	if c.Account("210987654322").Name != "acme-test" {
		t.Fatal("lookup by id failed")
	}
	if got := c.Account("acme-test").Regions; len(got) != 1 || got[0] != "eu-north-1" {
		t.Fatalf("default regions = %v", got)
	}
	if c.Roles["operate"].SessionDuration().String() != "1h0m0s" {
		t.Fatalf("duration = %v", c.Roles["operate"].SessionDuration())
	}
	// Built-in environments fill in what the file does not define.
	if c.Account("acme-test").Env().Level() != Confirm {
		t.Fatal("test should default to confirm")
	}
	if c.Jumpbox.Tag != "Role=jumpbox" {
		t.Fatalf("jumpbox tag default = %q", c.Jumpbox.Tag)
	}
}

// replace swaps one line of validConfig, so each case is a one-line edit of
// a file known to be good and the expected line numbers stay readable.
func replace(old, new string) string {
	if !strings.Contains(validConfig, old) {
		panic("test config lacks " + old)
	}
	return strings.Replace(validConfig, old, new, 1)
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name string
		give string
		want []string // "line:col: message fragment", in file order
	}{
		{"unknown top-level key", "colour = 1\n" + validConfig, []string{`1:1: unknown key "colour"`}},
		{"unknown key in table", replace(`region = "eu-north-1"`, `regoin = "eu-north-1"`), []string{`3:1: unknown key "operator.regoin"`}},
		{"unknown key in account", replace(`role = "operate"`, `rol = "operate"`), []string{`30:1: unknown key "accounts.rol"`}},
		{"syntax error", replace(`name = "ops-jane"`, `name = "ops-jane`), []string{`2:17: basic strings cannot have new lines`}},
		{"wrong type", replace(`name = "ops-jane"`, `name = 7`), []string{`2:8: operator.name: got a TOML integer, want a string`}},
		{"regions not a list", replace(`regions = ["eu-north-1", "eu-west-1"]`, `regions = "eu-north-1"`), []string{`22:11: accounts.regions: got a TOML string, want a list of strings`}},
		{"id not 12 digits", replace(`id = "210987654321"`, `id = "21098765432"`), []string{`18:6: account acme-prod: id "21098765432" is not 12 digits`}},
		{"id with letters", replace(`id = "210987654321"`, `id = "21098765432x"`), []string{`18:6: account acme-prod: id "21098765432x" is not 12 digits`}},
		{"duplicate id", replace(`id = "210987654322"`, `id = "210987654321"`), []string{`26:6: account acme-test: id 210987654321 is already used by acme-prod`}},
		{"duplicate name", replace(`name = "acme-test"`, `name = "acme-prod"`), []string{`27:8: account name "acme-prod" is already used by 210987654321`}},
		{"unknown environment", replace(`environment = "test"`, `environment = "staging"`), []string{`29:15: account acme-test: unknown environment "staging"`}},
		{"unknown account role", replace(`role = "operate"`, `role = "admin"`), []string{`30:8: account acme-test: unknown role "admin"`}},
		{"unknown default_role", replace(`default_role = "read"`, `default_role = "reader"`), []string{`14:16: environment "prod": default_role "reader" is not a defined role`}},
		{"bad duration", replace(`duration = "1h"`, `duration = "1 hour"`), []string{`10:12: role "operate": bad duration "1 hour"`}},
		{"duration out of range", replace(`duration = "1h"`, `duration = "13h"`), []string{`10:12: role "operate": duration 13h0m0s is outside 15m..12h`}},
		{"bad protection", replace(`protection = "protected"`, `protection = "locked"`), []string{`13:14: environment "prod": unknown protection "locked"`}},
		{"bad colour", replace(`color = "#ff5f5f"`, `color = "red"`), []string{`15:9: environment "prod": color "red" is not #rrggbb`}},
		{"bad region", replace(`regions = ["eu-north-1", "eu-west-1"]`, `regions = ["eu-north-1", "Ireland"]`), []string{`22:26: account acme-prod: "Ireland" is not a region name`}},
		{"unknown via", replace(`duration = "1h"`, `via = "jump"`), []string{`10:7: role "operate": via names unknown role "jump"`}},
		{"bad mfa serial", replace(`mfa_serial = "arn:aws:iam::100000000001:mfa/ops-jane"`, `mfa_serial = "jane's phone"`), []string{`9:14: role "operate": mfa_serial "jane's phone" is not an MFA device ARN`}},
		{"missing operator name", replace(`name = "ops-jane"`, `# no name`), []string{`1:2: operator.name is required`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse("estate.toml", []byte(tt.give))
			if err == nil {
				t.Fatal("no error")
			}
			var ces *ConfigErrors
			if !errors.As(err, &ces) {
				t.Fatalf("error is %T, want *ConfigErrors: %v", err, err)
			}
			if !IsBadInput(err) {
				t.Fatal("config errors must count as bad input (exit 2)")
			}
			for _, e := range *ces {
				if e.Hint == "" {
					t.Errorf("%v: no hint says what to do", e)
				}
			}
			for i, w := range tt.want {
				if i >= len(*ces) {
					t.Fatalf("got %d errors, want at least %d: %v", len(*ces), len(tt.want), err)
				}
				got := (*ces)[i].Error()
				if !strings.HasPrefix(got, "estate.toml:"+w) {
					t.Errorf("error %d:\n got  %s\n want estate.toml:%s...", i, got, w)
				}
			}
		})
	}
}

func TestParseViaCycleAndMultipleErrors(t *testing.T) {
	give := replace(`name = "OpsReadOnly"`, "name = \"OpsReadOnly\"\nvia = \"operate\"")
	give = strings.Replace(give, `duration = "1h"`, `via = "read"`, 1)
	_, err := Parse("c.toml", []byte(give))
	if err == nil || !strings.Contains(err.Error(), "via chain loops back") {
		t.Fatalf("cycle not reported: %v", err)
	}
	give = replace(`id = "210987654322"`, `id = "1"`)
	give = strings.Replace(give, `environment = "prod"`, `environment = "nope"`, 1)
	_, err = Parse("m.toml", []byte(give))
	var ces *ConfigErrors
	if !errors.As(err, &ces) || len(*ces) != 2 {
		t.Fatalf("want both errors reported at once, got %v", err)
	}
	if (*ces)[0].Line > (*ces)[1].Line {
		t.Fatal("errors not in file order")
	}
}

func TestLoadPaths(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("OPSDECK_CONFIG", "")
	t.Setenv("XDG_CONFIG_HOME", dir)
	if got, want := DefaultPath(), filepath.Join(dir, "opsdeck", "config.toml"); got != want {
		t.Fatalf("DefaultPath = %s, want %s", got, want)
	}
	p := filepath.Join(dir, "x.toml")
	t.Setenv("OPSDECK_CONFIG", p)
	if DefaultPath() != p {
		t.Fatal("OPSDECK_CONFIG ignored")
	}
	_, err := Load("")
	if err == nil || !IsBadInput(err) || !strings.Contains(err.Error(), "config file not found") {
		t.Fatalf("missing file: %v", err)
	}
	if err := os.WriteFile(p, []byte(validConfig), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := Load("")
	if err != nil || c.Path != p {
		t.Fatalf("Load = %v, %v", c, err)
	}
}

func TestGuard(t *testing.T) {
	c, err := Parse("ok.toml", []byte(validConfig))
	if err != nil {
		t.Fatal(err)
	}
	prod, test := c.Account("acme-prod"), c.Account("acme-test")
	tests := []struct {
		name    string
		guard   Guard
		acct    *Account
		answer  string
		wantErr bool
	}{
		{"prod wants the name", Guard{}, prod, "acme-prod", false},
		{"prod refuses y", Guard{}, prod, "y", true},
		{"test takes y", Guard{}, test, "y", false},
		{"test refuses n", Guard{}, test, "n", true},
		{"read-only flag wins", Guard{ReadOnly: true}, test, "y", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.guard.For(tt.acct).Check(tt.answer)
			if (err != nil) != tt.wantErr {
				t.Fatalf("Check(%q) = %v", tt.answer, err)
			}
		})
	}
}
