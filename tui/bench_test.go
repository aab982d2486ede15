package tui

import (
	"testing"

	"github.com/opsdeck/opsdeck/ops/emulator"
	"github.com/opsdeck/opsdeck/profiles"
)

func syntheticConfig(b *testing.B, n int) *profiles.Config {
	cfg, err := profiles.Parse("bench.toml", []byte(emulator.Synthetic(n).ConfigTOML()))
	if err != nil {
		b.Fatal(err)
	}
	return cfg
}

// BenchmarkAccountsFilterKeystroke is one keystroke in the / filter over
// 1,000 accounts, including the re-render of the frame the operator sees.
func BenchmarkAccountsFilterKeystroke(b *testing.B) {
	m := newTestModel(b, syntheticConfig(b, 1000), 160, 48, Options{})
	press(m, "/")
	words := []string{"cust-04", "cust-0", "prod", "pr"}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		m.edit.value = words[i%len(words)]
		m.current().(Filterable).SetFilter(m.edit.value)
		_ = m.Render()
	}
}

// BenchmarkFirstFrame200 is the in-process part of start-up: validate a
// 200-account config, build the model, render one frame.
func BenchmarkFirstFrame200(b *testing.B) {
	data := []byte(emulator.Synthetic(200).ConfigTOML())
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		cfg, err := profiles.Parse("bench.toml", data)
		if err != nil {
			b.Fatal(err)
		}
		m := newTestModel(b, cfg, 160, 48, Options{})
		_ = m.Render()
	}
}
