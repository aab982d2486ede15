package emulator

import (
	"context"
	"os"
	"testing"
	"time"
)

var moto *Server

func TestMain(m *testing.M) { os.Exit(RunTests(m, &moto)) }

func TestSeedDemo(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	start := time.Now()
	d, err := SeedDemo(ctx, moto, DemoEstate(), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("seeded %d accounts in %s", len(d.Seeded.Accounts), time.Since(start))
}
