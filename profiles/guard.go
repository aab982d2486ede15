package profiles

import (
	"fmt"
	"strings"
)

// Protection is how carefully an environment's accounts are treated.
type Protection int

const (
	// Confirm asks y/N before a mutating action.
	Confirm Protection = iota
	// Protected asks the operator to type the account name.
	Protected
	// ReadOnly refuses every mutating action.
	ReadOnly
)

func (p Protection) String() string {
	switch p {
	case ReadOnly:
		return "read-only"
	case Protected:
		return "protected"
	default:
		return "confirm"
	}
}

// ParseProtection reads "read-only", "confirm" or "protected".
func ParseProtection(s string) (Protection, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "read-only", "readonly":
		return ReadOnly, nil
	case "confirm":
		return Confirm, nil
	case "protected":
		return Protected, nil
	}
	return Confirm, fmt.Errorf("unknown protection %q", s)
}

// Gate is what the guard demands before a mutating action on an account.
type Gate struct {
	Level Protection
	// Account is what a Protected gate wants typed.
	Account string
	// Reason explains a refusal.
	Reason string
}

// Refused reports whether the action may not run at all.
func (g Gate) Refused() bool { return g.Level == ReadOnly }

// Guard applies environment protection, with the command line's
// --read-only winning over everything.
type Guard struct {
	ReadOnly bool
}

// For returns the gate for a mutating action on a.
func (g Guard) For(a *Account) Gate {
	if g.ReadOnly {
		return Gate{Level: ReadOnly, Account: a.Name, Reason: "opsdeck runs with --read-only"}
	}
	lvl := Protected // an account without a resolved environment is treated as prod
	if a.env != nil {
		lvl = a.env.protection
	}
	gate := Gate{Level: lvl, Account: a.Name}
	if lvl == ReadOnly {
		gate.Reason = fmt.Sprintf("environment %s is read-only in the config", a.Environment)
	}
	return gate
}

// Check verifies an answer given to a gate: "y"/"yes" for Confirm, the exact
// account name for Protected.
func (g Gate) Check(answer string) error {
	switch g.Level {
	case ReadOnly:
		return fmt.Errorf("refused: %s", g.Reason)
	case Protected:
		if answer != g.Account {
			return fmt.Errorf("%s is protected: type the account name %q exactly to go ahead", g.Account, g.Account)
		}
	default:
		a := strings.ToLower(strings.TrimSpace(answer))
		if a != "y" && a != "yes" {
			return fmt.Errorf("not confirmed")
		}
	}
	return nil
}
