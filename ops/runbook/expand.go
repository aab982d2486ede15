package runbook

import (
	"fmt"
	"maps"
	"slices"
	"strings"
)

// Scope is what references resolve against during a run: parameters,
// targets and the outputs of the steps that have finished.
type Scope struct {
	Params  map[string]string
	Targets Targets
	Outputs map[string]map[string]string // step id -> output -> value
	// Planning leaves references to steps' outputs as written: a plan
	// shows them before anything has run.
	Planning bool
}

// lookup resolves one reference ("params.db", "steps.latest.outputs.id").
func (s Scope) lookup(ref string) (string, error) {
	parts := strings.Split(ref, ".")
	switch {
	case parts[0] == "params" && len(parts) == 2:
		if v, ok := s.Params[parts[1]]; ok {
			return v, nil
		}
	case parts[0] == "targets" && len(parts) == 2:
		switch parts[1] {
		case "primary":
			return s.Targets.Primary, nil
		case "dr":
			return s.Targets.DR, nil
		case "select":
			return s.Targets.Select, nil
		}
	case parts[0] == "steps" && len(parts) == 4:
		if s.Planning {
			return "${" + ref + "}", nil
		}
		if v, ok := s.Outputs[parts[1]][parts[3]]; ok {
			return v, nil
		}
		if _, ran := s.Outputs[parts[1]]; !ran {
			return "", fmt.Errorf("${%s}: step %s has not run (skipped, or failed with on_failure = continue)", ref, parts[1])
		}
		return "", fmt.Errorf("${%s}: step %s gave no %s", ref, parts[1], parts[3])
	}
	return "", fmt.Errorf("${%s} is not set", ref)
}

// Expand replaces every reference in v: strings, and strings nested in
// tables and arrays (a stack's parameters). The result has the same shape.
func (s Scope) Expand(v any) (any, error) {
	switch v := v.(type) {
	case string:
		var err error
		out := refRe.ReplaceAllStringFunc(v, func(m string) string {
			x, e := s.lookup(m[2 : len(m)-1])
			if e != nil && err == nil {
				err = e
			}
			return x
		})
		return out, err
	case map[string]any:
		out := make(map[string]any, len(v))
		for _, k := range slices.Sorted(maps.Keys(v)) {
			x, err := s.Expand(v[k])
			if err != nil {
				return nil, fmt.Errorf("%s: %w", k, err)
			}
			out[k] = x
		}
		return out, nil
	case []any:
		out := make([]any, len(v))
		for i, x := range v {
			y, err := s.Expand(x)
			if err != nil {
				return nil, err
			}
			out[i] = y
		}
		return out, nil
	}
	return v, nil
}

// Inputs expands a step's inputs into strings: tables and arrays become
// "k=v" lines and one line per element, which is how operations read them.
func (s Scope) Inputs(st Step) (map[string]string, error) {
	out := map[string]string{}
	for _, k := range slices.Sorted(maps.Keys(st.Inputs)) {
		v, err := s.Expand(st.Inputs[k])
		if err != nil {
			return nil, fmt.Errorf("step %s input %s: %w", st.ID, k, err)
		}
		out[k] = flatten(v)
	}
	return out, nil
}

func flatten(v any) string {
	switch v := v.(type) {
	case map[string]any:
		keys := slices.Sorted(maps.Keys(v))
		lines := make([]string, len(keys))
		for i, k := range keys {
			lines[i] = k + "=" + flatten(v[k])
		}
		return strings.Join(lines, "\n")
	case []any:
		lines := make([]string, len(v))
		for i, x := range v {
			lines[i] = flatten(x)
		}
		return strings.Join(lines, "\n")
	}
	return fmt.Sprint(v)
}

// Runs reports whether a step's when condition holds ("" always does).
func (s Scope) Runs(st Step) (bool, error) {
	if st.When == "" {
		return true, nil
	}
	l, op, r, err := splitCondition(st.When)
	if err != nil {
		return false, err
	}
	lv, err := s.Expand(l)
	if err != nil {
		return false, fmt.Errorf("step %s when: %w", st.ID, err)
	}
	rv, err := s.Expand(r)
	if err != nil {
		return false, fmt.Errorf("step %s when: %w", st.ID, err)
	}
	eq := strings.TrimSpace(lv.(string)) == strings.TrimSpace(rv.(string))
	return eq == (op == "=="), nil
}

// PlannedStep is a step as a plan shows it: parameters and targets
// filled in, earlier steps' outputs still as references.
type PlannedStep struct {
	N         int               `json:"n"`
	ID        string            `json:"id"`
	Title     string            `json:"title"`
	Kind      Kind              `json:"kind"`
	Op        string            `json:"op"`
	When      string            `json:"when,omitempty"`
	OnFailure string            `json:"on_failure"`
	Inputs    map[string]string `json:"inputs"`
}

// Plan resolves params (--param values; defaults filled in) and every
// step's inputs as far as can be known before the run.
func (r *Runbook) Plan(given map[string]string) (map[string]string, []PlannedStep, error) {
	params, err := r.Resolve(given)
	if err != nil {
		return nil, nil, err
	}
	s := Scope{Params: params, Targets: r.Targets, Planning: true}
	out := make([]PlannedStep, len(r.Steps))
	for i, st := range r.Steps {
		in, err := s.Inputs(st)
		if err != nil {
			return nil, nil, err
		}
		when := ""
		if st.When != "" {
			w, err := s.Expand(st.When)
			if err != nil {
				return nil, nil, err
			}
			when = w.(string)
		}
		out[i] = PlannedStep{N: i + 1, ID: st.ID, Title: st.Title, Kind: st.Kind, Op: st.Op, When: when, OnFailure: st.OnFailure, Inputs: in}
	}
	return params, out, nil
}

// Pairs renders outputs or inputs on one line: "k=v  k=v", keys sorted,
// multi-line values joined with "; ".
func Pairs(m map[string]string) string {
	parts := make([]string, 0, len(m))
	for _, k := range slices.Sorted(maps.Keys(m)) {
		parts = append(parts, k+"="+strings.ReplaceAll(m[k], "\n", "; "))
	}
	return strings.Join(parts, "  ")
}
