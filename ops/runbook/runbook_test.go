package runbook

import (
	"os"
	"strings"
	"testing"
)

const head = `name = "drill"
[objectives]
rto = "1h"
rpo = "24h"
[targets]
select = "env=prod"
primary = "eu-north-1"
dr = "eu-west-1"
[[params]]
name = "db"
default = "app-db"
`

func TestShippedRunbooksParse(t *testing.T) {
	data, err := os.ReadFile("shipped/region-failover.toml")
	if err != nil {
		t.Fatal(err)
	}
	r, err := Parse("shipped/region-failover.toml", data, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Steps) != 10 || r.Steps[0].Kind != Check || r.Steps[1].OnFailure != "retry" || r.Steps[1].Retries != 3 || r.Steps[9].Kind != Manual {
		t.Fatalf("steps %+v", r.Steps)
	}
	if rto, rpo := r.Objectives.Durations(); rto.Hours() != 2 || rpo.Hours() != 24 {
		t.Fatalf("objectives %v %v", rto, rpo)
	}
}

// Every mistake is reported at its file:line:col with what to do.
func TestRunbookErrors(t *testing.T) {
	for _, tc := range []struct {
		name, body, want string
	}{
		{"unknown key", `[[steps]]
id = "a"
title = "A"
op = "manual"
colour = "red"
[steps.inputs]
instructions = "x"`, "rb.toml:16:1: unknown key \"steps.colour\""},
		{"unknown op", `[[steps]]
id = "a"
title = "A"
op = "rds.explode"`, `rb.toml:15:6: step a: unknown op "rds.explode"`},
		{"missing input", `[[steps]]
id = "a"
title = "A"
op = "backup.copy"
[steps.inputs]
snapshot = "s"`, `rb.toml:16:2: step a: op backup.copy needs input "to_region"`},
		{"unknown input", `[[steps]]
id = "a"
title = "A"
op = "manual"
[steps.inputs]
instructions = "x"
colour = "red"`, `rb.toml:18:10: step a: op manual has no input "colour"`},
		{"kind mismatch", `[[steps]]
id = "a"
title = "A"
kind = "check"
op = "manual"
[steps.inputs]
instructions = "x"`, `rb.toml:15:8: step a: op manual is a manual, not a check`},
		{"undeclared param", `[[steps]]
id = "a"
title = "A"
op = "manual"
[steps.inputs]
instructions = "${params.dbb}"`, `rb.toml:17:16: step a: ${params.dbb}: no parameter "dbb" is declared`},
		{"forward reference", `[[steps]]
id = "a"
title = "A"
op = "manual"
[steps.inputs]
instructions = "${steps.b.outputs.note}"
[[steps]]
id = "b"
title = "B"
op = "manual"
[steps.inputs]
instructions = "x"`, "rb.toml:17:16: step a: ${steps.b.outputs.note}: step b runs later (steps run in order)"},
		{"cycle", `[[steps]]
id = "a"
title = "A"
op = "manual"
[steps.inputs]
instructions = "${steps.b.outputs.note}"
[[steps]]
id = "b"
title = "B"
op = "manual"
[steps.inputs]
instructions = "${steps.a.outputs.note}"`, "rb.toml:17:16: step a: ${steps.b.outputs.note}: cycle: steps a and b use each other's outputs"},
		{"self reference", `[[steps]]
id = "a"
title = "A"
op = "manual"
[steps.inputs]
instructions = "${steps.a.outputs.note}"`, "rb.toml:17:16: step a: ${steps.a.outputs.note}: a step cannot use its own outputs"},
		{"unknown output", `[[steps]]
id = "a"
title = "A"
op = "manual"
[steps.inputs]
instructions = "x"
[[steps]]
id = "b"
title = "B"
op = "manual"
[steps.inputs]
instructions = "${steps.a.outputs.snapshot_id}"`, `rb.toml:23:16: step b: ${steps.a.outputs.snapshot_id}: op manual has no output "snapshot_id" (it has confirmed_by, note)`},
		{"nested reference", `[[steps]]
id = "a"
title = "A"
op = "stack.deploy"
[steps.inputs]
stack = "s"
template = "t.yaml"
[steps.inputs.parameters]
Db = "${steps.zz.outputs.endpoint}"`, `rb.toml:20:6: step a: ${steps.zz.outputs.endpoint}: no step "zz"`},
		{"duplicate id", `[[steps]]
id = "a"
title = "A"
op = "manual"
[steps.inputs]
instructions = "x"
[[steps]]
id = "a"
title = "A again"
op = "manual"
[steps.inputs]
instructions = "y"`, `rb.toml:19:6: step id "a" is also step 1's`},
		{"bad condition", `[[steps]]
id = "a"
title = "A"
op = "manual"
when = "${params.db} == "
[steps.inputs]
instructions = "x"`, `rb.toml:16:8: step a: when "${params.db} == ": == needs a value on both sides`},
		{"on_failure", `[[steps]]
id = "a"
title = "A"
op = "manual"
on_failure = "panic"
[steps.inputs]
instructions = "x"`, `rb.toml:16:14: step a: on_failure "panic"`},
		{"no steps", ``, "rb.toml:1:8: the runbook has no steps"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse("rb.toml", []byte(head+tc.body), nil)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("want %q, got %v", tc.want, err)
			}
		})
	}
}

func TestRunbookHeadErrors(t *testing.T) {
	for _, tc := range []struct{ from, to, want string }{
		{`rto = "1h"`, `rto = "soon"`, `rb.toml:3:7: objectives.rto "soon" is not a duration`},
		{`dr = "eu-west-1"`, `dr = "eu-north-1"`, "targets.dr is the primary region"},
		{`select = "env=prod"`, `select = "colour=red"`, `rb.toml:6:10: targets.select: `},
		{`default = "app-db"`, "default = \"app-db\"\npattern = \"[0-9]+\"", `parameter db: default: "app-db" does not match [0-9]+`},
	} {
		body := strings.Replace(head, tc.from, tc.to, 1) + "[[steps]]\nid = \"a\"\ntitle = \"A\"\nop = \"manual\"\n[steps.inputs]\ninstructions = \"x\"\n"
		if _, err := Parse("rb.toml", []byte(body), nil); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: want %q, got %v", tc.to, tc.want, err)
		}
	}
}

func TestResolveParams(t *testing.T) {
	r := &Runbook{Name: "x", Params: []Param{
		{Name: "db", Type: "string", Default: ptr("app-db")},
		{Name: "count", Type: "int"},
		{Name: "dry", Type: "bool", Default: ptr("false")},
		{Name: "env", Type: "string", Default: ptr("qa"), OneOf: []string{"qa", "prod"}},
	}}
	got, err := r.Resolve(map[string]string{"count": "3", "dry": "TRUE"})
	if err != nil || got["db"] != "app-db" || got["count"] != "3" || got["dry"] != "true" || got["env"] != "qa" {
		t.Fatalf("%v %v", got, err)
	}
	_, err = r.Resolve(map[string]string{"count": "three", "env": "dev", "colour": "red"})
	for _, want := range []string{`--param colour: x declares no such parameter`, `parameter count: "three" is not an integer`, `parameter env: "dev" is not one of qa, prod`} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("want %q in %v", want, err)
		}
	}
	if _, err := r.Resolve(nil); err == nil || !strings.Contains(err.Error(), "parameter count is required") {
		t.Errorf("missing: %v", err)
	}
}

func TestScopeExpandAndWhen(t *testing.T) {
	s := Scope{Params: map[string]string{"db": "app-db", "dry": "false"}, Targets: Targets{Primary: "eu-north-1", DR: "eu-west-1"},
		Outputs: map[string]map[string]string{"restore": {"endpoint": "app-db-dr.x.rds"}, "skipped": nil}}
	in, err := s.Inputs(Step{ID: "deploy", Inputs: map[string]any{
		"stack": "${params.db}-stack", "region": "${targets.dr}",
		"parameters": map[string]any{"Db": "${steps.restore.outputs.endpoint}", "Env": "dr"},
		"commands":   []any{"echo ${targets.primary}", "true"},
	}})
	if err != nil {
		t.Fatal(err)
	}
	if in["stack"] != "app-db-stack" || in["region"] != "eu-west-1" || in["parameters"] != "Db=app-db-dr.x.rds\nEnv=dr" || in["commands"] != "echo eu-north-1\ntrue" {
		t.Fatalf("%q", in)
	}
	if _, err := s.Inputs(Step{ID: "x", Inputs: map[string]any{"a": "${steps.gone.outputs.id}"}}); err == nil || !strings.Contains(err.Error(), "step gone has not run") {
		t.Fatalf("unrun step: %v", err)
	}
	for _, tc := range []struct {
		when string
		want bool
	}{{"", true}, {"${params.dry} == false", true}, {"${params.dry} != false", false}, {"${params.dry}", false}, {"${targets.dr} == eu-west-1", true}} {
		if got, err := s.Runs(Step{ID: "x", When: tc.when}); err != nil || got != tc.want {
			t.Errorf("when %q: %v %v", tc.when, got, err)
		}
	}
}

func ptr(s string) *string { return &s }
