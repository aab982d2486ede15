package bake

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/aws-sdk-go-v2/service/ssm"

	"github.com/opsdeck/opsdeck/images/recipe"
)

// BaseAPI resolves base images; the real EC2 and SSM clients satisfy it
// together (see Resolver).
type BaseAPI interface {
	DescribeImages(ctx context.Context, in *ec2.DescribeImagesInput, o ...func(*ec2.Options)) (*ec2.DescribeImagesOutput, error)
	GetParameter(ctx context.Context, in *ssm.GetParameterInput, o ...func(*ssm.Options)) (*ssm.GetParameterOutput, error)
}

// Resolver joins an EC2 and an SSM client into a BaseAPI.
type Resolver struct {
	*ec2.Client
	SSM *ssm.Client
}

// GetParameter reads a parameter through the SSM client.
func (r Resolver) GetParameter(ctx context.Context, in *ssm.GetParameterInput, o ...func(*ssm.Options)) (*ssm.GetParameterOutput, error) {
	return r.SSM.GetParameter(ctx, in, o...)
}

// ResolveBase finds the recipe's base AMI: the SSM parameter's value, or
// the newest image of owner matching name_pattern and architecture.
func ResolveBase(ctx context.Context, api BaseAPI, r *recipe.Recipe) (string, error) {
	b := r.Base
	if b.SSMParameter != "" {
		out, err := api.GetParameter(ctx, &ssm.GetParameterInput{Name: aws.String(b.SSMParameter)})
		if err != nil {
			return "", fmt.Errorf("base image parameter %s: %w", b.SSMParameter, err)
		}
		return aws.ToString(out.Parameter.Value), nil
	}
	out, err := api.DescribeImages(ctx, &ec2.DescribeImagesInput{Owners: []string{b.Owner}, Filters: []ec2types.Filter{
		{Name: aws.String("name"), Values: []string{b.NamePattern}},
		{Name: aws.String("state"), Values: []string{"available"}}}})
	if err != nil {
		return "", fmt.Errorf("base image %s/%s: %w", b.Owner, b.NamePattern, err)
	}
	// Architecture is checked here rather than as a server filter: an image
	// that does not report one (the emulator's) is not silently dropped.
	var imgs []ec2types.Image
	for _, im := range out.Images {
		if im.Architecture == "" || string(im.Architecture) == b.Architecture {
			imgs = append(imgs, im)
		}
	}
	if len(imgs) == 0 {
		return "", fmt.Errorf("no %s image of owner %s matches %q", b.Architecture, b.Owner, b.NamePattern)
	}
	// Newest first; images made in the same second go by name, so the
	// higher version wins.
	sort.Slice(imgs, func(i, j int) bool {
		ci, cj := aws.ToString(imgs[i].CreationDate), aws.ToString(imgs[j].CreationDate)
		if ci != cj {
			return ci > cj
		}
		return aws.ToString(imgs[i].Name) > aws.ToString(imgs[j].Name)
	})
	return aws.ToString(imgs[0].ImageId), nil
}

// Tools say where Packer and its plugins are.
type Tools struct {
	Packer     string
	PluginPath string // PACKER_PLUGIN_PATH with amazon and opsdeck installed
}

// Version is what `packer version` says ("1.12.0"), or "unknown": it goes
// into the lineage tags, so a bake never fails over it.
func (t Tools) Version(ctx context.Context) string {
	out, err := exec.CommandContext(ctx, t.Packer, "version").Output()
	if err != nil {
		return "unknown"
	}
	first, _, _ := strings.Cut(string(out), "\n")
	return strings.TrimPrefix(strings.TrimSpace(first), "Packer v")
}

// Result of a bake.
type Result struct {
	AMIs     map[string]string // region -> AMI id
	Template string            // path of the rendered template
	Log      string            // path of the full machine-readable log
	Errors   []string
}

// Run writes the template into workDir and runs `packer build
// -machine-readable` with env (credentials of the build account) and vars,
// calling onEvent for every line. Cancelling ctx sends SIGINT, so Packer
// cleans up its instance, and waits for it to finish.
func Run(ctx context.Context, t Tools, workDir, template string, env []string, vars map[string]string, onEvent func(Event)) (*Result, error) {
	if err := os.MkdirAll(workDir, 0o755); err != nil {
		return nil, err
	}
	res := &Result{AMIs: map[string]string{}, Template: filepath.Join(workDir, "template.pkr.hcl"), Log: filepath.Join(workDir, "packer.log")}
	if err := os.WriteFile(res.Template, []byte(template), 0o644); err != nil {
		return nil, err
	}
	logf, err := os.Create(res.Log)
	if err != nil {
		return nil, err
	}
	defer logf.Close()
	args := []string{"build", "-machine-readable", "-color=false"}
	keys := make([]string, 0, len(vars))
	for k := range vars {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		args = append(args, "-var", k+"="+vars[k])
	}
	cmd := exec.Command(t.Packer, append(args, res.Template)...)
	cmd.Dir = workDir
	cmd.Env = append(env, "PACKER_PLUGIN_PATH="+t.PluginPath, "CHECKPOINT_DISABLE=1", "PACKER_NO_COLOR=1")
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	cmd.Stderr = logf
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start packer: %w", err)
	}
	done := make(chan struct{})
	go func() {
		select {
		case <-ctx.Done():
			// Packer's own Ctrl-C: it stops the build and terminates the
			// instance; only if it hangs is it killed.
			_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGINT)
			select {
			case <-done:
			case <-time.After(2 * time.Minute):
				_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			}
		case <-done:
		}
	}()
	sc := bufio.NewScanner(io.TeeReader(stdout, logf))
	sc.Buffer(make([]byte, 64*1024), 4*1024*1024)
	for sc.Scan() {
		e, err := Parse(sc.Text())
		if err != nil {
			continue // packer prints a few plain lines too; the log keeps them
		}
		if _, k, v, ok := e.Artifact(); ok && k == "id" {
			for region, ami := range AMIs(v) {
				res.AMIs[region] = ami
			}
		}
		if lvl, text, ok := e.UI(); ok && lvl == "error" {
			res.Errors = append(res.Errors, text)
		}
		if onEvent != nil {
			onEvent(e)
		}
	}
	werr := cmd.Wait()
	close(done)
	if ctx.Err() != nil {
		return res, fmt.Errorf("bake interrupted; packer cleaned up (log: %s)", res.Log)
	}
	if werr != nil || len(res.AMIs) == 0 {
		msg := "no AMI was produced"
		if len(res.Errors) > 0 {
			msg = strings.Join(res.Errors, "; ")
		}
		return res, fmt.Errorf("packer build failed: %s (log: %s)", msg, res.Log)
	}
	return res, nil
}

// EC2API is what a bake needs from EC2 besides Packer.
type EC2API interface {
	BaseAPI
	CreateTags(ctx context.Context, in *ec2.CreateTagsInput, o ...func(*ec2.Options)) (*ec2.CreateTagsOutput, error)
}

// Input of a whole bake.
type Input struct {
	Recipe  *recipe.Recipe
	API     EC2API
	Tools   Tools
	WorkDir string
	// Env is the environment for Packer: the build account's credentials.
	Env []string
	// Endpoint is set for an emulator (see RenderOptions.Endpoint).
	Endpoint      string
	BuiltBy       string
	PackerVersion string
	Now           time.Time
	// Publish adds the opsdeck-promote post-processor.
	Publish *Publish
	// Vars are Packer variables (--var k=v).
	Vars map[string]string
}

// Bake resolves the base image, renders the template, runs Packer and
// makes sure every AMI carries the lineage tags.
func Bake(ctx context.Context, in Input, onEvent func(Event)) (*Result, error) {
	base, err := ResolveBase(ctx, in.API, in.Recipe)
	if err != nil {
		return nil, err
	}
	o := RenderOptions{SourceAMI: base, Stamp: in.Now.UTC().Format("20060102-150405"), BuiltBy: in.BuiltBy,
		BuiltAt: in.Now.UTC().Format(time.RFC3339), PackerVersion: in.PackerVersion, Endpoint: in.Endpoint, Publish: in.Publish, Vars: in.Vars}
	tmpl, err := Render(in.Recipe, o)
	if err != nil {
		return nil, err
	}
	res, err := Run(ctx, in.Tools, in.WorkDir, tmpl, in.Env, in.Vars, onEvent)
	if err != nil {
		return res, err
	}
	var tags []ec2types.Tag
	for k, v := range LineageTags(in.Recipe, o) {
		tags = append(tags, ec2types.Tag{Key: aws.String(k), Value: aws.String(v)})
	}
	sort.Slice(tags, func(i, j int) bool { return *tags[i].Key < *tags[j].Key })
	for region, ami := range res.AMIs {
		if region != in.Recipe.Build.Region {
			continue // copies are promotion's job, tagged there
		}
		if _, err := in.API.CreateTags(ctx, &ec2.CreateTagsInput{Resources: []string{ami}, Tags: tags}); err != nil {
			return res, fmt.Errorf("tag %s with its lineage: %w", ami, err)
		}
	}
	return res, nil
}

// ErrNoPacker says the tools are not built.
var ErrNoPacker = errors.New("packer is not built: run `make tools` (it builds packer and its plugins from source into bin/)")
