package main

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	bk "github.com/aws/aws-sdk-go-v2/service/backup"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/rds"

	"github.com/opsdeck/opsdeck/ops/audit"
	"github.com/opsdeck/opsdeck/ops/backup"
	"github.com/opsdeck/opsdeck/ops/fleet"
	"github.com/opsdeck/opsdeck/ops/plan"
	"github.com/opsdeck/opsdeck/profiles"
)

const backupUsage = `backup snapshot ACCOUNT REGION RESOURCE [--reason R]
       opsdeck backup start ACCOUNT REGION RESOURCE-ARN --vault V --iam-role ROLE-ARN
       opsdeck backup copy ACCOUNT REGION SNAPSHOT --to-region R [--kms-key KEY]
       opsdeck backup restore ACCOUNT REGION SNAPSHOT [--new-id ID] [--subnet-group G] [--security-groups SG1,SG2] [--az AZ]
       opsdeck backup ls [--select SEL] [--regions R1,R2] [--resource ID]`

func cmdBackup(ctx context.Context, e *env, args []string) error {
	verb, rest := splitCommand(args) // global flags may come first
	if verb == "" {
		return usagef("usage: opsdeck %s", backupUsage)
	}
	args = append([]string{verb}, rest...)
	switch args[0] {
	case "snapshot", "start", "copy", "restore":
		return backupAction(ctx, e, args[0], args[1:])
	case "ls", "list":
		return backupLs(ctx, e, args[1:])
	}
	return usagef("unknown backup command %q; usage: opsdeck %s", args[0], backupUsage)
}

func clientsFor(c aws.Config) backup.Clients {
	return backup.Clients{EC2: ec2.NewFromConfig(c), RDS: rds.NewFromConfig(c)}
}

func backupAction(ctx context.Context, e *env, verb string, args []string) error {
	var g globals
	var m mutFlags
	var role, vault, iamRole, toRegion, toAccount, kmsKey, newID, subnetGroup, sgs, az string
	fs := newFlags("backup "+verb, e, &g, backupUsage)
	m.register(fs)
	fs.StringVar(&role, "role", "", "role `KEY`")
	fs.StringVar(&vault, "vault", "", "AWS Backup vault `NAME` (start)")
	fs.StringVar(&iamRole, "iam-role", "", "IAM role `ARN` AWS Backup assumes (start)")
	fs.StringVar(&toRegion, "to-region", "", "destination `REGION` (copy)")
	fs.StringVar(&toAccount, "to-account", "", "destination `ACCOUNT` (copy): shares the snapshot, then copies it as that account")
	fs.StringVar(&kmsKey, "kms-key", "", "KMS `KEY` in the destination, for encrypted sources (copy)")
	fs.StringVar(&newID, "new-id", "", "identifier of the restored DB instance (restore)")
	fs.StringVar(&subnetGroup, "subnet-group", "", "DB subnet group (restore; default: the source's)")
	fs.StringVar(&sgs, "security-groups", "", "comma-separated security groups (restore; default: the source's)")
	fs.StringVar(&az, "az", "", "availability zone for a restored volume")
	pos, _, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 3 {
		return usagef("usage: opsdeck %s", backupUsage)
	}
	cfg, a, role, _, err := resolve(&g, pos[0], role)
	if err != nil {
		return err
	}
	region, resource := pos[1], pos[2]
	if !profiles.ValidRegion(region) {
		return usagef("%q is not a region name", region)
	}
	params := map[string]string{"resource": resource}
	switch verb {
	case "start":
		if vault == "" || iamRole == "" {
			return usagef("backup start needs --vault and --iam-role")
		}
		params["vault"], params["iam_role"] = vault, iamRole
	case "copy":
		if toAccount != "" && toRegion == "" {
			toRegion = region
		}
		if !profiles.ValidRegion(toRegion) || toRegion == region && toAccount == "" {
			return usagef("backup copy needs --to-region (a region other than %s) or --to-account", region)
		}
		params["to_region"] = toRegion
		if kmsKey != "" {
			params["kms_key"] = kmsKey
		}
	case "restore":
		if !strings.HasPrefix(resource, "snap-") && newID == "" {
			return usagef("restoring an RDS snapshot needs --new-id for the new DB instance")
		}
		for k, v := range map[string]string{"new_id": newID, "subnet_group": subnetGroup, "security_groups": sgs, "az": az} {
			if v != "" {
				params[k] = v
			}
		}
	}
	p := newPlan("backup."+verb, a, region, role, cfg.Operator.Name, m.reason, []string{resource}, params)
	p.Steps = backupSteps(verb, resource, params)
	b := g.broker(e, cfg)
	o := backup.Options{Progress: progressTo(e)}
	if verb == "copy" && toAccount != "" {
		return crossAccountCopy(ctx, e, &g, &m, cfg, b, a, role, region, toRegion, toAccount, resource, kmsKey, o)
	}
	return runPlan(ctx, e, &g, m.runner(e, &g, cfg), p, func(ctx context.Context, res *plan.Result) error {
		c, _, err := b.Config(ctx, a, role, region)
		if err != nil {
			return err
		}
		switch verb {
		case "snapshot":
			return backup.Snapshot(ctx, clientsFor(c), p, resource, res, o)
		case "start":
			return backup.StartJob(ctx, bk.NewFromConfig(c), p, resource, vault, iamRole, res, o)
		case "copy":
			dc, _, err := b.Config(ctx, a, role, toRegion)
			if err != nil {
				return err
			}
			return backup.Copy(ctx, clientsFor(c), clientsFor(dc), p, resource, region, kmsKey, res, o)
		default:
			ro := backup.RestoreOptions{NewID: newID, SubnetGroup: subnetGroup, AZ: az}
			if sgs != "" {
				ro.SecurityGroups = strings.Split(sgs, ",")
			}
			return backup.Restore(ctx, clientsFor(c), p, resource, ro, res, o)
		}
	})
}

func backupSteps(verb, resource string, params map[string]string) []string {
	switch verb {
	case "snapshot":
		switch backup.KindOf(resource, backup.RDSInstance) {
		case backup.EBSVolume:
			return []string{"create an EBS snapshot of " + resource + ", tagged with who, when and why", "wait until it completes"}
		case backup.EC2Instance:
			return []string{"create an AMI of " + resource + " (all volumes) without rebooting it"}
		}
		return []string{"create a DB snapshot of " + resource, "wait until it is available"}
	case "start":
		return []string{"start an AWS Backup on-demand job for " + resource + " into vault " + params["vault"], "follow it to completion"}
	case "copy":
		return []string{"copy " + resource + " to " + params["to_region"], "wait until the copy is available"}
	}
	if strings.HasPrefix(resource, "snap-") {
		return []string{"create an EBS volume from " + resource}
	}
	return []string{"restore " + resource + " as a new DB instance " + params["new_id"] + " (subnet and security groups from the source unless given)", "wait until it is available"}
}

type backupRow struct {
	Account string `json:"account"`
	Region  string `json:"region"`
	backup.Resource
	RPO string `json:"rpo,omitempty"`
}

func backupLs(ctx context.Context, e *env, args []string) error {
	var g globals
	var ff fanFlags
	var only string
	fs := newFlags("backup ls", e, &g, "backup ls [--select SEL] [--regions R1,R2] [--resource ID]")
	ff.register(fs)
	fs.StringVar(&only, "resource", "", "only this resource (volume id or DB instance id)")
	if _, _, err := parse(fs, args); err != nil {
		return err
	}
	cfg, err := g.load()
	if err != nil {
		return err
	}
	now := time.Now()
	return runListing(ctx, e, &g, &ff, cfg, listing[backup.Resource, backupRow]{
		key:    "resources",
		header: []string{"ACCOUNT", "REGION", "RESOURCE", "KIND", "POINTS", "NEWEST", "AGE", "RPO", ""},
		fetch: func(ctx context.Context, c aws.Config, t fleet.Target) ([]backup.Resource, error) {
			return backup.List(ctx, clientsFor(c), now, t.Account.Env().RPODuration(), only)
		},
		// With --resource, the targets that do not hold it are not failures.
		skip: func(err error) bool { return only != "" && strings.Contains(err.Error(), "no resource") },
		row: func(t fleet.Target, res backup.Resource) backupRow {
			row := backupRow{Account: t.Account.Name, Region: t.Region, Resource: res}
			if rpo := t.Account.Env().RPODuration(); rpo > 0 {
				row.RPO = rpo.String()
			}
			row.Age = row.Age / time.Second // JSON in seconds
			return row
		},
		cells: func(r backupRow) []string {
			newest, ageS, flag := "never", "-", ""
			if len(r.Points) > 0 {
				newest, ageS = r.Points[0].ID, (r.Age * time.Second).Round(time.Minute).String()
			}
			if r.Stale {
				flag = "BREACH"
			}
			return []string{r.Account, r.Region, r.ID, string(r.Kind), fmt.Sprint(len(r.Points)), newest, ageS, r.RPO, flag}
		},
	})
}

// crossAccountCopy is two plans, each through its own account's guard
// and journal: share the snapshot from the source account, then copy it
// as the destination account (a protected DR account asks for its name).
func crossAccountCopy(ctx context.Context, e *env, g *globals, m *mutFlags, cfg *profiles.Config, b *profiles.Broker,
	src *profiles.Account, role, region, toRegion, toAccount, snapshot, kmsKey string, o backup.Options) error {
	dst, err := cfg.MustAccount(toAccount)
	if err != nil {
		return err
	}
	if dst == src {
		return usagef("--to-account is the source account; use --to-region")
	}
	r := m.runner(e, g, cfg)
	guard := profiles.Guard{ReadOnly: g.readOnly}
	share := newPlan("backup.share", src, region, role, cfg.Operator.Name, m.reason, []string{snapshot}, map[string]string{"resource": snapshot, "to_account": dst.ID})
	share.Steps = []string{"let " + dst.Name + " (" + dst.ID + ") copy " + snapshot}
	dstRole := cfg.DefaultRole(dst)
	cp := newPlan("backup.copy", dst, toRegion, dstRole, cfg.Operator.Name, m.reason, []string{snapshot},
		map[string]string{"resource": snapshot, "from_account": src.ID, "from_region": region, "to_region": toRegion})
	cp.Steps = []string{"copy " + snapshot + " from " + src.Name + "/" + region + " into " + dst.Name + "/" + toRegion, "wait until the copy is available"}
	// Ask the destination's guard before anything is shared, so a refusal
	// there leaves the source untouched.
	if !m.dryRun {
		gate := guard.For(dst)
		if gate.Refused() {
			return &guardError{&plan.RefusedError{Plan: cp, Reason: gate.Reason}}
		}
		answer, err := r.Confirm(ctx, gate, cp)
		if err == nil {
			err = gate.Check(answer)
		}
		if err != nil {
			_ = r.Journal.Append(audit.Entry{Phase: audit.Outcome, Outcome: audit.Refused, Operator: cfg.Operator.Name, AccountID: dst.ID,
				Account: dst.Name, Region: toRegion, Action: cp.Action, Targets: cp.Targets, Params: cp.Params, PlanHash: cp.Hash(), Error: err.Error()})
			return &guardError{&plan.RefusedError{Plan: cp, Reason: err.Error()}}
		}
	}
	if err := runPlan(ctx, e, g, r, share, func(ctx context.Context, res *plan.Result) error {
		c, _, err := b.Config(ctx, src, role, region)
		if err != nil {
			return err
		}
		return backup.Share(ctx, clientsFor(c), snapshot, dst.ID, res)
	}); err != nil {
		return err
	}
	return runPlan(ctx, e, g, r, cp, func(ctx context.Context, res *plan.Result) error {
		sc, _, err := b.Config(ctx, src, role, region)
		if err != nil {
			return err
		}
		dc, _, err := b.Config(ctx, dst, dstRole, toRegion)
		if err != nil {
			return err
		}
		return backup.Copy(ctx, clientsFor(sc), clientsFor(dc), cp, snapshot, region, kmsKey, res, o)
	})
}
