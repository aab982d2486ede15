package profiles

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/pelletier/go-toml/v2"
)

// Config is the estate: who the operator is, which roles exist, how each
// environment is protected, and every account opsdeck may touch.
type Config struct {
	Operator     Operator                `toml:"operator"`
	Roles        map[string]*Role        `toml:"roles"`
	Environments map[string]*Environment `toml:"environments"`
	Accounts     []*Account              `toml:"accounts"`
	Jumpbox      Jumpbox                 `toml:"jumpbox"`
	Images       Images                  `toml:"images"`

	// Path is the file the config was read from ("" when built in memory).
	Path string `toml:"-"`

	byName map[string]*Account
	byID   map[string]*Account
}

// Operator is the human (or CI job) behind every action.
type Operator struct {
	// Name becomes RoleSessionName and SourceIdentity of every assumed role,
	// so CloudTrail lines up with opsdeck's audit journal.
	Name string `toml:"name"`
	// SourceProfile names a profile in ~/.aws/config holding the hub
	// identity; empty means the SDK's default credential chain.
	SourceProfile string `toml:"source_profile"`
	// Region is the default region for accounts that list none.
	Region string `toml:"region"`
	// DefaultRole is the role used when neither the account nor its
	// environment names one.
	DefaultRole string `toml:"default_role"`
}

// Role is an IAM role assumed in each account. The map key in [roles.KEY] is
// what commands and the TUI call it.
type Role struct {
	Key       string `toml:"-"`
	Name      string `toml:"name"`
	MFASerial string `toml:"mfa_serial"`
	// Duration of the assumed-role session, e.g. "1h". Empty: the SDK
	// default (15 minutes for chained roles is AWS's own limit of 1h).
	Duration string `toml:"duration"`
	// Via names another role key that is assumed first (role chaining).
	Via string `toml:"via"`
	// Account pins the role to one account (id or name), typically an
	// intermediate "jump" role in a shared identity account. Empty: the
	// role is assumed in the target account.
	Account string `toml:"account"`

	duration time.Duration
}

// SessionDuration is the parsed Duration (0 when unset).
func (r *Role) SessionDuration() time.Duration { return r.duration }

// Environment describes how an environment (test, qa, prod, ...) is
// protected and shown.
type Environment struct {
	Key         string `toml:"-"`
	Protection  string `toml:"protection"`
	DefaultRole string `toml:"default_role"`
	Color       string `toml:"color"`
	// RPO is the recovery point objective, e.g. "24h"; backups older than
	// this are flagged.
	RPO string `toml:"rpo"`

	protection Protection
	rpo        time.Duration
}

// Level is the parsed protection level.
func (e *Environment) Level() Protection { return e.protection }

// RPODuration is the parsed RPO (0 when unset).
func (e *Environment) RPODuration() time.Duration { return e.rpo }

// Account is one AWS account of the estate.
type Account struct {
	ID          string   `toml:"id"`
	Name        string   `toml:"name"`
	Customer    string   `toml:"customer"`
	Environment string   `toml:"environment"`
	Regions     []string `toml:"regions"`
	Role        string   `toml:"role"`
	// Jumpbox overrides the estate-wide [jumpbox] settings for this account.
	Jumpbox *Jumpbox `toml:"jumpbox"`

	env *Environment
}

// Env is the account's resolved environment (never nil after Load).
func (a *Account) Env() *Environment { return a.env }

// Images lists the golden-image recipes the UI offers.
type Images struct {
	// Recipes are file globs, relative to the config file.
	Recipes []string `toml:"recipes"`
}

// RecipeFiles expands Images.Recipes relative to the config file.
func (c *Config) RecipeFiles() []string {
	var out []string
	base := filepath.Dir(c.Path)
	for _, g := range c.Images.Recipes {
		if !filepath.IsAbs(g) {
			g = filepath.Join(base, g)
		}
		m, _ := filepath.Glob(g)
		out = append(out, m...)
	}
	return out
}

// Jumpbox says how jumpbox instances are recognised.
type Jumpbox struct {
	// Tag is "Key=Value" on EC2 instances that are jumpboxes.
	Tag string `toml:"tag"`
}

// builtinEnvironments apply when the config does not define the
// environment itself. Prod and DR are protected by default: the safe choice
// for an account nobody configured.
var builtinEnvironments = map[string]Environment{
	"test":   {Protection: "confirm", Color: "#5fafff"},
	"qa":     {Protection: "confirm", Color: "#d7af5f"},
	"prod":   {Protection: "protected", Color: "#ff3b3b"},
	"shared": {Protection: "confirm", Color: "#af87ff"},
	"dr":     {Protection: "protected", Color: "#ff8700"},
}

// typeErrRe rewrites go-toml's "cannot decode TOML integer into struct
// field profiles.Operator.Name of type string" into words a user knows.
var typeErrRe = regexp.MustCompile(`cannot decode TOML (\S+(?: \S+)?) into struct field \S+\.(\w+) of type (\S+)`)

var (
	accountIDRe   = regexp.MustCompile(`^[0-9]{12}$`)
	sessionNameRe = regexp.MustCompile(`^[\w+=,.@-]{2,64}$`)
	roleNameRe    = regexp.MustCompile(`^[\w+=,.@-]{1,64}$`)
	regionRe      = regexp.MustCompile(`^[a-z]{2}(-gov|-iso[a-z]*)?-[a-z]+-[0-9]$`)
	mfaSerialRe   = regexp.MustCompile(`^(arn:aws[a-z-]*:iam::[0-9]{12}:mfa/[\w+=,.@/-]+|[A-Z0-9]{9,})$`)
	colorRe       = regexp.MustCompile(`^#[0-9a-fA-F]{6}$`)
)

// DefaultPath returns where the config is looked for: $OPSDECK_CONFIG, else
// $XDG_CONFIG_HOME/opsdeck/config.toml (XDG default ~/.config).
func DefaultPath() string {
	if p := os.Getenv("OPSDECK_CONFIG"); p != "" {
		return p
	}
	dir := os.Getenv("XDG_CONFIG_HOME")
	if dir == "" {
		home, _ := os.UserHomeDir()
		dir = filepath.Join(home, ".config")
	}
	return filepath.Join(dir, "opsdeck", "config.toml")
}

// Load reads and validates the config at path ("" = DefaultPath()).
func Load(path string) (*Config, error) {
	if path == "" {
		path = DefaultPath()
	}
	f, err := os.Open(path)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, &ConfigErrors{{File: path, Msg: "config file not found",
				Hint: "create it (see README, \"Estate config\"), pass --config FILE, or try `make demo`"}}
		}
		return nil, fmt.Errorf("config %s: %w", path, err)
	}
	defer f.Close()
	return load(path, f)
}

// Parse validates a config held in memory; name is used in error messages.
func Parse(name string, data []byte) (*Config, error) {
	return load(name, bytes.NewReader(data))
}

func load(name string, r io.Reader) (*Config, error) {
	data, err := io.ReadAll(r)
	if err != nil {
		return nil, fmt.Errorf("config %s: %w", name, err)
	}
	var c Config
	dec := toml.NewDecoder(bytes.NewReader(data)).DisallowUnknownFields()
	if err := dec.Decode(&c); err != nil {
		return nil, decodeErrors(name, err)
	}
	c.Path = name
	pos := indexPositions(data)
	v := &validator{file: name, pos: pos, data: data}
	c.validate(v)
	if len(v.errs) > 0 {
		sort.SliceStable(v.errs, func(i, j int) bool {
			a, b := v.errs[i], v.errs[j]
			if a.Line != b.Line {
				return a.Line < b.Line
			}
			return a.Col < b.Col
		})
		return nil, &v.errs
	}
	return &c, nil
}

func decodeErrors(file string, err error) error {
	var strict *toml.StrictMissingError
	if errors.As(err, &strict) {
		out := ConfigErrors{}
		for _, e := range strict.Errors {
			line, col := e.Position()
			key := strings.Join(e.Key(), ".")
			out = append(out, &ConfigError{File: file, Line: line, Col: col,
				Msg:  fmt.Sprintf("unknown key %q", key),
				Hint: "check the spelling; the README lists every key"})
		}
		return &out
	}
	var de *toml.DecodeError
	if errors.As(err, &de) {
		line, col := de.Position()
		msg := strings.TrimPrefix(de.Error(), "toml: ")
		hint := "fix the TOML syntax at this position"
		if m := typeErrRe.FindStringSubmatch(msg); m != nil {
			key := strings.Join(de.Key(), ".")
			if key == "" {
				key = strings.ToLower(m[2])
			}
			want := strings.NewReplacer("[]string", "list of strings", "*profiles.", "", "profiles.", "").Replace(m[3])
			article := "a"
			if strings.ContainsRune("aeiou", rune(want[0])) {
				article = "an"
			}
			msg = fmt.Sprintf("%s: got a TOML %s, want %s %s", key, m[1], article, want)
			hint = "check the value's type against the README (strings are quoted, regions is a list)"
		}
		return &ConfigErrors{{File: file, Line: line, Col: col, Msg: msg, Hint: hint}}
	}
	return &ConfigErrors{{File: file, Msg: strings.TrimPrefix(err.Error(), "toml: "),
		Hint: "check value types against the README (strings are quoted, regions is a list)"}}
}

// ConfigError is one problem in a config file, with where and what to try.
type ConfigError struct {
	File      string
	Line, Col int
	Msg       string
	Hint      string
}

func (e *ConfigError) Error() string {
	loc := e.File
	if e.Line > 0 {
		loc = fmt.Sprintf("%s:%d:%d", e.File, e.Line, e.Col)
	}
	s := loc + ": " + e.Msg
	if e.Hint != "" {
		s += " (" + e.Hint + ")"
	}
	return s
}

// ConfigErrors is every problem found in one file, in file order.
type ConfigErrors []*ConfigError

func (es *ConfigErrors) Error() string {
	lines := make([]string, len(*es))
	for i, e := range *es {
		lines[i] = e.Error()
	}
	return strings.Join(lines, "\n")
}

// IsBadInput reports whether err is a problem with the user's input (exit 2).
func IsBadInput(err error) bool {
	var ce *ConfigErrors
	var se *SelectorError
	return errors.As(err, &ce) || errors.As(err, &se)
}

type validator struct {
	file string
	pos  positions
	data []byte
	errs ConfigErrors
}

// at reports a problem at the first path in paths that has a position.
func (v *validator) at(msg, hint string, paths ...string) {
	e := &ConfigError{File: v.file, Msg: msg, Hint: hint}
	for _, p := range paths {
		if off, ok := v.pos[p]; ok {
			e.Line, e.Col = lineCol(v.data, off)
			break
		}
	}
	v.errs = append(v.errs, e)
}

func (c *Config) validate(v *validator) {
	op := &c.Operator
	if op.Name == "" {
		v.at("operator.name is required", `add [operator] name = "your-login"; it becomes the RoleSessionName`, "operator.name", "operator")
	} else if !sessionNameRe.MatchString(op.Name) {
		v.at(fmt.Sprintf("operator.name %q cannot be a role session name", op.Name),
			"use 2-64 letters, digits and +=,.@-", "operator.name")
	}
	if op.Region == "" {
		op.Region = "us-east-1"
	} else if !regionRe.MatchString(op.Region) {
		v.at(fmt.Sprintf("operator.region %q is not a region name", op.Region), `use e.g. "eu-north-1"`, "operator.region")
	}
	if len(c.Roles) == 0 {
		v.at("no roles defined", `add e.g. [roles.read] name = "OpsReadOnly"`, "roles", "operator")
	}
	roleKeys := sortedKeys(c.Roles)
	for _, k := range roleKeys {
		r := c.Roles[k]
		if r == nil {
			r = &Role{}
			c.Roles[k] = r
		}
		r.Key = k
		p := "roles." + k
		if r.Name == "" {
			v.at(fmt.Sprintf("role %q has no name", k), "set name to the IAM role name, e.g. \"OpsReadOnly\"", p)
		} else if !roleNameRe.MatchString(r.Name) {
			v.at(fmt.Sprintf("role %q: %q is not an IAM role name", k, r.Name), "use the role's name, not its ARN", p+".name")
		}
		if r.MFASerial != "" && !mfaSerialRe.MatchString(r.MFASerial) {
			v.at(fmt.Sprintf("role %q: mfa_serial %q is not an MFA device ARN", k, r.MFASerial),
				`use "arn:aws:iam::ACCOUNT:mfa/NAME"`, p+".mfa_serial")
		}
		if r.Duration != "" {
			d, err := time.ParseDuration(r.Duration)
			switch {
			case err != nil:
				v.at(fmt.Sprintf("role %q: bad duration %q", k, r.Duration), `use Go durations such as "1h" or "45m"`, p+".duration")
			case d < 15*time.Minute || d > 12*time.Hour:
				v.at(fmt.Sprintf("role %q: duration %s is outside 15m..12h", k, d), "AWS accepts 15 minutes to 12 hours", p+".duration")
			default:
				r.duration = d
			}
		}
		if r.Via != "" {
			if _, ok := c.Roles[r.Via]; !ok {
				v.at(fmt.Sprintf("role %q: via names unknown role %q", k, r.Via), "known roles: "+strings.Join(roleKeys, ", "), p+".via")
			}
		}
	}
	// Chains must end: a via cycle would assume roles forever.
	for _, k := range roleKeys {
		seen := map[string]bool{}
		for cur := k; cur != ""; {
			if seen[cur] {
				v.at(fmt.Sprintf("role %q: via chain loops back to %q", k, cur), "break the cycle of via references", "roles."+k+".via")
				break
			}
			seen[cur] = true
			next, ok := c.Roles[cur]
			if !ok {
				break
			}
			cur = next.Via
		}
	}

	for k, e := range builtinEnvironments {
		if c.Environments == nil {
			c.Environments = map[string]*Environment{}
		}
		if _, ok := c.Environments[k]; !ok {
			e := e
			c.Environments[k] = &e
		}
	}
	for _, k := range sortedKeys(c.Environments) {
		e := c.Environments[k]
		if e == nil {
			e = &Environment{}
			c.Environments[k] = e
		}
		e.Key = k
		p := "environments." + k
		if e.Protection == "" {
			e.Protection = "confirm"
		}
		lvl, err := ParseProtection(e.Protection)
		if err != nil {
			v.at(fmt.Sprintf("environment %q: %v", k, err), "use read-only, confirm or protected", p+".protection")
		}
		e.protection = lvl
		if e.DefaultRole != "" {
			if _, ok := c.Roles[e.DefaultRole]; !ok {
				v.at(fmt.Sprintf("environment %q: default_role %q is not a defined role", k, e.DefaultRole), "known roles: "+strings.Join(roleKeys, ", "), p+".default_role")
			}
		}
		if e.Color != "" && !colorRe.MatchString(e.Color) {
			v.at(fmt.Sprintf("environment %q: color %q is not #rrggbb", k, e.Color), `use e.g. "#ff5f5f"`, p+".color")
		}
		if e.RPO != "" {
			d, err := time.ParseDuration(e.RPO)
			if err != nil || d <= 0 {
				v.at(fmt.Sprintf("environment %q: bad rpo %q", k, e.RPO), `use a duration such as "24h"`, p+".rpo")
			}
			e.rpo = d
		}
	}
	if op.DefaultRole != "" {
		if _, ok := c.Roles[op.DefaultRole]; !ok {
			v.at(fmt.Sprintf("operator.default_role %q is not a defined role", op.DefaultRole), "known roles: "+strings.Join(roleKeys, ", "), "operator.default_role")
		}
	}
	if c.Jumpbox.Tag != "" && !validTag(c.Jumpbox.Tag) {
		v.at(fmt.Sprintf("jumpbox.tag %q is not Key=Value", c.Jumpbox.Tag), `use e.g. "Role=jumpbox"`, "jumpbox.tag")
	}
	if c.Jumpbox.Tag == "" {
		c.Jumpbox.Tag = "Role=jumpbox"
	}

	c.byName = make(map[string]*Account, len(c.Accounts))
	c.byID = make(map[string]*Account, len(c.Accounts))
	for i, a := range c.Accounts {
		p := fmt.Sprintf("accounts.%d", i)
		label := a.Name
		if label == "" {
			label = fmt.Sprintf("#%d", i+1)
		}
		switch {
		case a.ID == "":
			v.at(fmt.Sprintf("account %s has no id", label), "set id to the 12-digit account id", p)
		case !accountIDRe.MatchString(a.ID):
			v.at(fmt.Sprintf("account %s: id %q is not 12 digits", label, a.ID), "quote it as a string of exactly 12 digits, leading zeros included", p+".id")
		default:
			if prev, dup := c.byID[a.ID]; dup {
				v.at(fmt.Sprintf("account %s: id %s is already used by %s", label, a.ID, prev.Name), "each account appears once; remove or fix the duplicate", p+".id")
			}
			c.byID[a.ID] = a
		}
		if a.Name == "" {
			v.at(fmt.Sprintf("account %s has no name", label), `set name, e.g. "acme-prod"`, p)
		} else {
			if prev, dup := c.byName[a.Name]; dup {
				v.at(fmt.Sprintf("account name %q is already used by %s", a.Name, prev.ID), "account names must be unique", p+".name")
			}
			c.byName[a.Name] = a
		}
		if a.Environment == "" {
			v.at(fmt.Sprintf("account %s has no environment", label), "set environment to one of: "+strings.Join(sortedKeys(c.Environments), ", "), p)
		} else if e, ok := c.Environments[a.Environment]; !ok {
			v.at(fmt.Sprintf("account %s: unknown environment %q", label, a.Environment),
				"define [environments."+a.Environment+"] or use one of: "+strings.Join(sortedKeys(c.Environments), ", "), p+".environment")
		} else {
			a.env = e
		}
		if len(a.Regions) == 0 && op.Region != "" {
			a.Regions = []string{op.Region}
		}
		for j, r := range a.Regions {
			if !regionRe.MatchString(r) {
				v.at(fmt.Sprintf("account %s: %q is not a region name", label, r), `use e.g. "eu-west-1"`, fmt.Sprintf("%s.regions.%d", p, j), p+".regions")
			}
		}
		if a.Role != "" {
			if _, ok := c.Roles[a.Role]; !ok {
				v.at(fmt.Sprintf("account %s: unknown role %q", label, a.Role), "known roles: "+strings.Join(roleKeys, ", "), p+".role")
			}
		} else if len(c.Roles) > 0 && c.DefaultRole(a) == "" {
			v.at(fmt.Sprintf("account %s: no role to use", label), "set role on the account, default_role on its environment, or operator.default_role", p)
		}
		if a.Jumpbox != nil && a.Jumpbox.Tag != "" && !validTag(a.Jumpbox.Tag) {
			v.at(fmt.Sprintf("account %s: jumpbox.tag %q is not Key=Value", label, a.Jumpbox.Tag), `use e.g. "Role=jumpbox"`, p+".jumpbox.tag")
		}
	}
	for _, k := range roleKeys {
		r := c.Roles[k]
		if r.Account != "" && c.Account(r.Account) == nil && !accountIDRe.MatchString(r.Account) {
			v.at(fmt.Sprintf("role %q: account %q is neither a configured account nor a 12-digit id", k, r.Account), "use an account name from [[accounts]] or an id", "roles."+k+".account")
		}
	}
}

// ValidRegion reports whether s looks like an AWS region name.
func ValidRegion(s string) bool { return regionRe.MatchString(s) }

func validTag(s string) bool {
	k, _, ok := strings.Cut(s, "=")
	return ok && k != ""
}

// DefaultRole is the role key used for a when none is asked for: the
// account's role, its environment's default_role, operator.default_role, or
// the only role when there is exactly one.
func (c *Config) DefaultRole(a *Account) string {
	if a.Role != "" {
		return a.Role
	}
	if a.env != nil && a.env.DefaultRole != "" {
		return a.env.DefaultRole
	}
	if c.Operator.DefaultRole != "" {
		return c.Operator.DefaultRole
	}
	if len(c.Roles) == 1 {
		for k := range c.Roles {
			return k
		}
	}
	return ""
}

// Account finds an account by name or id; nil when there is none.
func (c *Config) Account(nameOrID string) *Account {
	if a, ok := c.byName[nameOrID]; ok {
		return a
	}
	return c.byID[nameOrID]
}

// MustAccount is Account with a user-facing error that lists what to try.
func (c *Config) MustAccount(nameOrID string) (*Account, error) {
	if a := c.Account(nameOrID); a != nil {
		return a, nil
	}
	return nil, &SelectorError{Sel: nameOrID, Msg: "no such account",
		Hint: "run `opsdeck accounts` to list names; names and 12-digit ids both work"}
}

// Role finds a role by key, with a user-facing error.
func (c *Config) Role(key string) (*Role, error) {
	if r, ok := c.Roles[key]; ok {
		return r, nil
	}
	return nil, &SelectorError{Sel: key, Msg: "no such role",
		Hint: "roles in " + c.Path + ": " + strings.Join(sortedKeys(c.Roles), ", ")}
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
