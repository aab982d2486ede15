package profiles

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
)

// AWSProfile is one profile section of ~/.aws/config.
type AWSProfile struct {
	Name          string
	Line          int
	RoleARN       string
	SourceProfile string
	MFASerial     string
	Region        string
	SSOAccountID  string
	SSORoleName   string
}

// AWSConfigPath is $AWS_CONFIG_FILE or ~/.aws/config.
func AWSConfigPath() string {
	if p := os.Getenv("AWS_CONFIG_FILE"); p != "" {
		return p
	}
	home, _ := os.UserHomeDir()
	return filepath.Join(home, ".aws", "config")
}

// ReadAWSConfig parses the profiles of an AWS shared config file.
func ReadAWSConfig(path string) ([]AWSProfile, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("aws config %s: %w (set AWS_CONFIG_FILE or pass --file)", path, err)
	}
	defer f.Close()
	return parseAWSConfig(path, f)
}

func parseAWSConfig(name string, r io.Reader) ([]AWSProfile, error) {
	var out []AWSProfile
	var cur *AWSProfile
	sc := bufio.NewScanner(r)
	for ln := 1; sc.Scan(); ln++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || line[0] == '#' || line[0] == ';' {
			continue
		}
		if line[0] == '[' {
			if !strings.HasSuffix(line, "]") {
				return nil, &ConfigError{File: name, Line: ln, Col: 1, Msg: "section header without closing ]"}
			}
			sec := strings.TrimSpace(line[1 : len(line)-1])
			cur = nil
			switch {
			case sec == "default":
				out = append(out, AWSProfile{Name: "default", Line: ln})
			case strings.HasPrefix(sec, "profile "):
				out = append(out, AWSProfile{Name: strings.TrimSpace(strings.TrimPrefix(sec, "profile ")), Line: ln})
			default:
				continue // sso-session, services: not profiles
			}
			cur = &out[len(out)-1]
			continue
		}
		if cur == nil {
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok {
			continue // continuation lines of nested settings
		}
		v = strings.TrimSpace(v)
		switch strings.TrimSpace(k) {
		case "role_arn":
			cur.RoleARN = v
		case "source_profile":
			cur.SourceProfile = v
		case "mfa_serial":
			cur.MFASerial = v
		case "region":
			cur.Region = v
		case "sso_account_id":
			cur.SSOAccountID = v
		case "sso_role_name":
			cur.SSORoleName = v
		}
	}
	return out, sc.Err()
}

var roleARNRe = regexp.MustCompile(`^arn:(aws[a-z-]*):iam::([0-9]{12}):role/(?:.*/)?([\w+=,.@-]+)$`)

// ParseRoleARN splits arn:aws:iam::ACCOUNT:role/[path/]NAME.
func ParseRoleARN(arn string) (account, name string, err error) {
	m := roleARNRe.FindStringSubmatch(arn)
	if m == nil {
		return "", "", fmt.Errorf("%q is not an IAM role ARN (want arn:aws:iam::123456789012:role/Name)", arn)
	}
	return m[2], m[3], nil
}

var envWords = []string{"prod", "production", "qa", "test", "staging", "stage", "dev", "shared", "dr"}

// guessEnv finds an environment word in a profile name such as acme-prod.
func guessEnv(name string) (customer, env string) {
	parts := strings.FieldsFunc(strings.ToLower(name), func(r rune) bool { return r == '-' || r == '_' || r == '.' })
	for i := len(parts) - 1; i >= 0; i-- {
		for _, w := range envWords {
			if parts[i] == w {
				env = w
				switch w {
				case "production":
					env = "prod"
				case "staging", "stage", "dev":
					env = "test"
				}
				customer = strings.Join(parts[:i], "-")
				if customer == "" {
					customer = strings.Join(parts[i+1:], "-")
				}
				return customer, env
			}
		}
	}
	return name, "test"
}

// ImportAWSConfig renders TOML for every role profile in profs that cfg
// (may be nil) does not already have. Problems (bad ARNs) are returned as
// warnings naming the profile; they do not stop the import.
func ImportAWSConfig(profs []AWSProfile, cfg *Config, file string) (string, []string) {
	var warnings []string
	roleKeyByName := map[string]string{}
	if cfg != nil {
		for k, r := range cfg.Roles {
			roleKeyByName[r.Name] = k
		}
	}
	type acct struct {
		id, name, customer, env, role, region string
	}
	var accts []acct
	newRoles := map[string]*Role{}
	seenIDs := map[string]bool{}
	for _, p := range profs {
		if p.RoleARN == "" {
			continue
		}
		id, roleName, err := ParseRoleARN(p.RoleARN)
		if err != nil {
			warnings = append(warnings, fmt.Sprintf("%s:%d: profile %s: %v; skipped", file, p.Line, p.Name, err))
			continue
		}
		if cfg != nil && cfg.Account(id) != nil {
			continue
		}
		if seenIDs[id] {
			warnings = append(warnings, fmt.Sprintf("%s:%d: profile %s: account %s already imported from another profile; skipped", file, p.Line, p.Name, id))
			continue
		}
		seenIDs[id] = true
		key, ok := roleKeyByName[roleName]
		if !ok {
			key = roleKeyFor(roleName)
			for n := 2; newRoles[key] != nil && newRoles[key].Name != roleName; n++ {
				key = fmt.Sprintf("%s%d", roleKeyFor(roleName), n)
			}
			roleKeyByName[roleName] = key
			newRoles[key] = &Role{Name: roleName, MFASerial: p.MFASerial}
		}
		cust, env := guessEnv(p.Name)
		name := p.Name
		if cfg != nil && cfg.Account(name) != nil {
			name = name + "-" + id
		}
		accts = append(accts, acct{id: id, name: name, customer: cust, env: env, role: key, region: p.Region})
	}
	var b strings.Builder
	fmt.Fprintf(&b, "# imported from %s by `opsdeck accounts import-aws-config`\n", file)
	fmt.Fprintf(&b, "# customer and environment are guessed from profile names: check them\n")
	keys := make([]string, 0, len(newRoles))
	for k := range newRoles {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		r := newRoles[k]
		fmt.Fprintf(&b, "\n[roles.%s]\nname = %q\n", k, r.Name)
		if r.MFASerial != "" {
			fmt.Fprintf(&b, "mfa_serial = %q\n", r.MFASerial)
		}
	}
	for _, a := range accts {
		fmt.Fprintf(&b, "\n[[accounts]]\nid = %q\nname = %q\ncustomer = %q\nenvironment = %q\nrole = %q\n", a.id, a.name, a.customer, a.env, a.role)
		if a.region != "" {
			fmt.Fprintf(&b, "regions = [%q]\n", a.region)
		}
	}
	if len(accts) == 0 {
		b.WriteString("# nothing to add: no profile with role_arn names an account that is not configured yet\n")
	}
	return b.String(), warnings
}

func roleKeyFor(roleName string) string {
	k := strings.ToLower(roleName)
	k = strings.NewReplacer("+", "-", "=", "-", ",", "-", ".", "-", "@", "-").Replace(k)
	return k
}
