package profiles

import (
	"strings"
	"testing"
)

const sampleAWSConfig = `[default]
region = eu-north-1

[profile hub]
sso_account_id = 100000000001
sso_role_name = Engineer

[profile acme-prod]
role_arn = arn:aws:iam::210987654321:role/OpsReadOnly
source_profile = hub
region = eu-west-1

[profile globex-qa]
role_arn = arn:aws:iam::310987654322:role/teams/OpsOperator
source_profile = hub
mfa_serial = arn:aws:iam::100000000001:mfa/jane

[profile broken]
role_arn = arn:aws:iam::12345:role/Nope

[sso-session corp]
sso_start_url = https://example.invalid/start
`

func TestImportAWSConfig(t *testing.T) {
	profs, err := parseAWSConfig("config", strings.NewReader(sampleAWSConfig))
	if err != nil {
		t.Fatal(err)
	}
	if len(profs) != 5 {
		t.Fatalf("got %d profiles", len(profs))
	}
	existing, err := Parse("ok.toml", []byte(validConfig))
	if err != nil {
		t.Fatal(err)
	}
	out, warns := ImportAWSConfig(profs, existing, "config")
	// acme-prod is configured already: only globex-qa is new.
	if strings.Contains(out, `id = "210987654321"`) {
		t.Error("re-imported an account the config already has")
	}
	for _, want := range []string{`id = "310987654322"`, `customer = "globex"`, `environment = "qa"`, `role = "operate"`} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %s:\n%s", want, out)
		}
	}
	if strings.Contains(out, "[roles.") {
		t.Errorf("OpsOperator is role operate already; no new role wanted:\n%s", out)
	}
	if len(warns) != 1 || !strings.Contains(warns[0], "config:18: profile broken") {
		t.Fatalf("warnings = %v", warns)
	}
	// The output must be valid config once appended.
	if _, err := Parse("merged.toml", []byte(validConfig+out)); err != nil {
		t.Fatalf("imported TOML does not load: %v\n%s", err, out)
	}
	fresh, _ := ImportAWSConfig(profs, nil, "config")
	for _, want := range []string{`[roles.opsreadonly]`, `[roles.opsoperator]`, `mfa_serial = "arn:aws:iam::100000000001:mfa/jane"`, `regions = ["eu-west-1"]`} {
		if !strings.Contains(fresh, want) {
			t.Errorf("fresh import lacks %s:\n%s", want, fresh)
		}
	}
	if _, err := Parse("fresh.toml", []byte("[operator]\nname=\"x-y\"\ndefault_role=\"opsreadonly\"\n"+fresh)); err != nil {
		t.Fatalf("fresh import does not load: %v\n%s", err, fresh)
	}
}

func TestParseRoleARN(t *testing.T) {
	tests := []struct{ give, acct, name string }{
		{"arn:aws:iam::210987654321:role/OpsReadOnly", "210987654321", "OpsReadOnly"},
		{"arn:aws-us-gov:iam::210987654321:role/path/to/R", "210987654321", "R"},
		{"arn:aws:iam::2109:role/X", "", ""},
		{"arn:aws:iam::210987654321:user/X", "", ""},
	}
	for _, tt := range tests {
		a, n, err := ParseRoleARN(tt.give)
		if (err != nil) != (tt.acct == "") || a != tt.acct || n != tt.name {
			t.Errorf("ParseRoleARN(%s) = %s %s %v", tt.give, a, n, err)
		}
	}
}
