// Package runbook reads disaster-recovery runbooks: TOML, strict like the
// estate config (unknown keys and bad values are errors naming
// file:line:col). A runbook has objectives (RTO, RPO), typed parameters,
// targets (accounts, primary and DR region) and ordered steps; each step
// runs an operation from the registry (Ops) with inputs that may
// reference parameters, targets and earlier steps' outputs:
//
//	snapshot = "${steps.latest.outputs.snapshot_id}"
//
// Validation catches unknown operations and inputs, references to unknown
// or later steps (a later step cannot have run yet: that is a cycle in
// waiting), unknown outputs and undeclared parameters.
package runbook

import (
	"fmt"
	"maps"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/opsdeck/opsdeck/profiles"
)

// Runbook is one guided procedure.
type Runbook struct {
	Name        string     `toml:"name"`
	Description string     `toml:"description"`
	Objectives  Objectives `toml:"objectives"`
	Params      []Param    `toml:"params"`
	Targets     Targets    `toml:"targets"`
	Steps       []Step     `toml:"steps"`

	// Path of the runbook file.
	Path string `toml:"-"`
	// Source is the file's text: a run's journal keeps it, so a resume
	// runs what was started whatever happens to the file.
	Source []byte `toml:"-"`
}

// Objectives are what the run is measured against in its report.
type Objectives struct {
	RTO string `toml:"rto"` // e.g. "1h": time from start to the last step
	RPO string `toml:"rpo"` // e.g. "24h": the oldest acceptable recovery point
}

// Durations parses the objectives (validated on load).
func (o Objectives) Durations() (rto, rpo time.Duration) {
	rto, _ = time.ParseDuration(o.RTO)
	rpo, _ = time.ParseDuration(o.RPO)
	return rto, rpo
}

// Param is one typed parameter, given with --param name=value.
type Param struct {
	Name        string   `toml:"name"`
	Type        string   `toml:"type"` // string (default) | int | bool | duration
	Description string   `toml:"description"`
	Default     *string  `toml:"default"`
	Pattern     string   `toml:"pattern"` // for strings: the value must match
	OneOf       []string `toml:"one_of"`
}

// Targets say where the runbook acts.
type Targets struct {
	Select  string `toml:"select"`  // account selector
	Primary string `toml:"primary"` // the region that failed (or is drilled)
	DR      string `toml:"dr"`      // the region to recover into
}

// Step is one check, action, wait or manual step.
type Step struct {
	ID        string         `toml:"id"`
	Title     string         `toml:"title"`
	Kind      Kind           `toml:"kind"`
	Op        string         `toml:"op"`
	Inputs    map[string]any `toml:"inputs"`
	When      string         `toml:"when"`
	OnFailure string         `toml:"on_failure"` // stop (default) | continue | retry
	Retries   int            `toml:"retries"`    // for on_failure = "retry"; default 3
}

// Load reads and validates a runbook file.
func Load(path string, cfg *profiles.Config) (*Runbook, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("runbook %s: %w", path, err)
	}
	return Parse(path, data, cfg)
}

// Parse validates a runbook held in memory; name is its path. cfg checks
// the account selector; nil skips that check.
func Parse(name string, data []byte, cfg *profiles.Config) (*Runbook, error) {
	var r Runbook
	f, err := profiles.DecodeTOML(name, data, &r)
	if err != nil {
		return nil, err
	}
	r.Path, r.Source = name, data
	r.validate(f, cfg)
	if err := f.Err(); err != nil {
		return nil, err
	}
	return &r, nil
}

var (
	nameRe = regexp.MustCompile(`^[a-z][a-z0-9-]{0,62}$`)
	idRe   = regexp.MustCompile(`^[a-z][a-z0-9_]{0,62}$`)
	// refRe finds ${...} references in input values and conditions.
	refRe = regexp.MustCompile(`\$\{([^}]*)\}`)
)

var paramTypes = map[string]bool{"string": true, "int": true, "bool": true, "duration": true}

func (r *Runbook) validate(f *profiles.TOMLFile, cfg *profiles.Config) {
	if !nameRe.MatchString(r.Name) {
		f.Problem(fmt.Sprintf("name %q is not a runbook name", r.Name), `use lower-case letters, digits and dashes, e.g. "region-failover"`, "name")
	}
	for _, o := range []struct{ key, v string }{{"rto", r.Objectives.RTO}, {"rpo", r.Objectives.RPO}} {
		if d, err := time.ParseDuration(o.v); err != nil || d <= 0 {
			f.Problem(fmt.Sprintf("objectives.%s %q is not a duration", o.key, o.v), `write e.g. "30m" or "4h"`, "objectives."+o.key, "objectives", "name")
		}
	}
	r.validateTargets(f, cfg)
	params := r.validateParams(f)
	seen := map[string]int{}
	for i := range r.Steps {
		s := &r.Steps[i]
		at := fmt.Sprintf("steps.%d", i)
		if !idRe.MatchString(s.ID) {
			f.Problem(fmt.Sprintf("step id %q", s.ID), "use lower-case letters, digits and _, starting with a letter (it is referenced as ${steps.ID.outputs.NAME})", at+".id", at)
		} else if j, dup := seen[s.ID]; dup {
			f.Problem(fmt.Sprintf("step id %q is also step %d's", s.ID, j+1), "give every step its own id", at+".id")
		}
		seen[s.ID] = i
		if s.Title == "" {
			f.Problem("step "+s.ID+" has no title", "say what the step does; it is what the operator reads", at+".title", at)
		}
		op, known := Ops[s.Op]
		switch {
		case !known:
			f.Problem(fmt.Sprintf("step %s: unknown op %q", s.ID, s.Op), "use one of "+strings.Join(OpNames(), ", "), at+".op", at)
		case s.Kind == "":
			s.Kind = op.Kind
		case s.Kind != op.Kind:
			f.Problem(fmt.Sprintf("step %s: op %s is a %s, not a %s", s.ID, s.Op, op.Kind, s.Kind), fmt.Sprintf("write kind = %q or leave it out", op.Kind), at+".kind", at)
		}
		switch s.OnFailure {
		case "":
			s.OnFailure = "stop"
		case "stop", "continue":
		case "retry":
			if s.Retries == 0 {
				s.Retries = 3
			}
		default:
			f.Problem(fmt.Sprintf("step %s: on_failure %q", s.ID, s.OnFailure), "use stop, continue or retry", at+".on_failure")
		}
		if s.Retries < 0 || s.Retries > 20 {
			f.Problem(fmt.Sprintf("step %s: retries %d", s.ID, s.Retries), "use 1 to 20", at+".retries")
		}
		if known {
			for _, n := range op.Required {
				if _, ok := s.Inputs[n]; !ok {
					f.Problem(fmt.Sprintf("step %s: op %s needs input %q", s.ID, s.Op, n), "add it under [steps.inputs]", at+".inputs", at)
				}
			}
			for _, n := range slices.Sorted(maps.Keys(s.Inputs)) {
				if !op.takes(n) {
					f.Problem(fmt.Sprintf("step %s: op %s has no input %q", s.ID, s.Op, n), "its inputs are "+strings.Join(append(append([]string(nil), op.Required...), op.Optional...), ", "), at+".inputs."+n, at+".inputs")
				}
			}
		}
		for _, n := range slices.Sorted(maps.Keys(s.Inputs)) {
			r.checkRefs(f, i, params, s.Inputs[n], at+".inputs."+n)
		}
		if s.When != "" {
			if _, _, _, err := splitCondition(s.When); err != nil {
				f.Problem(fmt.Sprintf("step %s: when %q: %v", s.ID, s.When, err), `write e.g. "${params.restore_db} == true"`, at+".when")
			}
			r.checkRefs(f, i, params, s.When, at+".when")
		}
	}
	if len(r.Steps) == 0 {
		f.Problem("the runbook has no steps", "add [[steps]] tables", "name")
	}
}

func (r *Runbook) validateTargets(f *profiles.TOMLFile, cfg *profiles.Config) {
	t := r.Targets
	if t.Select == "" {
		f.Problem("targets.select is empty", `name the accounts, e.g. select = "customer=acme,env=prod"`, "targets.select", "targets", "name")
	} else if cfg != nil {
		if _, err := cfg.Select(t.Select); err != nil {
			f.Problem(fmt.Sprintf("targets.select: %v", err), "run `opsdeck accounts` to see the estate", "targets.select")
		}
	} else if _, err := profiles.ParseSelector(t.Select); err != nil {
		f.Problem(fmt.Sprintf("targets.select: %v", err), "see `opsdeck help select`", "targets.select")
	}
	for _, x := range []struct{ key, v string }{{"primary", t.Primary}, {"dr", t.DR}} {
		if !profiles.ValidRegion(x.v) {
			f.Problem(fmt.Sprintf("targets.%s %q is not a region", x.key, x.v), `e.g. "eu-west-1"`, "targets."+x.key, "targets", "name")
		}
	}
	if t.Primary != "" && t.Primary == t.DR {
		f.Problem("targets.dr is the primary region", "recover into another region", "targets.dr")
	}
}

func (r *Runbook) validateParams(f *profiles.TOMLFile) map[string]*Param {
	params := map[string]*Param{}
	for i := range r.Params {
		p := &r.Params[i]
		at := fmt.Sprintf("params.%d", i)
		if !idRe.MatchString(p.Name) {
			f.Problem(fmt.Sprintf("parameter name %q", p.Name), "use lower-case letters, digits and _", at+".name", at)
			continue
		}
		if params[p.Name] != nil {
			f.Problem(fmt.Sprintf("parameter %q is declared twice", p.Name), "remove one", at+".name")
		}
		params[p.Name] = p
		if p.Type == "" {
			p.Type = "string"
		}
		if !paramTypes[p.Type] {
			f.Problem(fmt.Sprintf("parameter %s: type %q", p.Name, p.Type), "use string, int, bool or duration", at+".type")
			continue
		}
		if p.Pattern != "" {
			if _, err := regexp.Compile("^(?:" + p.Pattern + ")$"); err != nil {
				f.Problem(fmt.Sprintf("parameter %s: pattern: %v", p.Name, err), "write a Go regular expression", at+".pattern")
				continue
			}
		}
		if p.Default != nil {
			if _, err := p.check(*p.Default); err != nil {
				f.Problem(fmt.Sprintf("parameter %s: default: %v", p.Name, err), "fix the default or the rule", at+".default")
			}
		}
	}
	return params
}

// checkRefs checks every ${...} in v (a string, or strings nested in
// tables and arrays) as seen from step i.
func (r *Runbook) checkRefs(f *profiles.TOMLFile, i int, params map[string]*Param, v any, at ...string) {
	switch v := v.(type) {
	case string:
		for _, m := range refRe.FindAllStringSubmatch(v, -1) {
			if err := r.checkRef(i, params, m[1]); err != nil {
				f.Problem(fmt.Sprintf("step %s: ${%s}: %v", r.Steps[i].ID, m[1], err), refHint, at...)
			}
		}
	case map[string]any:
		for _, k := range slices.Sorted(maps.Keys(v)) {
			r.checkRefs(f, i, params, v[k], append([]string{at[0] + "." + k}, at...)...)
		}
	case []any:
		for j, x := range v {
			r.checkRefs(f, i, params, x, append([]string{fmt.Sprintf("%s.%d", at[0], j)}, at...)...)
		}
	}
}

const refHint = "references are ${params.NAME}, ${targets.primary|dr|select} or ${steps.ID.outputs.NAME} of an earlier step"

func (r *Runbook) checkRef(i int, params map[string]*Param, ref string) error {
	parts := strings.Split(ref, ".")
	switch {
	case parts[0] == "params" && len(parts) == 2:
		if params[parts[1]] == nil {
			return fmt.Errorf("no parameter %q is declared", parts[1])
		}
		return nil
	case parts[0] == "targets" && len(parts) == 2:
		if parts[1] != "primary" && parts[1] != "dr" && parts[1] != "select" {
			return fmt.Errorf("targets has primary, dr and select")
		}
		return nil
	case parts[0] == "steps" && len(parts) == 4 && parts[2] == "outputs":
		j := r.stepIndex(parts[1])
		switch {
		case j < 0:
			return fmt.Errorf("no step %q", parts[1])
		case j == i:
			return fmt.Errorf("a step cannot use its own outputs")
		case j > i:
			if r.refersTo(j, r.Steps[i].ID) {
				return fmt.Errorf("cycle: steps %s and %s use each other's outputs", r.Steps[i].ID, parts[1])
			}
			return fmt.Errorf("step %s runs later (steps run in order)", parts[1])
		}
		if op, ok := Ops[r.Steps[j].Op]; ok && !op.outputs(parts[3]) {
			return fmt.Errorf("op %s has no output %q (it has %s)", r.Steps[j].Op, parts[3], strings.Join(op.Outputs, ", "))
		}
		return nil
	}
	return fmt.Errorf("not a reference")
}

func (r *Runbook) stepIndex(id string) int {
	for i, s := range r.Steps {
		if s.ID == id {
			return i
		}
	}
	return -1
}

// refersTo reports whether step j's inputs or condition use step id.
func (r *Runbook) refersTo(j int, id string) bool {
	found := false
	var walk func(v any)
	walk = func(v any) {
		switch v := v.(type) {
		case string:
			for _, m := range refRe.FindAllStringSubmatch(v, -1) {
				if strings.HasPrefix(m[1], "steps."+id+".") {
					found = true
				}
			}
		case map[string]any:
			for _, x := range v {
				walk(x)
			}
		case []any:
			for _, x := range v {
				walk(x)
			}
		}
	}
	walk(r.Steps[j].Inputs)
	walk(r.Steps[j].When)
	return found
}

// check converts a parameter value by the parameter's type and rules.
func (p *Param) check(v string) (string, error) {
	switch p.Type {
	case "int":
		if _, err := strconv.Atoi(v); err != nil {
			return "", fmt.Errorf("%q is not an integer", v)
		}
	case "bool":
		b, err := strconv.ParseBool(v)
		if err != nil {
			return "", fmt.Errorf("%q is not true or false", v)
		}
		v = strconv.FormatBool(b)
	case "duration":
		if _, err := time.ParseDuration(v); err != nil {
			return "", fmt.Errorf("%q is not a duration (e.g. 30m)", v)
		}
	}
	if p.Pattern != "" && !regexp.MustCompile("^(?:"+p.Pattern+")$").MatchString(v) {
		return "", fmt.Errorf("%q does not match %s", v, p.Pattern)
	}
	if len(p.OneOf) > 0 {
		for _, o := range p.OneOf {
			if o == v {
				return v, nil
			}
		}
		return "", fmt.Errorf("%q is not one of %s", v, strings.Join(p.OneOf, ", "))
	}
	return v, nil
}

// Resolve checks given (--param name=value) against the declared
// parameters and fills in defaults. Every problem is reported at once.
func (r *Runbook) Resolve(given map[string]string) (map[string]string, error) {
	out := map[string]string{}
	var problems []string
	for _, n := range slices.Sorted(maps.Keys(given)) {
		if r.param(n) == nil {
			problems = append(problems, fmt.Sprintf("--param %s: %s declares no such parameter", n, r.Name))
		}
	}
	for i := range r.Params {
		p := &r.Params[i]
		v, ok := given[p.Name]
		if !ok {
			if p.Default == nil {
				problems = append(problems, fmt.Sprintf("parameter %s is required (%s): give --param %s=VALUE", p.Name, p.Description, p.Name))
				continue
			}
			v = *p.Default
		}
		cv, err := p.check(v)
		if err != nil {
			problems = append(problems, fmt.Sprintf("parameter %s: %v", p.Name, err))
			continue
		}
		out[p.Name] = cv
	}
	if len(problems) > 0 {
		return nil, fmt.Errorf("runbook %s: %s", r.Name, strings.Join(problems, "; "))
	}
	return out, nil
}

func (r *Runbook) param(name string) *Param {
	for i := range r.Params {
		if r.Params[i].Name == name {
			return &r.Params[i]
		}
	}
	return nil
}

// splitCondition splits "A == B" or "A != B"; a lone value is "A == true".
func splitCondition(c string) (lhs, op, rhs string, err error) {
	for _, o := range []string{"==", "!="} {
		if l, rr, ok := strings.Cut(c, o); ok {
			l, rr = strings.TrimSpace(l), strings.TrimSpace(rr)
			if l == "" || rr == "" {
				return "", "", "", fmt.Errorf("%s needs a value on both sides", o)
			}
			return l, o, rr, nil
		}
	}
	if strings.TrimSpace(c) == "" {
		return "", "", "", fmt.Errorf("empty condition")
	}
	return strings.TrimSpace(c), "==", "true", nil
}
