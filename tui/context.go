package tui

import (
	"context"
	"time"

	tea "charm.land/bubbletea/v2"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/opsdeck/opsdeck/ops/patch"
	"github.com/opsdeck/opsdeck/ops/plan"
	"github.com/opsdeck/opsdeck/ops/sessions"
	"github.com/opsdeck/opsdeck/ops/stacks"
	"github.com/opsdeck/opsdeck/profiles"
)

// Context is the one value every screen receives: the estate, the broker,
// styles, the clock and the current identity. Screens read it; only the
// root changes it.
type Context struct {
	Ctx      context.Context
	Config   *profiles.Config
	Broker   *profiles.Broker
	Styles   *Styles
	Now      func() time.Time
	ReadOnly bool
	// Identity is where the operator currently is (Account nil before the
	// first switch).
	Identity Identity
	Width    int
	Height   int
	// Stacks builds the CloudFormation API for a target (nil: the real
	// client); tests put the drift fake here.
	Stacks stacks.Factory
	// Tunnels supervises port forwards (nil: forwards unavailable).
	Tunnels *sessions.Manager
	// Plugin runs Session Manager sessions.
	Plugin sessions.Plugin
	// Confirm answers the guard (the dialog; tests answer directly).
	Confirm plan.Confirmer
	// AuditPath is the journal ("" = the default path).
	AuditPath string
	// NewPatchSSM builds the patch SSM client (nil: the real one); tests
	// put the fake for invocations here.
	NewPatchSSM func(aws.Config) patch.SSMAPI
	// NewSSM builds the SSM client (nil: the real one).
	NewSSM func(aws.Config) sessions.SSMAPI
}

// Identity is the current account, role and region, and when its
// credentials expire.
type Identity struct {
	Account *profiles.Account
	Role    string
	Region  string
	Expires time.Time
	ARN     string
}

// Messages screens send to the root.
type (
	// NavigateMsg opens a screen; Params go to screens that take them
	// (a selector for :stacks, the stack for the detail view).
	NavigateMsg struct {
		Kind   Kind
		Params any
	}
	// ErrorMsg shows an error on the footer.
	ErrorMsg struct{ Err error }
	// InfoMsg shows information on the footer.
	InfoMsg struct{ Text string }
	// SwitchMsg asks the root to assume Role in Account.
	SwitchMsg struct {
		Account *profiles.Account
		Role    string
	}
)

// Navigate returns a command that opens k.
func Navigate(k Kind) tea.Cmd { return func() tea.Msg { return NavigateMsg{Kind: k} } }

// NavigateWith opens k with params.
func NavigateWith(k Kind, params any) tea.Cmd {
	return func() tea.Msg { return NavigateMsg{Kind: k, Params: params} }
}

// ReportError returns a command that shows err on the footer.
func ReportError(err error) tea.Cmd { return func() tea.Msg { return ErrorMsg{err} } }

// ReportInfo returns a command that shows text on the footer.
func ReportInfo(text string) tea.Cmd { return func() tea.Msg { return InfoMsg{text} } }
