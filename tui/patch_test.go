package tui

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	ssmtypes "github.com/aws/aws-sdk-go-v2/service/ssm/types"

	"github.com/opsdeck/opsdeck/ops/audit"
	"github.com/opsdeck/opsdeck/ops/patch"
	"github.com/opsdeck/opsdeck/profiles"
)

// invocationsFake sends the real command to the emulator and stands in
// for ListCommandInvocations, which the emulator lacks.
type invocationsFake struct{ patch.SSMAPI }

func (invocationsFake) ListCommandInvocations(_ context.Context, in *ssm.ListCommandInvocationsInput, _ ...func(*ssm.Options)) (*ssm.ListCommandInvocationsOutput, error) {
	return &ssm.ListCommandInvocationsOutput{CommandInvocations: []ssmtypes.CommandInvocation{
		{InstanceId: aws.String("i-0app000000000001"), Status: ssmtypes.CommandInvocationStatusSuccess},
		{InstanceId: aws.String("i-0app000000000002"), Status: ssmtypes.CommandInvocationStatusSuccess}}}, nil
}

func TestFlowPatch(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	demo := seededDemo(t, ctx)
	b := profiles.NewBroker(demo.Config, profiles.BrokerOptions{RetryMaxAttempts: 1})
	m := New(Options{Config: demo.Config, Broker: b, Now: func() time.Time { return fixedNow }})
	d := newDriver(t, m)
	d.send(tea.WindowSizeMsg{Width: 140, Height: 36})
	m.ctx.AuditPath = filepath.Join(t.TempDir(), "audit.jsonl")
	m.ctx.NewPatchSSM = func(c aws.Config) patch.SSMAPI { return invocationsFake{ssm.NewFromConfig(c)} }
	asked := 0
	d.dialogConfirm(&asked)
	d.keys(":")
	d.typeText("patch")
	d.keys("enter")
	d.waitFor("the patch form", func() bool { _, ok := m.current().(*patchScreen); return ok })
	s := m.current().(*patchScreen)
	// accounts: two confirm-level accounts.
	for range s.fields[fSelect].value {
		d.keys("backspace")
	}
	d.typeText("acme-test,acme-qa")
	d.keys("enter")
	for i := 0; i < 2; i++ {
		d.waitFor("the guard dialog", func() bool { return m.mode == modeConfirm })
		d.keys("y")
	}
	d.waitFor("the run to finish", func() bool { return !s.running })
	if asked != 2 {
		t.Fatalf("asked %d times for 2 accounts × 2 regions, want once per account", asked)
	}
	out := stripANSI(m.Render())
	for _, want := range []string{"i-0app000000000001", "Success", "done"} {
		if !strings.Contains(out, want) {
			t.Errorf("grid lacks %q:\n%s", want, out)
		}
	}
	if n := strings.Count(out, "done"); n < 4 {
		t.Errorf("%d targets done, want 4:\n%s", n, out)
	}
	es, _, _ := audit.Read(m.ctx.AuditPath)
	if len(es) != 8 {
		t.Fatalf("journal has %d entries, want intent+outcome × 4", len(es))
	}
	golden(t, "patch_done_140x36", strings.NewReplacer().Replace(maskCommandIDs(m.Render())))
}

// maskCommandIDs hides the emulator's random command ids in goldens.
func maskCommandIDs(s string) string {
	b := []byte(s)
	for i := 0; i+36 <= len(b); i++ {
		if b[i+8] == '-' && b[i+13] == '-' && b[i+18] == '-' && b[i+23] == '-' && isHex(b[i:i+8]) && isHex(b[i+24:i+36]) {
			copy(b[i:i+36], "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx")
		}
	}
	return string(b)
}

func isHex(b []byte) bool {
	for _, c := range b {
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	return true
}
