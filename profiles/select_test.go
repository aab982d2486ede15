package profiles

import (
	"strings"
	"testing"
)

func TestSelect(t *testing.T) {
	c, err := Parse("ok.toml", []byte(validConfig+`
[[accounts]]
id = "310987654321"
name = "globex-prod"
customer = "globex"
environment = "prod"
`))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		give    string
		want    string
		wantErr string
	}{
		{"all", "all", "acme-prod,acme-test,globex-prod", ""},
		{"empty is all", "", "acme-prod,acme-test,globex-prod", ""},
		{"name glob", "acme-*", "acme-prod,acme-test", ""},
		{"two globs", "acme-test,globex-*", "acme-test,globex-prod", ""},
		{"id", "310987654321", "globex-prod", ""},
		{"env", "environment=prod", "acme-prod,globex-prod", ""},
		{"env alias and customer", "env=prod,customer=acme", "acme-prod", ""},
		{"repeated key is or", "customer=acme,customer=globex,env=prod", "acme-prod,globex-prod", ""},
		{"value glob", "customer=glob*", "globex-prod", ""},
		{"unknown key", "tier=gold", "", `unknown key "tier"`},
		{"mixed forms", "acme-*,env=prod", "", "not key=value"},
		{"no match", "nope-*", "", "matches no account"},
		{"bad pattern", "acme-[", "", "bad pattern"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := c.Select(tt.give)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) || !IsBadInput(err) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			names := make([]string, len(got))
			for i, a := range got {
				names[i] = a.Name
			}
			if strings.Join(names, ",") != tt.want {
				t.Fatalf("got %v, want %s", names, tt.want)
			}
		})
	}
}
