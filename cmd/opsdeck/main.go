// Command opsdeck is the operator's console for multi-account AWS estates:
// a terminal UI by default, and every action as a headless command with
// --json for scripts and CI.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/opsdeck/opsdeck/ops/sessions/pluginmain"
)

const usage = `opsdeck — the operator's console for multi-account AWS estates

usage:
  opsdeck [flags]                         open the terminal UI
  opsdeck accounts [--select SEL]         list accounts (SEL: all, acme-*, customer=acme,environment=prod)
  opsdeck accounts import-aws-config [--file F]
                                          print [[accounts]] TOML for ~/.aws/config role profiles
  opsdeck whoami ACCOUNT [--role KEY]     assume the role and show the caller identity and expiry
  opsdeck exec ACCOUNT [--role KEY] -- CMD [ARGS...]
                                          run CMD with the role's credentials in its environment
  opsdeck stacks ls [--select SEL] [--regions R1,R2] [--status S1,S2] [--name GLOB] [--concurrency N]
                                          stacks across accounts × regions (exit 3 when some targets failed)
  opsdeck stacks show ACCOUNT REGION STACK [--template]
                                          parameters, outputs, resources, last 20 events
  opsdeck stacks events ACCOUNT REGION STACK [--follow]
                                          events; --follow tails until the stack is in a terminal state
  opsdeck stacks drift ACCOUNT REGION STACK
                                          detect drift and show differing properties
  opsdeck jumpboxes [--select SEL] [--regions R1,R2]
                                          tagged jumpboxes with their SSM status
  opsdeck ssh ACCOUNT [INSTANCE-ID|NAME]  interactive shell on the account's jumpbox (Session Manager)
  opsdeck forward ACCOUNT (--to HOST:PORT | --rds DB-ID) [--local PORT] [--via INSTANCE]
                                          forward 127.0.0.1:PORT through the jumpbox until Ctrl-C;
                                          restarted when the service drops it
  opsdeck backup snapshot ACCOUNT REGION RESOURCE [--reason R]   EBS volume → snapshot, instance → AMI (no reboot), RDS → DB snapshot
  opsdeck backup start ACCOUNT REGION RESOURCE-ARN --vault V --iam-role ROLE-ARN   AWS Backup on-demand job
  opsdeck backup copy ACCOUNT REGION SNAPSHOT --to-region R [--kms-key KEY]        EBS/RDS snapshot copy
  opsdeck backup restore ACCOUNT REGION SNAPSHOT [--new-id ID] [--subnet-group G] [--security-groups A,B] [--az AZ]
  opsdeck backup ls [--select SEL] [--resource ID]                 recovery points per resource, RPO breaches
  opsdeck patch scan|install [--select SEL] (--targets tag:K=V | --instances IDS) [--max-concurrency 10%] [--max-errors 1] [--reboot if-needed|never]
  opsdeck patch status [--select SEL] [--targets tag:K=V]           compliance per instance
  opsdeck images bake RECIPE [--var k=v] [--dry-run]                recipe → Packer → AMI with lineage tags, published on the first channel
  opsdeck images promote NAME --from candidate --to stable [--select SEL]
  opsdeck images ls [--select SEL]                                  channels: image × account × region → AMI and age
  opsdeck images usage NAME [--select SEL]                          running instances by AMI, marking those not on stable
  opsdeck runbook ls                                                the shipped DR runbooks
  opsdeck runbook plan FILE|NAME [--param k=v]                      the resolved plan of a runbook (changes nothing)
  opsdeck runbook run FILE|NAME [--param k=v] [--account NAME]      run it: every action through the guard, journaled
  opsdeck runbook resume JOURNAL                                    continue after Ctrl-C, a crash or a stop; finished steps never repeat
  opsdeck runbook report JOURNAL                                    Markdown evidence: steps, who, when, outputs, request ids, RTO/RPO
  opsdeck audit [--since 24h] [--account A]                         the journal of every change
        every change: --dry-run prints the plan; --yes answers confirm; --confirm-account NAME (repeat) for protected accounts
  opsdeck demo [--serve]                  start the emulator, seed a demo estate, open the UI
  opsdeck version

global flags (any command):
  --config FILE    estate config (default $OPSDECK_CONFIG, else $XDG_CONFIG_HOME/opsdeck/config.toml)
  --read-only      refuse every change, whatever the environment allows
  --region R       region to act in (default: the account's first region)
  --mfa-code CODE  MFA code (default: asked on the terminal when a role needs one)
  --json           print JSON

exit codes: 0 ok, 1 failure, 2 bad input or usage, 3 some targets failed (results for the rest printed)
`

// version is set by the Makefile (-ldflags -X main.version=...).
var version = "dev"

func main() {
	if len(os.Args) > 1 && os.Args[1] == pluginmain.Arg {
		// Hidden mode: be AWS's session-manager-plugin (see ops/sessions).
		pluginmain.Run(os.Args[2:])
		return
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGHUP)
	defer stop()
	e := &env{stdin: os.Stdin, stdout: os.Stdout, stderr: os.Stderr, args: os.Args[1:]}
	os.Exit(run(ctx, e))
}

func run(ctx context.Context, e *env) int {
	cmd, args := splitCommand(e.args)
	var err error
	switch cmd {
	case "":
		err = cmdTUI(ctx, e, args)
	case "accounts", "account":
		if len(args) > 0 && args[0] == "import-aws-config" {
			err = cmdImport(e, args[1:])
		} else {
			err = cmdAccounts(e, args)
		}
	case "whoami":
		err = cmdWhoami(ctx, e, args)
	case "exec":
		err = cmdExec(ctx, e, args)
	case "ssh":
		err = cmdSSH(ctx, e, args)
	case "forward", "fwd":
		err = cmdForward(ctx, e, args)
	case "jumpboxes", "jumpbox":
		err = cmdJumpboxes(ctx, e, args)
	case "backup", "backups":
		err = cmdBackup(ctx, e, args)
	case "patch":
		err = cmdPatch(ctx, e, args)
	case "images", "image":
		err = cmdImages(ctx, e, args)
	case "runbook", "runbooks":
		err = cmdRunbook(ctx, e, args)
	case "audit":
		err = cmdAudit(e, args)
	case "stacks", "stack":
		err = cmdStacks(ctx, e, args)
	case "demo":
		err = cmdDemo(ctx, e, args)
	case "version":
		fmt.Fprintln(e.stdout, "opsdeck", version)
	case "help", "-h", "--help":
		fmt.Fprint(e.stdout, usage)
	default:
		err = usagef("unknown command %q", cmd)
	}
	return exitCode(e, err)
}

// valueFlags take a separate value ("--config FILE"), so the word after
// them is not a command.
var valueFlags = map[string]bool{"config": true, "region": true, "mfa-code": true, "account": true, "first-frame": true, "select": true, "role": true, "file": true, "regions": true, "status": true, "name": true, "concurrency": true, "interval": true, "to": true, "rds": true, "via": true, "local": true, "reason": true, "vault": true, "iam-role": true, "to-region": true, "to-account": true, "kms-key": true, "new-id": true, "subnet-group": true, "security-groups": true, "az": true, "targets": true, "instances": true, "max-concurrency": true, "max-errors": true, "reboot": true, "confirm-account": true, "since": true, "from": true}

// splitCommand finds the command word, which may follow global flags
// ("opsdeck --config x.toml accounts").
func splitCommand(args []string) (string, []string) {
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			break
		}
		if len(a) > 1 && a[0] == '-' {
			name := strings.TrimLeft(a, "-")
			if !strings.Contains(name, "=") && valueFlags[name] {
				i++
			}
			continue
		}
		rest := append(append([]string{}, args[:i]...), args[i+1:]...)
		return a, rest
	}
	return "", args
}
