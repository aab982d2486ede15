// Package recipe reads golden-image recipes: TOML, strict like the estate
// config (unknown keys and bad values are errors naming file:line:col),
// describing the base image, the build, provisioners, tags, where the
// image is distributed and how long it is kept. A recipe's hash covers the
// recipe and every file it references, and is the image's lineage.
package recipe

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/opsdeck/opsdeck/profiles"
)

// Recipe is one golden image.
type Recipe struct {
	Name         string            `toml:"name"`
	Description  string            `toml:"description"`
	Base         Base              `toml:"base"`
	Build        Build             `toml:"build"`
	Provisioners []Provisioner     `toml:"provisioners"`
	Tags         map[string]string `toml:"tags"`
	Distribution Distribution      `toml:"distribution"`
	Retention    Retention         `toml:"retention"`

	// Path of the recipe file; referenced files are relative to its dir.
	Path string `toml:"-"`
	// Hash is sha256 over the recipe and every referenced file.
	Hash string `toml:"-"`
}

// Base is the image the build starts from: an SSM parameter, or an owner
// with a name pattern and architecture (newest match).
type Base struct {
	SSMParameter string `toml:"ssm_parameter"`
	Owner        string `toml:"owner"`
	NamePattern  string `toml:"name_pattern"`
	Architecture string `toml:"architecture"`
}

// Build says where and how the image is baked.
type Build struct {
	Account        string `toml:"account"`
	Region         string `toml:"region"`
	InstanceType   string `toml:"instance_type"`
	RootVolumeSize int    `toml:"root_volume_size"`
	KMSKey         string `toml:"kms_key"`
}

// Provisioner is one step on the build instance.
type Provisioner struct {
	Type        string   `toml:"type"` // shell | script | file
	Inline      []string `toml:"inline"`
	Script      string   `toml:"script"`
	Source      string   `toml:"source"`
	Destination string   `toml:"destination"`
}

// Distribution is where the image goes.
type Distribution struct {
	Select   string   `toml:"select"`
	Regions  []string `toml:"regions"`
	Channels []string `toml:"channels"`
}

// Retention is how long images are kept.
type Retention struct {
	Keep           int    `toml:"keep"`
	DeprecateAfter string `toml:"deprecate_after"`

	deprecate time.Duration
}

// DeprecateDuration is the parsed DeprecateAfter (0 = never).
func (r Retention) DeprecateDuration() time.Duration { return r.deprecate }

var (
	nameRe     = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{1,62}$`)
	channelRe  = regexp.MustCompile(`^[a-z][a-z0-9-]{0,31}$`)
	instTypeRe = regexp.MustCompile(`^[a-z][a-z0-9-]*\.[a-z0-9]+$`)
	archs      = map[string]bool{"x86_64": true, "arm64": true}
)

// Load reads and validates the recipe at path against the estate cfg
// (build account and distribution selector must exist there).
func Load(path string, cfg *profiles.Config) (*Recipe, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("recipe %s: %w", path, err)
	}
	return Parse(path, data, cfg)
}

// Parse validates a recipe held in memory; name is its path.
func Parse(name string, data []byte, cfg *profiles.Config) (*Recipe, error) {
	var r Recipe
	f, err := profiles.DecodeTOML(name, data, &r)
	if err != nil {
		return nil, err
	}
	r.Path = name
	r.validate(f, cfg)
	if err := f.Err(); err != nil {
		return nil, err
	}
	h, err := r.hash(data)
	if err != nil {
		return nil, err
	}
	r.Hash = h
	return &r, nil
}

// Dir is the directory referenced files are relative to.
func (r *Recipe) Dir() string { return filepath.Dir(r.Path) }

func (r *Recipe) validate(f *profiles.TOMLFile, cfg *profiles.Config) {
	if !nameRe.MatchString(r.Name) {
		f.Problem(fmt.Sprintf("name %q is not an image name", r.Name), "use lower-case letters, digits and dashes, e.g. \"golden-base\"", "name")
	}
	b := r.Base
	switch {
	case b.SSMParameter != "" && (b.Owner != "" || b.NamePattern != ""):
		f.Problem("base has both ssm_parameter and owner/name_pattern", "choose one way to find the base image", "base.ssm_parameter", "base")
	case b.SSMParameter != "":
		if !strings.HasPrefix(b.SSMParameter, "/") {
			f.Problem(fmt.Sprintf("base.ssm_parameter %q is not a parameter path", b.SSMParameter), "parameters start with /", "base.ssm_parameter")
		}
	case b.Owner == "" || b.NamePattern == "":
		f.Problem("base needs ssm_parameter, or owner and name_pattern", `e.g. owner = "amazon", name_pattern = "al2023-ami-*"`, "base", "name")
	}
	if b.Architecture == "" {
		r.Base.Architecture = "x86_64"
	} else if !archs[b.Architecture] {
		f.Problem(fmt.Sprintf("base.architecture %q", b.Architecture), "use x86_64 or arm64", "base.architecture")
	}
	if a := cfg.Account(r.Build.Account); a == nil {
		f.Problem(fmt.Sprintf("build.account %q is not in the estate", r.Build.Account), "name an account from the config (run `opsdeck accounts`)", "build.account", "build")
	}
	if !profiles.ValidRegion(r.Build.Region) {
		f.Problem(fmt.Sprintf("build.region %q is not a region", r.Build.Region), `e.g. "eu-north-1"`, "build.region", "build")
	}
	if r.Build.InstanceType == "" {
		r.Build.InstanceType = "t3.micro"
	} else if !instTypeRe.MatchString(r.Build.InstanceType) {
		f.Problem(fmt.Sprintf("build.instance_type %q", r.Build.InstanceType), `e.g. "t3.micro"`, "build.instance_type")
	}
	if r.Build.RootVolumeSize < 0 || r.Build.RootVolumeSize > 16384 {
		f.Problem(fmt.Sprintf("build.root_volume_size %d GiB", r.Build.RootVolumeSize), "8 to 16384 GiB, or leave it out", "build.root_volume_size")
	}
	for i, p := range r.Provisioners {
		at := fmt.Sprintf("provisioners.%d", i)
		switch p.Type {
		case "shell":
			if len(p.Inline) == 0 {
				f.Problem("shell provisioner without inline commands", `add inline = ["..."]`, at+".type", at)
			}
		case "script":
			r.checkFile(f, p.Script, at+".script", at)
		case "file":
			r.checkFile(f, p.Source, at+".source", at)
			if !strings.HasPrefix(p.Destination, "/") {
				f.Problem(fmt.Sprintf("file destination %q is not an absolute path", p.Destination), "e.g. /etc/motd", at+".destination", at)
			}
		default:
			f.Problem(fmt.Sprintf("provisioner type %q", p.Type), "use shell, script or file", at+".type", at)
		}
	}
	for k := range r.Tags {
		if strings.HasPrefix(k, "opsdeck:") || strings.HasPrefix(k, "aws:") {
			f.Problem(fmt.Sprintf("tag %q uses a reserved prefix", k), "opsdeck: and aws: tags are set by opsdeck and AWS", "tags."+k, "tags")
		}
	}
	d := r.Distribution
	if d.Select == "" {
		r.Distribution.Select = r.Build.Account
	} else if _, err := cfg.Select(d.Select); err != nil {
		f.Problem(fmt.Sprintf("distribution.select: %v", err), "use a selector like customer=acme or acme-*", "distribution.select")
	}
	if len(d.Regions) == 0 {
		r.Distribution.Regions = []string{r.Build.Region}
	}
	for i, reg := range d.Regions {
		if !profiles.ValidRegion(reg) {
			f.Problem(fmt.Sprintf("distribution.regions: %q is not a region", reg), `e.g. "eu-west-1"`, fmt.Sprintf("distribution.regions.%d", i))
		}
	}
	if len(d.Channels) == 0 {
		r.Distribution.Channels = []string{"candidate", "stable"}
	}
	for i, c := range d.Channels {
		if !channelRe.MatchString(c) {
			f.Problem(fmt.Sprintf("channel %q", c), "lower-case words such as candidate or stable", fmt.Sprintf("distribution.channels.%d", i))
		}
	}
	if r.Retention.Keep < 0 {
		f.Problem("retention.keep is negative", "keep N newest images per channel (0 = keep all)", "retention.keep")
	}
	if s := r.Retention.DeprecateAfter; s != "" {
		dd, err := time.ParseDuration(s)
		if err != nil || dd <= 0 {
			f.Problem(fmt.Sprintf("retention.deprecate_after %q", s), `use a duration such as "720h"`, "retention.deprecate_after")
		}
		r.Retention.deprecate = dd
	}
}

func (r *Recipe) checkFile(f *profiles.TOMLFile, rel, at, parent string) {
	if rel == "" {
		f.Problem("a file is needed here", "give a path relative to the recipe", at, parent)
		return
	}
	if _, err := os.Stat(filepath.Join(r.Dir(), rel)); err != nil {
		f.Problem(fmt.Sprintf("%s: %v", rel, err), "paths are relative to the recipe file", at, parent)
	}
}

// Files lists the referenced files (relative paths), in recipe order.
func (r *Recipe) Files() []string {
	var out []string
	for _, p := range r.Provisioners {
		switch p.Type {
		case "script":
			out = append(out, p.Script)
		case "file":
			out = append(out, p.Source)
		}
	}
	return out
}

// hash is sha256 over the recipe bytes and, for each referenced file in
// order, its relative path and content: any change to what is baked
// changes the image's lineage.
func (r *Recipe) hash(data []byte) (string, error) {
	h := sha256.New()
	fmt.Fprintf(h, "recipe %d\n", len(data))
	h.Write(data)
	files := r.Files()
	sort.Strings(files)
	for _, rel := range files {
		fh, err := os.Open(filepath.Join(r.Dir(), rel))
		if err != nil {
			return "", fmt.Errorf("recipe %s: %s: %w", r.Path, rel, err)
		}
		st, _ := fh.Stat()
		fmt.Fprintf(h, "\nfile %s %d\n", rel, st.Size())
		_, err = io.Copy(h, fh)
		fh.Close()
		if err != nil {
			return "", err
		}
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}
