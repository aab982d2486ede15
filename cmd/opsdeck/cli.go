package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"

	"github.com/opsdeck/opsdeck/ops/awsx"
	"github.com/opsdeck/opsdeck/profiles"
)

// Exit codes.
const (
	exitOK       = 0
	exitFailure  = 1
	exitBadInput = 2
)

// usageError is bad command-line input (exit 2).
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func usagef(format string, a ...any) error { return &usageError{fmt.Sprintf(format, a...)} }

// env is what a command runs with; tests swap the streams.
type env struct {
	stdin          io.Reader
	stdout, stderr io.Writer
	args           []string
}

// globals are the flags every command takes.
type globals struct {
	config   string
	readOnly bool
	region   string
	mfaCode  string
	json     bool
}

func (g *globals) register(fs *flag.FlagSet) {
	fs.StringVar(&g.config, "config", "", "estate config `FILE` (default $OPSDECK_CONFIG or $XDG_CONFIG_HOME/opsdeck/config.toml)")
	fs.BoolVar(&g.readOnly, "read-only", false, "refuse every change, whatever the environment allows")
	fs.StringVar(&g.region, "region", "", "`REGION` to act in (default: the account's first region)")
	fs.StringVar(&g.mfaCode, "mfa-code", "", "MFA `CODE` (default: ask on the terminal when a role needs one)")
	fs.BoolVar(&g.json, "json", false, "print JSON")
}

// newFlags returns a flag set with the globals registered.
func newFlags(name string, e *env, g *globals, usage string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	g.register(fs)
	fs.Usage = func() {
		fmt.Fprintf(e.stderr, "usage: opsdeck %s\n\nflags:\n", usage)
		fs.PrintDefaults()
	}
	return fs
}

// parse parses flags that may come before, between or after positional
// arguments; everything after "--" is returned untouched as rest.
func parse(fs *flag.FlagSet, args []string) (pos, rest []string, err error) {
	for i, a := range args {
		if a == "--" {
			args, rest = args[:i], args[i+1:]
			break
		}
	}
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, nil, err
			}
			return nil, nil, &usageError{err.Error()}
		}
		args = fs.Args()
		if len(args) == 0 {
			return pos, rest, nil
		}
		pos = append(pos, args[0])
		args = args[1:]
	}
}

func (g *globals) load() (*profiles.Config, error) { return profiles.Load(g.config) }

// brokerOptions builds the broker's options: the MFA code from the flag,
// else a prompt on the controlling terminal, else none (the broker then
// says to pass --mfa-code).
func (g *globals) brokerOptions(e *env) profiles.BrokerOptions {
	var o profiles.BrokerOptions
	switch {
	case g.mfaCode != "":
		code := g.mfaCode
		o.Prompt = func(context.Context, string) (string, error) { return code, nil }
	default:
		if tty, err := os.Open("/dev/tty"); err == nil {
			tty.Close()
			o.Prompt = func(_ context.Context, serial string) (string, error) {
				t, err := os.OpenFile("/dev/tty", os.O_RDWR, 0)
				if err != nil {
					return "", err
				}
				defer t.Close()
				fmt.Fprintf(t, "MFA code for %s: ", serial)
				line, err := bufio.NewReader(t).ReadString('\n')
				return strings.TrimSpace(line), err
			}
		}
	}
	return o
}

func (g *globals) broker(e *env, cfg *profiles.Config) *profiles.Broker {
	return profiles.NewBroker(cfg, g.brokerOptions(e))
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// jsonEncoder writes one compact JSON value per line (NDJSON streams).
func jsonEncoder(w io.Writer) *json.Encoder { return json.NewEncoder(w) }

func newTab(w io.Writer) *tabwriter.Writer { return tabwriter.NewWriter(w, 0, 4, 2, ' ', 0) }

// exitCode maps an error to the documented exit codes and prints it.
func exitCode(e *env, err error) int {
	if err == nil {
		return exitOK
	}
	if errors.Is(err, flag.ErrHelp) {
		return exitOK
	}
	var ue *usageError
	if errors.As(err, &ue) || profiles.IsBadInput(err) {
		fmt.Fprintf(e.stderr, "opsdeck: %v\n", err)
		if errors.As(err, &ue) {
			fmt.Fprintln(e.stderr, "run `opsdeck help` for the commands and flags")
		}
		return exitBadInput
	}
	var xe *exitError
	if errors.As(err, &xe) {
		return xe.code
	}
	var ge *guardError
	if errors.As(err, &ge) {
		fmt.Fprintf(e.stderr, "opsdeck: %v\n", err)
		return exitFailure
	}
	fmt.Fprintf(e.stderr, "opsdeck: %s\n", awsx.Clean(err))
	return exitFailure
}

// exitError carries a child's exit code (opsdeck exec).
type exitError struct{ code int }

func (e *exitError) Error() string { return fmt.Sprintf("exit %d", e.code) }
