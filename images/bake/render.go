// Package bake turns a recipe into a Packer HCL2 template, runs the real
// `packer build -machine-readable`, and turns its output into progress
// events (steps, provisioner output, artifacts). The work directory keeps
// the template and the full log of every bake.
package bake

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
	"text/template"

	"github.com/opsdeck/opsdeck/images/recipe"
)

// Lineage tags every image carries.
const (
	TagImage   = "opsdeck:image"
	TagRecipe  = "opsdeck:recipe-hash"
	TagBaseAMI = "opsdeck:base-ami"
	TagBuiltBy = "opsdeck:built-by"
	TagBuiltAt = "opsdeck:built-at"
	TagPacker  = "opsdeck:packer-version"
)

// RenderOptions are what the recipe does not say.
type RenderOptions struct {
	// SourceAMI is the resolved base image.
	SourceAMI string
	// Stamp makes the AMI name unique (e.g. 20261122-0930).
	Stamp         string
	BuiltBy       string
	BuiltAt       string
	PackerVersion string
	// Publish, when set, adds the opsdeck-promote post-processor.
	Publish *Publish
	// Vars are Packer variables (--var k=v): declared in the template and
	// usable in recipe strings as ${var.k}.
	Vars map[string]string
	// Endpoint, when set, is an EC2 endpoint such as the emulator: the
	// template then skips credential validation and uses no communicator
	// (nothing can be provisioned on an emulated instance, so provisioners
	// are left out, with a comment saying so).
	Endpoint string
}

// LineageTags are the tags every baked image carries.
func LineageTags(r *recipe.Recipe, o RenderOptions) map[string]string {
	tags := map[string]string{}
	for k, v := range r.Tags {
		tags[k] = v
	}
	for k, v := range map[string]string{TagImage: r.Name, TagRecipe: r.Hash, TagBaseAMI: o.SourceAMI, TagBuiltBy: o.BuiltBy,
		TagBuiltAt: o.BuiltAt, TagPacker: o.PackerVersion, "Name": r.Name + "-" + o.Stamp} {
		if v != "" {
			tags[k] = v
		}
	}
	return tags
}

// Publish is where the post-processor publishes the new image.
type Publish struct {
	Channel      string
	BuildAccount string
	// TargetRole is the role name assumed in the other accounts.
	TargetRole string
	Targets    []PublishTarget
}

// PublishTarget is one account and region.
type PublishTarget struct{ AccountID, AccountName, Region string }

type renderData struct {
	VarNames []string
	R        *recipe.Recipe
	O        RenderOptions
	AMIName  string
	Tags     []kv
	Emulated bool
	Provs    []string
}

type kv struct{ K, V string }

func q(s string) string { return strconv.Quote(s) }

var tmpl = template.Must(template.New("pkr").Funcs(template.FuncMap{"q": q}).Parse(`# Rendered by opsdeck from {{.R.Path}}
# recipe hash {{.R.Hash}}
# Do not edit: change the recipe and bake again.
{{- range .VarNames}}

variable {{q .}} {
  type = string
}
{{- end}}
{{- with .O.Publish}}

# The image on the channel before this bake, recorded in the lineage.
data "opsdeck-image" "previous" {
  image   = {{q $.R.Name}}
  channel = {{q .Channel}}
  region  = {{q $.R.Build.Region}}
{{- if $.Emulated}}
  endpoint = {{q $.O.Endpoint}}
{{- end}}
}
{{- end}}

source "amazon-ebs" "golden" {
  region        = {{q .R.Build.Region}}
  source_ami    = {{q .O.SourceAMI}}
  instance_type = {{q .R.Build.InstanceType}}
  ami_name      = {{q .AMIName}}
  ami_description = {{q .R.Description}}
{{- if .R.Build.RootVolumeSize}}
  launch_block_device_mappings {
    device_name           = "/dev/xvda"
    volume_size           = {{.R.Build.RootVolumeSize}}
    delete_on_termination = true
{{- if .R.Build.KMSKey}}
    encrypted             = true
    kms_key_id            = {{q .R.Build.KMSKey}}
{{- end}}
  }
{{- end}}
{{- if .Emulated}}

  # Emulated endpoint: no credential check, nothing to connect to.
  custom_endpoint_ec2        = {{q .O.Endpoint}}
  skip_credential_validation = true
  skip_region_validation     = true
  communicator               = "none"
{{- else}}
  communicator = "ssh"
  ssh_username = "ec2-user"
{{- end}}

  tags = {
{{- range .Tags}}
    {{q .K}} = {{q .V}}
{{- end}}
{{- if .O.Publish}}
    "opsdeck:previous-ami" = data.opsdeck-image.previous.ami_id
{{- end}}
  }
{{- if .Emulated}}
  # No run_tags: the plugin also puts them on CreateImage as a snapshot tag
  # specification, which the emulator does not implement.
{{- else}}
  run_tags = {
    "Name"          = {{q (printf "opsdeck-bake-%s" .R.Name)}}
    "opsdeck:image" = {{q .R.Name}}
  }
{{- end}}
}

build {
  sources = ["source.amazon-ebs.golden"]
{{- if .Emulated}}
{{- if .Provs}}
  # {{len .Provs}} provisioner(s) from the recipe are left out: an emulated
  # instance cannot run them.
{{- end}}
{{- else}}
{{- range .Provs}}
{{.}}
{{- end}}
{{- end}}
{{- with .O.Publish}}

  post-processor "opsdeck-promote" {
    image           = {{q $.R.Name}}
    channel         = {{q .Channel}}
    build_account   = {{q .BuildAccount}}
    target_role     = {{q .TargetRole}}
{{- if $.R.Retention.Keep}}
    keep            = {{$.R.Retention.Keep}}
{{- end}}
{{- if $.R.Retention.DeprecateAfter}}
    deprecate_after = {{q $.R.Retention.DeprecateAfter}}
{{- end}}
{{- if $.Emulated}}
    endpoint        = {{q $.O.Endpoint}}
{{- end}}
    lineage = {
{{- range $.Tags}}
      {{q .K}} = {{q .V}}
{{- end}}
    }
{{- range .Targets}}
    target {
      account_id   = {{q .AccountID}}
      account_name = {{q .AccountName}}
      region       = {{q .Region}}
    }
{{- end}}
  }
{{- end}}
}
`))

// Render produces the Packer template for r.
func Render(r *recipe.Recipe, o RenderOptions) (string, error) {
	if o.SourceAMI == "" {
		return "", fmt.Errorf("recipe %s: the base image was not resolved", r.Name)
	}
	tags := LineageTags(r, o)
	d := renderData{R: r, O: o, AMIName: r.Name + "-" + o.Stamp, Emulated: o.Endpoint != ""}
	keys := make([]string, 0, len(tags))
	for k := range tags {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		d.Tags = append(d.Tags, kv{k, tags[k]})
	}
	for _, p := range r.Provisioners {
		d.Provs = append(d.Provs, provisioner(r, p))
	}
	for k := range o.Vars {
		d.VarNames = append(d.VarNames, k)
	}
	sort.Strings(d.VarNames)
	var b strings.Builder
	if err := tmpl.Execute(&b, d); err != nil {
		return "", err
	}
	return b.String(), nil
}

func provisioner(r *recipe.Recipe, p recipe.Provisioner) string {
	switch p.Type {
	case "shell":
		lines := make([]string, len(p.Inline))
		for i, l := range p.Inline {
			lines[i] = "      " + q(l) + ","
		}
		return "  provisioner \"shell\" {\n    inline = [\n" + strings.Join(lines, "\n") + "\n    ]\n  }"
	case "script":
		return fmt.Sprintf("  provisioner \"shell\" {\n    script = %s\n  }", q(r.Dir()+"/"+p.Script))
	default:
		return fmt.Sprintf("  provisioner \"file\" {\n    source      = %s\n    destination = %s\n  }", q(r.Dir()+"/"+p.Source), q(p.Destination))
	}
}
