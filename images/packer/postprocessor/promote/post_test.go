package promote

import (
	"strings"
	"testing"
)

func TestConfigure(t *testing.T) {
	target := func(id, region string) map[string]interface{} {
		return map[string]interface{}{"account_id": id, "region": region}
	}
	tests := []struct {
		name string
		give map[string]interface{}
		want []string
	}{
		{"ok", map[string]interface{}{"image": "golden-base", "build_account": "310000000001",
			"target": []map[string]interface{}{target("310000000001", "eu-west-1")}, "deprecate_after": "720h", "keep": 3}, nil},
		{"everything wrong at once", map[string]interface{}{"image": "x y", "channel": "C", "build_account": "31",
			"target": []map[string]interface{}{target("1", "mars"), target("210000000001", "eu-north-1")}, "keep": -1, "deprecate_after": "soon"},
			[]string{`image "x y"`, `channel "C"`, `build_account "31"`, `target 1: account_id "1"`, `target 1: region "mars"`,
				"target 2: account 210000000001 is not the build account: set target_role", "keep -1", `deprecate_after "soon"`}},
		{"no targets", map[string]interface{}{"image": "golden-base", "build_account": "310000000001"}, []string{"at least one target"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := &PostProcessor{}
			err := p.Configure(tt.give)
			if len(tt.want) == 0 {
				if err != nil || p.config.Channel != "candidate" || p.config.deprecate.Hours() != 720 || p.config.Targets[0].AccountName != "310000000001" {
					t.Fatalf("err %v config %+v", err, p.config)
				}
				return
			}
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error lacks %q:\n%v", w, err)
				}
			}
		})
	}
}
