package main

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/opsdeck/opsdeck/ops/emulator"
)

var seedDemo *emulator.Demo

// seededConfig seeds the demo estate once for this package's stack tests
// and returns its config file.
func seededConfig(t *testing.T) string {
	t.Helper()
	seedDemo = moto.SharedDemo(t)
	return seedDemo.ConfigPath
}

func TestStacksLsJSON(t *testing.T) {
	cfg := seededConfig(t)
	code, out, errs := opsdeck(t, "stacks", "ls", "--config", cfg, "--select", "customer=initech", "--json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	var got struct {
		Stacks []stackRow    `json:"stacks"`
		Errors []targetError `json:"errors"`
	}
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatal(err)
	}
	// 3 accounts × (3 stacks in eu-north-1 + 1 in eu-west-1)
	if len(got.Stacks) != 12 || len(got.Errors) != 0 {
		t.Fatalf("%d stacks, errors %v", len(got.Stacks), got.Errors)
	}
	for _, s := range got.Stacks {
		if !strings.HasPrefix(s.Name, s.Account+"-") || s.AccountID == "" || s.Status != "CREATE_COMPLETE" || s.Drift == "" || s.Updated.IsZero() {
			t.Errorf("bad row %+v", s)
		}
	}
	code, out, _ = opsdeck(t, "stacks", "ls", "--config", cfg, "--select", "initech-qa", "--regions", "eu-west-1", "--name", "*-network", "--json")
	if code != 0 || strings.Count(out, `"name"`) != 1 || !strings.Contains(out, `"region": "eu-west-1"`) {
		t.Fatalf("filtered: exit %d\n%s", code, out)
	}
}

func TestStacksLsPartialFailureExitsThree(t *testing.T) {
	cfg := seededConfig(t)
	// eu-south-9 is a region the emulator does not serve: that target
	// fails, the others still list.
	code, out, errs := opsdeck(t, "stacks", "ls", "--config", cfg, "--select", "acme-test,acme-qa", "--regions", "eu-north-1,eu-south-9", "--json")
	if code != exitPartial {
		t.Fatalf("exit %d, want 3: %s", code, errs)
	}
	var got struct {
		Stacks []stackRow    `json:"stacks"`
		Errors []targetError `json:"errors"`
	}
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatal(err)
	}
	if len(got.Stacks) != 6 || len(got.Errors) != 2 || got.Errors[0].Region != "eu-south-9" || got.Errors[0].Error == "" {
		t.Fatalf("stacks %d, errors %+v", len(got.Stacks), got.Errors)
	}
	if !strings.Contains(errs, "2 of 4 targets failed") {
		t.Fatalf("stderr: %s", errs)
	}
}

func TestStacksShowEventsDrift(t *testing.T) {
	cfg := seededConfig(t)
	code, out, errs := opsdeck(t, "stacks", "show", "globex-prod", "eu-north-1", "globex-prod-network", "--config", cfg, "--json", "--template")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	var show struct {
		Stack struct {
			Name    string `json:"name"`
			Outputs []struct{ Key, Value string }
		} `json:"stack"`
		Resources []struct {
			LogicalID string `json:"logical_id"`
		} `json:"resources"`
		Events   []json.RawMessage `json:"events"`
		Template string            `json:"template"`
	}
	if err := json.Unmarshal([]byte(out), &show); err != nil {
		t.Fatal(err)
	}
	if show.Stack.Name != "globex-prod-network" || len(show.Stack.Outputs) != 3 || len(show.Resources) != 3 || len(show.Events) == 0 || !strings.Contains(show.Template, "AWS::EC2::Subnet") {
		t.Fatalf("show = %+v", show)
	}
	// --follow on a finished stack prints the events and stops.
	code, out, errs = opsdeck(t, "stacks", "events", "globex-prod", "eu-north-1", "globex-prod-app", "--follow", "--interval", "100ms", "--config", cfg)
	if code != 0 || !strings.Contains(out, "CREATE_COMPLETE") || !strings.Contains(errs, "globex-prod-app is CREATE_COMPLETE") {
		t.Fatalf("events: exit %d\n%s\n%s", code, out, errs)
	}
	code, _, errs = opsdeck(t, "stacks", "drift", "globex-prod", "eu-north-1", "globex-prod-app", "--config", cfg)
	if code != exitFailure || !strings.Contains(errs, "drift detection is not available on this endpoint") || strings.Contains(errs, "XML") {
		t.Fatalf("drift: exit %d: %s", code, errs)
	}
	code, _, errs = opsdeck(t, "stacks", "show", "globex-prod", "eu-north-1", "nope", "--config", cfg)
	if code != exitFailure || !strings.Contains(errs, "globex-prod/eu-north-1") || !strings.Contains(errs, "nope") {
		t.Fatalf("missing stack: exit %d: %s", code, errs)
	}
	code, _, errs = opsdeck(t, "stacks", "ls", "--status", "DONE", "--config", cfg)
	if code != exitBadInput || !strings.Contains(errs, `unknown stack status "DONE"`) {
		t.Fatalf("bad status: exit %d: %s", code, errs)
	}
}
