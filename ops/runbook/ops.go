package runbook

import "sort"

// Kind is what a step does: checks read, actions change, waits poll until
// a state, manual steps ask the operator.
type Kind string

// Step kinds.
const (
	Check  Kind = "check"
	Action Kind = "action"
	Manual Kind = "manual"
	Wait   Kind = "wait"
)

// Op describes one operation of the registry: the kind of step that may
// use it, its inputs and the outputs later steps can reference. The
// runner binds each name to code; the format only needs the shape.
type Op struct {
	Kind     Kind
	Help     string
	Required []string
	Optional []string
	Outputs  []string
}

// Ops is the registry.
var Ops = map[string]Op{
	"backup.latest": {Kind: Check, Help: "newest recovery point of a resource (EBS volume, RDS instance, EC2 instance); fails when older than max_age (default: the runbook's RPO)",
		Required: []string{"resource"}, Optional: []string{"region", "max_age"}, Outputs: []string{"snapshot_id", "created_at", "age"}},
	"backup.copy": {Kind: Action, Help: "copy an EBS or RDS snapshot to another region",
		Required: []string{"snapshot", "to_region"}, Optional: []string{"region", "kms_key"}, Outputs: []string{"snapshot_id"}},
	"image.copy": {Kind: Action, Help: "copy an AMI to another region, with its lineage tags",
		Required: []string{"ami", "to_region"}, Optional: []string{"region"}, Outputs: []string{"ami"}},
	"image.current": {Kind: Check, Help: "the AMI on an image channel",
		Required: []string{"image"}, Optional: []string{"channel", "region"}, Outputs: []string{"ami"}},
	"image.promote": {Kind: Action, Help: "point an image channel at what another holds",
		Required: []string{"image", "from", "to"}, Optional: []string{"region"}, Outputs: []string{"ami"}},
	"rds.restore": {Kind: Action, Help: "restore an RDS instance from a snapshot",
		Required: []string{"snapshot", "instance"}, Optional: []string{"region", "subnet_group", "security_groups", "instance_class"}, Outputs: []string{"instance", "endpoint"}},
	"stack.deploy": {Kind: Action, Help: "create or update a stack through a change set (its changes are shown before it runs)",
		Required: []string{"stack", "template"}, Optional: []string{"region", "parameters"}, Outputs: []string{"stack_id", "outputs", "changes"}},
	"ssm.put_parameter": {Kind: Action, Help: "write an SSM parameter",
		Required: []string{"name", "value"}, Optional: []string{"region", "type"}, Outputs: []string{"version", "previous"}},
	"ssm.run_command": {Kind: Action, Help: "run shell commands on instances with a tag, with rate control",
		Required: []string{"tag", "commands"}, Optional: []string{"region", "max_concurrency", "max_errors"}, Outputs: []string{"command_id", "succeeded", "failed"}},
	"wait.stack": {Kind: Wait, Help: "wait for a stack to reach a state",
		Required: []string{"stack"}, Optional: []string{"region", "state", "timeout"}, Outputs: []string{"state"}},
	"wait.db": {Kind: Wait, Help: "wait for an RDS instance to reach a state",
		Required: []string{"instance"}, Optional: []string{"region", "state", "timeout"}, Outputs: []string{"state", "endpoint"}},
	"wait.snapshot": {Kind: Wait, Help: "wait for a snapshot (EBS or RDS) to complete",
		Required: []string{"snapshot"}, Optional: []string{"region", "timeout"}, Outputs: []string{"state"}},
	"rds.delete": {Kind: Action, Help: "delete an RDS instance (no final snapshot): a drill's cleanup",
		Required: []string{"instance"}, Optional: []string{"region"}, Outputs: []string{"deleted"}},
	"snapshot.delete": {Kind: Action, Help: "delete an EBS or RDS snapshot: a drill's cleanup",
		Required: []string{"snapshot"}, Optional: []string{"region"}, Outputs: []string{"deleted"}},
	"manual": {Kind: Manual, Help: "instructions the operator carries out and confirms",
		Required: []string{"instructions"}, Optional: []string{"evidence"}, Outputs: []string{"confirmed_by", "note"}},
}

// OpNames is the registry's names, sorted.
func OpNames() []string {
	out := make([]string, 0, len(Ops))
	for n := range Ops {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

func (o Op) takes(input string) bool {
	for _, n := range append(append([]string(nil), o.Required...), o.Optional...) {
		if n == input {
			return true
		}
	}
	return false
}

func (o Op) outputs(name string) bool {
	for _, n := range o.Outputs {
		if n == name {
			return true
		}
	}
	return false
}
