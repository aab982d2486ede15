package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/opsdeck/opsdeck/ops/emulator"
)

// BenchmarkStartupFirstFrame measures a whole process: exec, config load
// and validation of a 200-account estate, model construction and the
// first rendered frame at 160x48. Nothing on this path touches the network
// (the endpoint is a dead port to prove it).
func BenchmarkStartupFirstFrame(b *testing.B) {
	bin := buildBinary(b)
	cfg := filepath.Join(b.TempDir(), "config.toml")
	if err := os.WriteFile(cfg, []byte(emulator.Synthetic(200).ConfigTOML()), 0o600); err != nil {
		b.Fatal(err)
	}
	env := append(os.Environ(), "AWS_ENDPOINT_URL=http://127.0.0.1:1")
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		cmd := exec.Command(bin, "--config", cfg, "--first-frame", "160x48")
		cmd.Env = env
		if out, err := cmd.CombinedOutput(); err != nil {
			b.Fatalf("%v: %s", err, out)
		}
	}
}
