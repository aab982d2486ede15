// Package plan is the one path every mutating action takes:
//
//	plan -> guard -> audit(intent) -> execute -> audit(outcome)
//
// A Plan is a value that can be printed (--dry-run), shown in a confirm
// dialog and hashed. The guard applies the environment's protection
// (read-only refuses, confirm asks y/N, protected wants the account name
// typed); --read-only wins over everything. Nothing is sent to AWS before
// the intent is durably in the journal.
package plan

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws/middleware"
	smithymw "github.com/aws/smithy-go/middleware"

	"github.com/opsdeck/opsdeck/ops/audit"
	"github.com/opsdeck/opsdeck/profiles"
)

// Plan describes one mutating action on one account and region.
type Plan struct {
	Action  string
	Account *profiles.Account
	Region  string
	Role    string
	Targets []string
	Params  map[string]string
	// Steps say in words what will happen, for --dry-run and dialogs.
	Steps []string
	// Key, when set, is what the idempotency token derives from instead of
	// the plan's content: a runbook step's token, stable across resumes
	// by anyone at any time.
	Key string
}

// New builds a plan with the parameters every plan records: operator,
// the minute it was made (a retry within it is the same plan, so
// idempotent; a later run is a new one) and the reason, if any.
func New(action string, a *profiles.Account, region, role, operator, reason string, targets []string, params map[string]string) Plan {
	if params == nil {
		params = map[string]string{}
	}
	params["operator"] = operator
	params["at"] = time.Now().UTC().Format("2006-01-02T15:04Z")
	if reason != "" {
		params["reason"] = reason
	}
	return Plan{Action: action, Account: a, Region: region, Role: role, Targets: targets, Params: params}
}

// Hash identifies the plan: the same action with the same inputs has the
// same hash, which also serves as an idempotency token.
func (p Plan) Hash() string {
	keys := make([]string, 0, len(p.Params))
	for k := range p.Params {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	fmt.Fprintf(&b, "%s\n%s\n%s\n%s\n", p.Action, p.Account.ID, p.Region, p.Role)
	for _, t := range p.Targets {
		fmt.Fprintf(&b, "t=%s\n", t)
	}
	for _, k := range keys {
		fmt.Fprintf(&b, "p=%s=%s\n", k, p.Params[k])
	}
	sum := sha256.Sum256([]byte(b.String()))
	return hex.EncodeToString(sum[:])
}

// Token is a short idempotency token derived from the hash (AWS client
// tokens are limited to 64 characters).
func (p Plan) Token() string {
	if p.Key != "" {
		h := sha256.Sum256([]byte(p.Key))
		return "opsdeck-" + hex.EncodeToString(h[:])[:32]
	}
	return "opsdeck-" + p.Hash()[:32]
}

// String renders the plan for people.
func (p Plan) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "plan %s  (%s)\n", p.Action, p.Hash()[:12])
	fmt.Fprintf(&b, "  account  %s (%s, %s, protection %s)\n", p.Account.Name, p.Account.ID, p.Account.Environment, protection(p.Account))
	if p.Region != "" {
		fmt.Fprintf(&b, "  region   %s\n", p.Region)
	}
	if p.Role != "" {
		fmt.Fprintf(&b, "  role     %s\n", p.Role)
	}
	for _, t := range p.Targets {
		fmt.Fprintf(&b, "  target   %s\n", t)
	}
	keys := make([]string, 0, len(p.Params))
	for k := range p.Params {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	red := audit.Redact(p.Params)
	for _, k := range keys {
		fmt.Fprintf(&b, "  %-8s %s\n", k, red[k])
	}
	for i, s := range p.Steps {
		fmt.Fprintf(&b, "  %d. %s\n", i+1, s)
	}
	return b.String()
}

func protection(a *profiles.Account) string {
	if a.Env() == nil {
		return "protected"
	}
	return a.Env().Level().String()
}

// Confirmer answers a guard's gate: "y" for confirm, the account name for
// protected. The CLI answers from --yes / --confirm-account or asks on the
// terminal; the TUI shows a dialog.
type Confirmer func(ctx context.Context, gate profiles.Gate, p Plan) (string, error)

// Result is what an execution reports back.
type Result struct {
	RequestIDs []string
	// Results are named outputs (snapshot ids, command ids, ...).
	Results map[string]string
}

// Add records an SDK output's request id.
func (r *Result) Add(meta smithymw.Metadata) {
	if id, ok := middleware.GetRequestIDMetadata(meta); ok && id != "" {
		r.RequestIDs = append(r.RequestIDs, id)
	}
}

// Set records a named output.
func (r *Result) Set(k, v string) {
	if r.Results == nil {
		r.Results = map[string]string{}
	}
	r.Results[k] = v
}

// Runner runs plans through the guard and the journal.
type Runner struct {
	Guard    profiles.Guard
	Journal  *audit.Journal
	Confirm  Confirmer
	Operator string
	DryRun   bool
	Now      func() time.Time
}

// ErrDryRun is returned for a dry run: the plan was shown, nothing ran.
var ErrDryRun = errors.New("dry run: nothing was changed")

// RefusedError is a guard refusal; nothing was sent.
type RefusedError struct {
	Plan   Plan
	Reason string
}

func (e *RefusedError) Error() string {
	return fmt.Sprintf("%s on %s refused: %s; nothing was changed", e.Plan.Action, e.Plan.Account.Name, e.Reason)
}

// Run applies the guard, journals the intent, executes and journals the
// outcome. exec receives the plan (for its token) and fills the result.
func (r *Runner) Run(ctx context.Context, p Plan, exec func(ctx context.Context, res *Result) error) (*Result, error) {
	if r.DryRun {
		return nil, ErrDryRun
	}
	now := time.Now
	if r.Now != nil {
		now = r.Now
	}
	entry := audit.Entry{Operator: r.Operator, AccountID: p.Account.ID, Account: p.Account.Name, Role: p.Role,
		Region: p.Region, Action: p.Action, Targets: p.Targets, Params: p.Params, PlanHash: p.Hash()}
	entry.ID = fmt.Sprintf("%s-%d", p.Hash()[:12], now().UnixNano())
	gate := r.Guard.For(p.Account)
	refuse := func(reason string) (*Result, error) {
		e := entry
		e.Time, e.Phase, e.Outcome, e.Error = now().UTC(), audit.Outcome, audit.Refused, reason
		if err := r.Journal.Append(e); err != nil {
			return nil, err
		}
		return nil, &RefusedError{Plan: p, Reason: reason}
	}
	if gate.Refused() {
		return refuse(gate.Reason)
	}
	if r.Confirm == nil {
		return refuse("no way to confirm (pass --yes, or --confirm-account NAME for protected accounts)")
	}
	answer, err := r.Confirm(ctx, gate, p)
	if err != nil {
		return refuse(err.Error())
	}
	if err := gate.Check(answer); err != nil {
		return refuse(err.Error())
	}
	e := entry
	e.Time, e.Phase = now().UTC(), audit.Intent
	if err := r.Journal.Append(e); err != nil {
		return nil, err // without the intent on disk, nothing is sent
	}
	res := &Result{}
	runErr := exec(ctx, res)
	o := entry
	o.Time, o.Phase, o.RequestIDs, o.Results = now().UTC(), audit.Outcome, res.RequestIDs, res.Results
	o.Outcome = audit.OK
	if runErr != nil {
		o.Outcome, o.Error = audit.Failed, runErr.Error()
	}
	if err := r.Journal.Append(o); err != nil {
		return res, errors.Join(runErr, err)
	}
	return res, runErr
}

// JSON renders the plan for --json --dry-run.
func (p Plan) JSON() map[string]any {
	return map[string]any{"action": p.Action, "account": p.Account.Name, "account_id": p.Account.ID, "region": p.Region,
		"role": p.Role, "targets": p.Targets, "params": audit.Redact(p.Params), "steps": p.Steps, "plan_hash": p.Hash()}
}

// ConfirmAll asks the guard of every account in others before a plan
// whose effects reach them (a bake that publishes to many accounts): all
// must agree before anything starts. Refusals are journaled.
func (r *Runner) ConfirmAll(ctx context.Context, others []Plan) error {
	for _, p := range others {
		gate := r.Guard.For(p.Account)
		reason := gate.Reason
		if !gate.Refused() {
			if r.Confirm == nil {
				reason = "no way to confirm (pass --yes, or --confirm-account NAME for protected accounts)"
			} else if answer, err := r.Confirm(ctx, gate, p); err != nil {
				reason = err.Error()
			} else if err := gate.Check(answer); err != nil {
				reason = err.Error()
			} else {
				continue
			}
		}
		_ = r.Journal.Append(audit.Entry{Phase: audit.Outcome, Outcome: audit.Refused, Operator: r.Operator, AccountID: p.Account.ID,
			Account: p.Account.Name, Region: p.Region, Action: p.Action, Targets: p.Targets, Params: p.Params, PlanHash: p.Hash(), Error: reason})
		return &RefusedError{Plan: p, Reason: reason}
	}
	return nil
}
