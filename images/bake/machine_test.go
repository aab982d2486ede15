package bake

import (
	"testing"
)

func TestParse(t *testing.T) {
	tests := []struct {
		name   string
		give   string
		typ    string
		target string
		data   []string
	}{
		{"say", "1763800000,,ui,say,==> amazon-ebs.golden: Prevalidating AMI Name: golden-base-20261122", "ui", "", []string{"say", "==> amazon-ebs.golden: Prevalidating AMI Name: golden-base-20261122"}},
		{"escaped comma", "1763800000,amazon-ebs.golden,ui,message,    amazon-ebs.golden: Tags: a%!(PACKER_COMMA) b", "ui", "amazon-ebs.golden", []string{"message", "    amazon-ebs.golden: Tags: a, b"}},
		{"multi-line", `1763800000,,ui,error,Build 'amazon-ebs.golden' errored: first line\nsecond line`, "ui", "", []string{"error", "Build 'amazon-ebs.golden' errored: first line\nsecond line"}},
		{"artifact", "1763800000,amazon-ebs.golden,artifact,0,id,eu-north-1:ami-0abc%!(PACKER_COMMA)eu-west-1:ami-0def", "artifact", "amazon-ebs.golden", []string{"0", "id", "eu-north-1:ami-0abc,eu-west-1:ami-0def"}},
		{"no data", "1763800000,,error-count", "error-count", "", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e, err := Parse(tt.give)
			if err != nil {
				t.Fatal(err)
			}
			if e.Type != tt.typ || e.Target != tt.target || len(e.Data) != len(tt.data) || e.Time.Unix() != 1763800000 {
				t.Fatalf("event %+v", e)
			}
			for i := range tt.data {
				if e.Data[i] != tt.data[i] {
					t.Errorf("data %d = %q, want %q", i, e.Data[i], tt.data[i])
				}
			}
		})
	}
	for _, bad := range []string{"", "just text", "abc,,ui,say,x"} {
		if _, err := Parse(bad); err == nil {
			t.Errorf("Parse(%q) accepted", bad)
		}
	}
	e, _ := Parse("1763800000,amazon-ebs.golden,artifact,0,id,eu-north-1:ami-1%!(PACKER_COMMA)eu-west-1:ami-2")
	i, k, v, ok := e.Artifact()
	amis := AMIs(v)
	if !ok || i != 0 || k != "id" || amis["eu-west-1"] != "ami-2" || amis["eu-north-1"] != "ami-1" {
		t.Fatalf("artifact %d %s %s %v", i, k, v, amis)
	}
}
