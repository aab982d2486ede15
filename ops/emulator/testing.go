package emulator

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/opsdeck/opsdeck/profiles"
)

// RunTests is a test package's TestMain in one line: it starts one moto
// for the package, points the AWS SDK at it through the environment, runs
// the tests and stops moto (by its process group) whatever happens.
//
//	var moto *emulator.Server
//	func TestMain(m *testing.M) { os.Exit(emulator.RunTests(m, &moto)) }
func RunTests(m *testing.M, srv **Server) int {
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	s, err := Start(ctx, Options{})
	cancel()
	if err != nil {
		fmt.Fprintln(os.Stderr, "emulator:", err)
		return 1
	}
	defer s.Stop()
	s.Setenv()
	*srv = s
	return m.Run()
}

// SharedDemo seeds the demo estate into s once (per server) and returns
// it to every test that asks: most tests only read it, and seeding takes
// seconds. Tests that change it use their own account or region.
func (s *Server) SharedDemo(tb testing.TB) *Demo {
	tb.Helper()
	s.demoOnce.Do(func() {
		dir, err := os.MkdirTemp("", "opsdeck-demo-test-")
		if err != nil {
			s.demoErr = err
			return
		}
		s.demo, s.demoErr = SeedDemo(context.Background(), s, DemoEstate(), dir)
	})
	if s.demoErr != nil {
		tb.Fatal(s.demoErr)
	}
	return s.demo
}

// Demo is a running, seeded demo estate.
type Demo struct {
	Server *Server
	Estate Estate
	Config *profiles.Config
	Broker *profiles.Broker
	Seeded *Seeded
	// ConfigPath is the written config file.
	ConfigPath string
}

// SeedDemo resets s, writes e's config into dir, and seeds e. The broker it
// returns answers MFA prompts with a fixed code (moto accepts any).
func SeedDemo(ctx context.Context, s *Server, e Estate, dir string) (*Demo, error) {
	if err := s.Reset(ctx); err != nil {
		return nil, err
	}
	path, err := e.WriteConfig(dir)
	if err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(dir, "golden-base.toml"), []byte(DemoRecipe), 0o644); err != nil {
		return nil, err
	}
	cfg, err := profiles.Load(path)
	if err != nil {
		return nil, fmt.Errorf("demo config: %w", err)
	}
	b := profiles.NewBroker(cfg, profiles.BrokerOptions{RetryMaxAttempts: 2,
		Prompt: func(context.Context, string) (string, error) { return "123456", nil }})
	seeded, err := Seed(ctx, b, e)
	if err != nil {
		return nil, err
	}
	return &Demo{Server: s, Estate: e, Config: cfg, Broker: b, Seeded: seeded, ConfigPath: path}, nil
}
