package image

import (
	"strings"
	"testing"
)

func TestConfigure(t *testing.T) {
	t.Setenv("AWS_REGION", "eu-north-1")
	tests := []struct {
		name string
		give map[string]interface{}
		want []string // fragments of the errors, all reported at once
	}{
		{"ok with defaults", map[string]interface{}{"image": "golden-base"}, nil},
		{"bad image and channel", map[string]interface{}{"image": "Golden Base", "channel": "Stable!"}, []string{`image "Golden Base"`, `channel "Stable!"`}},
		{"bad region", map[string]interface{}{"image": "golden-base", "region": "north"}, []string{`region "north"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := &Datasource{}
			err := d.Configure(tt.give)
			if len(tt.want) == 0 {
				if err != nil || d.config.Channel != "stable" || d.config.Region != "eu-north-1" {
					t.Fatalf("err %v config %+v", err, d.config)
				}
				return
			}
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error lacks %q: %v", w, err)
				}
			}
		})
	}
}
