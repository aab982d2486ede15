package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"time"

	"github.com/opsdeck/opsdeck/ops/emulator"
	"github.com/opsdeck/opsdeck/ops/sessions/standin"
	"github.com/opsdeck/opsdeck/tui"
)

func cmdDemo(ctx context.Context, e *env, args []string) error {
	var g globals
	var serve bool
	fs := newFlags("demo", e, &g, "demo [--serve] [--read-only]")
	fs.BoolVar(&serve, "serve", false, "do not open the UI: print the environment to use the demo from other shells, and wait for Ctrl-C")
	pos, _, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usagef("demo takes no arguments")
	}
	// Ctrl-C while starting or serving stops moto too.
	parent := ctx
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt)
	defer stop()

	dir, err := os.MkdirTemp("", "opsdeck-demo-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	fmt.Fprintln(e.stderr, "opsdeck demo: starting the AWS emulator (moto_server) on 127.0.0.1…")
	t0 := time.Now()
	srv, err := emulator.Start(ctx, emulator.Options{LogDir: dir})
	if err != nil {
		if errors.Is(err, emulator.ErrNoMoto) {
			return err
		}
		return fmt.Errorf("demo: %w", err)
	}
	defer srv.Stop() // runs on quit, on error and after Ctrl-C
	srv.Setenv()
	estate := emulator.DemoEstate()
	fmt.Fprintf(e.stderr, "opsdeck demo: emulator up at %s (pid %d) in %s; seeding %d accounts…\n",
		srv.URL, srv.PID(), time.Since(t0).Round(time.Millisecond), len(estate.Accounts))
	t1 := time.Now()
	demo, err := emulator.SeedDemo(ctx, srv, estate, dir)
	if err != nil {
		return fmt.Errorf("demo: %w", err)
	}
	fmt.Fprintf(e.stderr, "opsdeck demo: seeded in %s; config at %s\n", time.Since(t1).Round(time.Millisecond), demo.ConfigPath)

	// Session Manager: moto lacks it, so a local stand-in serves sessions
	// (and proxies the rest of SSM to moto); port forwards to any private
	// host reach a loopback stand-in database.
	db, err := standin.StartEcho("opsdeck demo: stand-in database (every private host of the demo answers here)")
	if err != nil {
		return fmt.Errorf("demo: %w", err)
	}
	defer db.Close()
	ssmSrv, err := standin.Start(standin.Options{Upstream: srv.URL, Dial: standin.MapHosts(db.Addr)})
	if err != nil {
		return fmt.Errorf("demo: %w", err)
	}
	defer ssmSrv.Close()
	for _, sa := range demo.Seeded.Accounts {
		if sa.Jumpbox != "" {
			ssmSrv.Register(standin.Instance{ID: sa.Jumpbox, Name: "jumpbox"})
		}
	}
	os.Setenv("AWS_ENDPOINT_URL_SSM", ssmSrv.URL)

	if serve {
		fmt.Fprintf(e.stdout, "export AWS_ENDPOINT_URL=%s AWS_ENDPOINT_URL_SSM=%s AWS_ACCESS_KEY_ID=%s AWS_SECRET_ACCESS_KEY=%s AWS_CONFIG_FILE=/dev/null OPSDECK_CONFIG=%s\n",
			srv.URL, ssmSrv.URL, srv.Env()["AWS_ACCESS_KEY_ID"], srv.Env()["AWS_SECRET_ACCESS_KEY"], demo.ConfigPath)
		fmt.Fprintln(e.stderr, "opsdeck demo: serving; paste the line above into another shell. Ctrl-C stops the emulator.")
		<-ctx.Done()
		return nil
	}
	stop() // the TUI handles Ctrl-C itself from here on
	opts := g.brokerOptions(e)
	if g.mfaCode == "" {
		opts.Prompt = nil // the TUI asks (moto accepts any 6 digits)
	}
	first := "acme-prod"
	return tui.Run(parent, demo.Config, opts, tui.Options{ReadOnly: g.readOnly, Account: first, Plugin: findPlugin(ctx)})
}
