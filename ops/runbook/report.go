package runbook

import (
	"cmp"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"
)

// Report is the run's evidence as Markdown: every step with who, when, how
// long, its inputs, outputs and AWS request ids, and the objectives met or
// missed. It reads only the journal.
func Report(st *State) (string, error) {
	rb, err := Parse(st.Start.Path, []byte(st.Start.Source), nil)
	if err != nil {
		return "", fmt.Errorf("run %s: its runbook does not parse: %w", st.Start.RunID, err)
	}
	var b strings.Builder
	s := st.Start
	fmt.Fprintf(&b, "# Runbook %s — run %s\n\n", rb.Name, s.RunID)
	if rb.Description != "" {
		fmt.Fprintf(&b, "%s\n\n", rb.Description)
	}
	fmt.Fprintf(&b, "- Operator: %s\n- Started: %s\n", cmp.Or(s.Operator, "(unknown)"), s.At.Format(time.RFC3339))
	fmt.Fprintf(&b, "- Account: %s (of `%s`); regions: %s → %s\n", cmp.Or(s.Account, "(not recorded)"), rb.Targets.Select, rb.Targets.Primary, rb.Targets.DR)
	for _, k := range slices.Sorted(maps.Keys(s.Params)) {
		fmt.Fprintf(&b, "- Parameter `%s` = `%s`\n", k, s.Params[k])
	}
	rto, rpo := rb.Objectives.Durations()
	last := st.Records[len(st.Records)-1].At
	status := "in progress or interrupted (resume with `opsdeck runbook resume`)"
	if st.Finished != nil {
		status = "finished: " + st.Finished.Reason
		last = st.Finished.At
	}
	elapsed := last.Sub(s.At).Round(time.Second)
	fmt.Fprintf(&b, "- Status: %s\n\n## Objectives\n\n| objective | target | achieved | |\n|---|---|---|---|\n", status)
	fmt.Fprintf(&b, "| RTO | %s | %s | %s |\n", rto, elapsed, verdict(elapsed <= rto, st.Finished != nil))
	if age, ok := recoveryPointAge(rb, st); ok {
		fmt.Fprintf(&b, "| RPO | %s | %s (age of the recovery point used) | %s |\n", rpo, age, verdict(age <= rpo, true))
	} else {
		fmt.Fprintf(&b, "| RPO | %s | not measured (no backup.latest step finished) | |\n", rpo)
	}
	b.WriteString("\n## Steps\n\n| # | step | kind | status | by | started | duration | attempts |\n|---|---|---|---|---|---|---|---|\n")
	for i, step := range rb.Steps {
		started, ok := firstStart(st, step.ID)
		status, end := "not reached", time.Time{}
		switch {
		case st.Done[step.ID].Type != "":
			status, end = "done", st.Done[step.ID].At
		case st.Skipped[step.ID].Type != "":
			status, end = "skipped ("+st.Skipped[step.ID].Reason+")", st.Skipped[step.ID].At
		case st.InFlight == step.ID:
			status = "in flight when the run stopped"
		case st.Failed[step.ID].Type != "":
			status, end = "failed: "+st.Failed[step.ID].Error, st.Failed[step.ID].At
		}
		when, dur := "", ""
		if ok {
			when = started.At.Format("15:04:05")
			if !end.IsZero() {
				dur = end.Sub(started.At).Round(time.Millisecond).String()
			}
		}
		fmt.Fprintf(&b, "| %d | %s — %s | %s | %s | %s | %s | %s | %d |\n", i+1, step.ID, md(step.Title), step.Kind, md(status), st.Started[step.ID].Operator, when, dur, st.Started[step.ID].Attempt)
	}
	for _, step := range rb.Steps {
		d, ok := st.Done[step.ID]
		if !ok {
			continue
		}
		fmt.Fprintf(&b, "\n### %s\n\n", step.ID)
		writeMap(&b, "Inputs", st.Started[step.ID].Inputs)
		writeMap(&b, "Outputs", d.Outputs)
		if len(d.RequestIDs) > 0 {
			fmt.Fprintf(&b, "AWS request ids: `%s`\n", strings.Join(d.RequestIDs, "`, `"))
		}
	}
	return b.String(), nil
}

func firstStart(st *State, id string) (Record, bool) {
	for _, r := range st.Records {
		if r.Type == "step-start" && r.Step == id {
			return r, true
		}
	}
	return Record{}, false
}

// recoveryPointAge is the "age" output of the first finished backup.latest.
func recoveryPointAge(rb *Runbook, st *State) (time.Duration, bool) {
	for _, s := range rb.Steps {
		if s.Op != "backup.latest" {
			continue
		}
		if d, err := time.ParseDuration(st.Done[s.ID].Outputs["age"]); err == nil {
			return d, true
		}
	}
	return 0, false
}

func verdict(met, final bool) string {
	switch {
	case met && final:
		return "met"
	case met:
		return "so far within"
	}
	return "**missed**"
}

func writeMap(b *strings.Builder, title string, m map[string]string) {
	if len(m) == 0 {
		return
	}
	fmt.Fprintf(b, "%s:\n\n", title)
	for _, k := range slices.Sorted(maps.Keys(m)) {
		fmt.Fprintf(b, "- `%s`: `%s`\n", k, strings.ReplaceAll(m[k], "\n", "; "))
	}
	b.WriteString("\n")
}

func md(s string) string { return strings.ReplaceAll(strings.ReplaceAll(s, "|", `\|`), "\n", " ") }
