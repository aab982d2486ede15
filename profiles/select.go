package profiles

import (
	"fmt"
	"path"
	"sort"
	"strings"
)

// SelectorError is a bad --select (or account/role argument).
type SelectorError struct {
	Sel  string
	Msg  string
	Hint string
}

func (e *SelectorError) Error() string {
	s := fmt.Sprintf("%q: %s", e.Sel, e.Msg)
	if e.Hint != "" {
		s += " (" + e.Hint + ")"
	}
	return s
}

// selectorKeys are the fields a key=value selector may name.
var selectorKeys = map[string]func(*Account) string{
	"customer":    func(a *Account) string { return a.Customer },
	"environment": func(a *Account) string { return a.Environment },
	"env":         func(a *Account) string { return a.Environment },
	"name":        func(a *Account) string { return a.Name },
	"id":          func(a *Account) string { return a.ID },
	"role":        func(a *Account) string { return a.Role },
}

// Selector picks accounts. Forms:
//
//	all | ""                      every account
//	acme-*                        name (or id) globs, comma-separated, any may match
//	customer=acme,environment=prod key=value terms; different keys must all
//	                               match, repeated keys are alternatives;
//	                               values may be globs
type Selector struct {
	raw   string
	globs []string
	terms map[string][]string
}

// ParseSelector validates sel.
func ParseSelector(sel string) (Selector, error) {
	s := Selector{raw: sel}
	sel = strings.TrimSpace(sel)
	if sel == "" || sel == "all" || sel == "*" {
		return s, nil
	}
	parts := strings.Split(sel, ",")
	hasEq := strings.Contains(sel, "=")
	for _, p := range parts {
		p = strings.TrimSpace(p)
		if p == "" {
			return s, &SelectorError{Sel: sel, Msg: "empty term", Hint: "separate terms with single commas"}
		}
		if hasEq {
			k, v, ok := strings.Cut(p, "=")
			k = strings.ToLower(strings.TrimSpace(k))
			if !ok {
				return s, &SelectorError{Sel: sel, Msg: fmt.Sprintf("term %q is not key=value", p), Hint: "do not mix globs and key=value terms"}
			}
			if _, known := selectorKeys[k]; !known {
				return s, &SelectorError{Sel: sel, Msg: fmt.Sprintf("unknown key %q", k), Hint: "use customer, environment, name, id or role"}
			}
			if _, err := path.Match(v, ""); err != nil {
				return s, &SelectorError{Sel: sel, Msg: fmt.Sprintf("bad pattern %q", v)}
			}
			if s.terms == nil {
				s.terms = map[string][]string{}
			}
			if k == "env" {
				k = "environment"
			}
			s.terms[k] = append(s.terms[k], strings.TrimSpace(v))
			continue
		}
		if _, err := path.Match(p, ""); err != nil {
			return s, &SelectorError{Sel: sel, Msg: fmt.Sprintf("bad pattern %q", p)}
		}
		s.globs = append(s.globs, p)
	}
	return s, nil
}

// String returns the selector as written.
func (s Selector) String() string { return s.raw }

// Match reports whether a is selected.
func (s Selector) Match(a *Account) bool {
	if len(s.globs) == 0 && len(s.terms) == 0 {
		return true
	}
	if len(s.globs) > 0 {
		for _, g := range s.globs {
			if ok, _ := path.Match(g, a.Name); ok {
				return true
			}
			if ok, _ := path.Match(g, a.ID); ok {
				return true
			}
		}
		return false
	}
	for k, vals := range s.terms {
		field := selectorKeys[k](a)
		any := false
		for _, v := range vals {
			if ok, _ := path.Match(v, field); ok {
				any = true
				break
			}
		}
		if !any {
			return false
		}
	}
	return true
}

// Select returns the accounts matching sel in config order. Selecting
// nothing is an error: a typo should not silently act on zero accounts.
func (c *Config) Select(sel string) ([]*Account, error) {
	s, err := ParseSelector(sel)
	if err != nil {
		return nil, err
	}
	var out []*Account
	for _, a := range c.Accounts {
		if s.Match(a) {
			out = append(out, a)
		}
	}
	if len(out) == 0 {
		return nil, &SelectorError{Sel: sel, Msg: "matches no account", Hint: "run `opsdeck accounts` to see names, customers and environments"}
	}
	return out, nil
}

// Customers lists the distinct customers, sorted.
func (c *Config) Customers() []string {
	seen := map[string]bool{}
	for _, a := range c.Accounts {
		seen[a.Customer] = true
	}
	out := make([]string, 0, len(seen))
	for k := range seen {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
