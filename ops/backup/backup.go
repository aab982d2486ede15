// Package backup takes, copies, lists and restores backups: EBS snapshots,
// AMIs of instances (no reboot), RDS snapshots, and AWS Backup on-demand
// jobs. Every creating call is idempotent when retried: the plan's token
// is a tag (EC2), part of the identifier (RDS) or the IdempotencyToken
// (AWS Backup), and an existing result is returned instead of a second
// copy.
package backup

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/aws-sdk-go-v2/service/rds"
	rdstypes "github.com/aws/aws-sdk-go-v2/service/rds/types"

	"github.com/opsdeck/opsdeck/ops/awsx"
	"github.com/opsdeck/opsdeck/ops/plan"
)

// EC2API is what backups need from EC2; *ec2.Client satisfies it.
type EC2API interface {
	ec2.DescribeSnapshotsAPIClient
	ec2.DescribeVolumesAPIClient
	ec2.DescribeImagesAPIClient
	CreateSnapshot(ctx context.Context, in *ec2.CreateSnapshotInput, o ...func(*ec2.Options)) (*ec2.CreateSnapshotOutput, error)
	CreateImage(ctx context.Context, in *ec2.CreateImageInput, o ...func(*ec2.Options)) (*ec2.CreateImageOutput, error)
	CopySnapshot(ctx context.Context, in *ec2.CopySnapshotInput, o ...func(*ec2.Options)) (*ec2.CopySnapshotOutput, error)
	CreateVolume(ctx context.Context, in *ec2.CreateVolumeInput, o ...func(*ec2.Options)) (*ec2.CreateVolumeOutput, error)
	ModifySnapshotAttribute(ctx context.Context, in *ec2.ModifySnapshotAttributeInput, o ...func(*ec2.Options)) (*ec2.ModifySnapshotAttributeOutput, error)
}

// RDSAPI is what backups need from RDS; *rds.Client satisfies it.
type RDSAPI interface {
	rds.DescribeDBSnapshotsAPIClient
	rds.DescribeDBInstancesAPIClient
	CreateDBSnapshot(ctx context.Context, in *rds.CreateDBSnapshotInput, o ...func(*rds.Options)) (*rds.CreateDBSnapshotOutput, error)
	CopyDBSnapshot(ctx context.Context, in *rds.CopyDBSnapshotInput, o ...func(*rds.Options)) (*rds.CopyDBSnapshotOutput, error)
	RestoreDBInstanceFromDBSnapshot(ctx context.Context, in *rds.RestoreDBInstanceFromDBSnapshotInput, o ...func(*rds.Options)) (*rds.RestoreDBInstanceFromDBSnapshotOutput, error)
	ModifyDBSnapshotAttribute(ctx context.Context, in *rds.ModifyDBSnapshotAttributeInput, o ...func(*rds.Options)) (*rds.ModifyDBSnapshotAttributeOutput, error)
}

var (
	_ EC2API = (*ec2.Client)(nil)
	_ RDSAPI = (*rds.Client)(nil)
)

// Kind of a resource named on the command line.
type Kind string

const (
	EBSVolume   Kind = "ebs-volume"
	EC2Instance Kind = "ec2-instance"
	EBSSnapshot Kind = "ebs-snapshot"
	RDSInstance Kind = "rds-instance"
	RDSSnapshot Kind = "rds-snapshot"
)

// KindOf tells what a resource id names; ids without an EC2 prefix are
// RDS identifiers (db for snapshot, snapshot for copy and restore).
func KindOf(id string, rdsKind Kind) Kind {
	switch {
	case strings.HasPrefix(id, "vol-"):
		return EBSVolume
	case strings.HasPrefix(id, "i-"):
		return EC2Instance
	case strings.HasPrefix(id, "snap-"):
		return EBSSnapshot
	case strings.HasPrefix(id, "arn:aws:rds:"):
		if strings.Contains(id, ":snapshot:") {
			return RDSSnapshot
		}
		return RDSInstance
	}
	return rdsKind
}

// TagPlan is the tag that makes EC2 creations idempotent.
const TagPlan = "opsdeck:plan"

// Clients are the APIs for one account and region.
type Clients struct {
	EC2 EC2API
	RDS RDSAPI
}

// Options for the waits.
type Options struct {
	// Poll between status checks (default 5s).
	Poll time.Duration
	// Progress is told each state seen while waiting.
	Progress func(string)
}

func (o Options) poll() time.Duration {
	if o.Poll == 0 {
		return 5 * time.Second
	}
	return o.Poll
}

func (o Options) progress(s string) {
	if o.Progress != nil {
		o.Progress(s)
	}
}

// tags records who, when and why on everything opsdeck creates.
func tags(p plan.Plan, name string) []ec2types.Tag {
	kv := map[string]string{"Name": name, "opsdeck:by": p.Params["operator"], "opsdeck:at": p.Params["at"],
		"opsdeck:reason": p.Params["reason"], "opsdeck:account": p.Account.Name, TagPlan: p.Token()}
	out := make([]ec2types.Tag, 0, len(kv))
	for k, v := range kv {
		if v != "" {
			out = append(out, ec2types.Tag{Key: aws.String(k), Value: aws.String(v)})
		}
	}
	sort.Slice(out, func(i, j int) bool { return *out[i].Key < *out[j].Key })
	return out
}

func rdsTags(p plan.Plan) []rdstypes.Tag {
	var out []rdstypes.Tag
	for _, t := range tags(p, "") {
		out = append(out, rdstypes.Tag{Key: t.Key, Value: t.Value})
	}
	return out
}

// rdsID builds a valid RDS identifier (letters, digits, hyphens; starts
// with a letter; max 63) ending in the plan's token, so a retry finds it.
func rdsID(base, suffix string, p plan.Plan) string {
	b := strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-' {
			return r
		}
		if r >= 'A' && r <= 'Z' {
			return r + 32
		}
		return '-'
	}, base)
	tail := "-" + suffix + "-" + p.Hash()[:8]
	if len(b)+len(tail) > 63 {
		b = b[:63-len(tail)]
	}
	return strings.Trim(b+tail, "-")
}

// Snapshot backs up a resource: EBS volume → snapshot; EC2 instance →
// AMI without reboot (all volumes); RDS instance → DB snapshot.
func Snapshot(ctx context.Context, c Clients, p plan.Plan, resource string, res *plan.Result, o Options) error {
	switch KindOf(resource, RDSInstance) {
	case EBSVolume:
		if id, err := findSnapshotByPlan(ctx, c.EC2, p); err != nil || id != "" {
			if id != "" {
				res.Set("snapshot_id", id)
				o.progress("already taken by an earlier attempt: " + id)
			}
			return err
		}
		out, err := c.EC2.CreateSnapshot(ctx, &ec2.CreateSnapshotInput{VolumeId: aws.String(resource),
			Description: aws.String(describe(p)),
			TagSpecifications: []ec2types.TagSpecification{{ResourceType: ec2types.ResourceTypeSnapshot,
				Tags: tags(p, resource+"-opsdeck-"+p.Params["at"])}}})
		if err != nil {
			return fmt.Errorf("snapshot %s: %w", resource, err)
		}
		res.Add(out.ResultMetadata)
		id := aws.ToString(out.SnapshotId)
		res.Set("snapshot_id", id)
		return waitSnapshot(ctx, c.EC2, id, o)
	case EC2Instance:
		if id, err := findImageByPlan(ctx, c.EC2, p); err != nil || id != "" {
			if id != "" {
				res.Set("image_id", id)
			}
			return err
		}
		out, err := c.EC2.CreateImage(ctx, &ec2.CreateImageInput{InstanceId: aws.String(resource), NoReboot: aws.Bool(true),
			Name:              aws.String(resource + "-opsdeck-" + strings.NewReplacer(":", "", "T", "-").Replace(p.Params["at"]) + "-" + p.Hash()[:6]),
			Description:       aws.String(describe(p)),
			TagSpecifications: []ec2types.TagSpecification{{ResourceType: ec2types.ResourceTypeImage, Tags: tags(p, resource+" backup")}}})
		if err != nil {
			return fmt.Errorf("image of %s: %w", resource, err)
		}
		res.Add(out.ResultMetadata)
		res.Set("image_id", aws.ToString(out.ImageId))
		return nil
	case RDSInstance:
		id := rdsID(resource, "opsdeck", p)
		if st, err := dbSnapshotStatus(ctx, c.RDS, id); err != nil || st != "" {
			if st != "" {
				res.Set("db_snapshot_id", id)
			}
			return err
		}
		out, err := c.RDS.CreateDBSnapshot(ctx, &rds.CreateDBSnapshotInput{DBInstanceIdentifier: aws.String(resource),
			DBSnapshotIdentifier: aws.String(id), Tags: rdsTags(p)})
		if err != nil {
			return fmt.Errorf("snapshot of database %s: %w", resource, err)
		}
		res.Add(out.ResultMetadata)
		res.Set("db_snapshot_id", id)
		return waitDBSnapshot(ctx, c.RDS, id, o)
	}
	return fmt.Errorf("%s: snapshot takes a volume (vol-…), an instance (i-…) or an RDS instance identifier", resource)
}

func describe(p plan.Plan) string {
	s := "opsdeck " + p.Action + " by " + p.Params["operator"] + " at " + p.Params["at"]
	if r := p.Params["reason"]; r != "" {
		s += ": " + r
	}
	return s
}

func findSnapshotByPlan(ctx context.Context, api EC2API, p plan.Plan) (string, error) {
	out, err := api.DescribeSnapshots(ctx, &ec2.DescribeSnapshotsInput{OwnerIds: []string{"self"},
		Filters: []ec2types.Filter{{Name: aws.String("tag:" + TagPlan), Values: []string{p.Token()}}}})
	if err != nil {
		return "", fmt.Errorf("look for an earlier attempt: %w", err)
	}
	if len(out.Snapshots) > 0 {
		return aws.ToString(out.Snapshots[0].SnapshotId), nil
	}
	return "", nil
}

func findImageByPlan(ctx context.Context, api EC2API, p plan.Plan) (string, error) {
	out, err := api.DescribeImages(ctx, &ec2.DescribeImagesInput{Owners: []string{"self"},
		Filters: []ec2types.Filter{{Name: aws.String("tag:" + TagPlan), Values: []string{p.Token()}}}})
	if err != nil {
		return "", fmt.Errorf("look for an earlier attempt: %w", err)
	}
	if len(out.Images) > 0 {
		return aws.ToString(out.Images[0].ImageId), nil
	}
	return "", nil
}

func dbSnapshotStatus(ctx context.Context, api RDSAPI, id string) (string, error) {
	out, err := api.DescribeDBSnapshots(ctx, &rds.DescribeDBSnapshotsInput{DBSnapshotIdentifier: aws.String(id)})
	if err != nil {
		if strings.Contains(err.Error(), "DBSnapshotNotFound") {
			return "", nil
		}
		return "", fmt.Errorf("db snapshot %s: %w", id, err)
	}
	if len(out.DBSnapshots) == 0 {
		return "", nil
	}
	return aws.ToString(out.DBSnapshots[0].Status), nil
}

func waitSnapshot(ctx context.Context, api EC2API, id string, o Options) error {
	for {
		out, err := api.DescribeSnapshots(ctx, &ec2.DescribeSnapshotsInput{SnapshotIds: []string{id}})
		if err != nil {
			return fmt.Errorf("snapshot %s: %w", id, err)
		}
		if len(out.Snapshots) == 1 {
			s := out.Snapshots[0]
			o.progress(fmt.Sprintf("%s %s %s", id, s.State, aws.ToString(s.Progress)))
			switch s.State {
			case ec2types.SnapshotStateCompleted:
				return nil
			case ec2types.SnapshotStateError:
				return fmt.Errorf("snapshot %s failed: %s", id, aws.ToString(s.StateMessage))
			}
		}
		if err := awsx.Sleep(ctx, o.poll()); err != nil {
			return err
		}
	}
}

func waitDBSnapshot(ctx context.Context, api RDSAPI, id string, o Options) error {
	for {
		st, err := dbSnapshotStatus(ctx, api, id)
		if err != nil {
			return err
		}
		o.progress(id + " " + st)
		switch st {
		case "available":
			return nil
		case "failed", "error":
			return fmt.Errorf("db snapshot %s: %s", id, st)
		}
		if err := awsx.Sleep(ctx, o.poll()); err != nil {
			return err
		}
	}
}

// ErrNeedKMSKey: an encrypted source needs a key in the destination.
var ErrNeedKMSKey = errors.New("the source is encrypted: pass --kms-key with a KMS key in the destination region")

// Copy copies an EBS or RDS snapshot from src into dst (another region of
// the same account).
func Copy(ctx context.Context, src, dst Clients, p plan.Plan, snapshot, srcRegion, kmsKey string, res *plan.Result, o Options) error {
	switch KindOf(snapshot, RDSSnapshot) {
	case EBSSnapshot:
		out, err := src.EC2.DescribeSnapshots(ctx, &ec2.DescribeSnapshotsInput{SnapshotIds: []string{snapshot}})
		if err != nil || len(out.Snapshots) == 0 {
			return fmt.Errorf("source snapshot %s in %s: %v", snapshot, srcRegion, awsx.OrNotFound(err))
		}
		if aws.ToBool(out.Snapshots[0].Encrypted) && kmsKey == "" {
			return ErrNeedKMSKey
		}
		if id, err := findSnapshotByPlan(ctx, dst.EC2, p); err != nil || id != "" {
			if id != "" {
				res.Set("snapshot_id", id)
			}
			return err
		}
		in := &ec2.CopySnapshotInput{SourceRegion: aws.String(srcRegion), SourceSnapshotId: aws.String(snapshot),
			Description:       aws.String(describe(p) + " (copy of " + snapshot + " from " + srcRegion + ")"),
			TagSpecifications: []ec2types.TagSpecification{{ResourceType: ec2types.ResourceTypeSnapshot, Tags: tags(p, snapshot+"-copy")}}}
		if kmsKey != "" {
			in.Encrypted, in.KmsKeyId = aws.Bool(true), aws.String(kmsKey)
		}
		cp, err := dst.EC2.CopySnapshot(ctx, in)
		if err != nil {
			return fmt.Errorf("copy %s to %s: %w", snapshot, p.Params["to_region"], err)
		}
		res.Add(cp.ResultMetadata)
		id := aws.ToString(cp.SnapshotId)
		res.Set("snapshot_id", id)
		return waitSnapshot(ctx, dst.EC2, id, o)
	case RDSSnapshot:
		out, err := src.RDS.DescribeDBSnapshots(ctx, &rds.DescribeDBSnapshotsInput{DBSnapshotIdentifier: aws.String(snapshot)})
		if err != nil || len(out.DBSnapshots) == 0 {
			return fmt.Errorf("source db snapshot %s in %s: %v", snapshot, srcRegion, awsx.OrNotFound(err))
		}
		s := out.DBSnapshots[0]
		if aws.ToBool(s.Encrypted) && kmsKey == "" {
			return ErrNeedKMSKey
		}
		id := rdsID(strings.TrimPrefix(snapshot, "rds:"), "copy", p)
		if st, err := dbSnapshotStatus(ctx, dst.RDS, id); err != nil || st != "" {
			if st != "" {
				res.Set("db_snapshot_id", id)
			}
			return err
		}
		in := &rds.CopyDBSnapshotInput{SourceDBSnapshotIdentifier: s.DBSnapshotArn, TargetDBSnapshotIdentifier: aws.String(id),
			SourceRegion: aws.String(srcRegion), Tags: rdsTags(p), CopyTags: aws.Bool(true)}
		if kmsKey != "" {
			in.KmsKeyId = aws.String(kmsKey)
		}
		cp, err := dst.RDS.CopyDBSnapshot(ctx, in)
		if err != nil {
			return fmt.Errorf("copy db snapshot %s to %s: %w", snapshot, p.Params["to_region"], err)
		}
		res.Add(cp.ResultMetadata)
		res.Set("db_snapshot_id", id)
		return waitDBSnapshot(ctx, dst.RDS, id, o)
	}
	return fmt.Errorf("%s: copy takes an EBS snapshot (snap-…) or an RDS snapshot identifier", snapshot)
}

// Share lets another account copy a snapshot: EBS createVolumePermission
// or the RDS "restore" attribute. It is the first half of a cross-account
// copy; the second is Copy run as the destination account, with the
// source's ARN. Sharing an already shared snapshot is a no-op in AWS.
// (Encrypted sources also need the KMS key shared with the destination:
// opsdeck does not change key policies.)
func Share(ctx context.Context, c Clients, snapshot, account string, res *plan.Result) error {
	switch KindOf(snapshot, RDSSnapshot) {
	case EBSSnapshot:
		out, err := c.EC2.ModifySnapshotAttribute(ctx, &ec2.ModifySnapshotAttributeInput{SnapshotId: aws.String(snapshot),
			Attribute: ec2types.SnapshotAttributeNameCreateVolumePermission, OperationType: ec2types.OperationTypeAdd, UserIds: []string{account}})
		if err != nil {
			return fmt.Errorf("share %s with %s: %w", snapshot, account, err)
		}
		res.Add(out.ResultMetadata)
	case RDSSnapshot:
		out, err := c.RDS.ModifyDBSnapshotAttribute(ctx, &rds.ModifyDBSnapshotAttributeInput{DBSnapshotIdentifier: aws.String(snapshot),
			AttributeName: aws.String("restore"), ValuesToAdd: []string{account}})
		if err != nil {
			return fmt.Errorf("share %s with %s: %w", snapshot, account, err)
		}
		res.Add(out.ResultMetadata)
	default:
		return fmt.Errorf("%s: share takes an EBS or RDS snapshot", snapshot)
	}
	res.Set("shared_with", account)
	return nil
}

// SourceARN is what the destination account names a shared snapshot by.
func SourceARN(snapshot, region, account string) string {
	if KindOf(snapshot, RDSSnapshot) == RDSSnapshot && !strings.HasPrefix(snapshot, "arn:") {
		return fmt.Sprintf("arn:aws:rds:%s:%s:snapshot:%s", region, account, snapshot)
	}
	return snapshot
}

// RestoreOptions shape a restore.
type RestoreOptions struct {
	// NewID is the new DB instance identifier (RDS).
	NewID string
	// SubnetGroup and SecurityGroups override the source instance's.
	SubnetGroup    string
	SecurityGroups []string
	// AZ for an EBS volume (default: the region's "a" zone).
	AZ string
}

// Restore creates an RDS instance or an EBS volume from a snapshot.
func Restore(ctx context.Context, c Clients, p plan.Plan, snapshot string, ro RestoreOptions, res *plan.Result, o Options) error {
	switch KindOf(snapshot, RDSSnapshot) {
	case EBSSnapshot:
		found, err := c.EC2.DescribeVolumes(ctx, &ec2.DescribeVolumesInput{Filters: []ec2types.Filter{{Name: aws.String("tag:" + TagPlan), Values: []string{p.Token()}}}})
		if err != nil {
			return fmt.Errorf("look for an earlier attempt: %w", err)
		}
		if len(found.Volumes) > 0 {
			res.Set("volume_id", aws.ToString(found.Volumes[0].VolumeId))
			return nil
		}
		az := ro.AZ
		if az == "" {
			az = p.Region + "a"
		}
		out, err := c.EC2.CreateVolume(ctx, &ec2.CreateVolumeInput{SnapshotId: aws.String(snapshot), AvailabilityZone: aws.String(az),
			TagSpecifications: []ec2types.TagSpecification{{ResourceType: ec2types.ResourceTypeVolume, Tags: tags(p, "restore of "+snapshot)}}})
		if err != nil {
			return fmt.Errorf("volume from %s: %w", snapshot, err)
		}
		res.Add(out.ResultMetadata)
		res.Set("volume_id", aws.ToString(out.VolumeId))
		return nil
	case RDSSnapshot:
		if ro.NewID == "" {
			return errors.New("restore of an RDS snapshot needs --new-id for the new instance")
		}
		if db, err := describeDB(ctx, c.RDS, ro.NewID); err != nil {
			return err
		} else if db != nil {
			res.Set("db_instance", ro.NewID)
			res.Set("endpoint", endpoint(db))
			o.progress(ro.NewID + " exists already (an earlier attempt): " + aws.ToString(db.DBInstanceStatus))
			return nil
		}
		snaps, err := c.RDS.DescribeDBSnapshots(ctx, &rds.DescribeDBSnapshotsInput{DBSnapshotIdentifier: aws.String(snapshot)})
		if err != nil || len(snaps.DBSnapshots) == 0 {
			return fmt.Errorf("db snapshot %s: %v", snapshot, awsx.OrNotFound(err))
		}
		in := &rds.RestoreDBInstanceFromDBSnapshotInput{DBInstanceIdentifier: aws.String(ro.NewID), DBSnapshotIdentifier: aws.String(snapshot),
			Tags: rdsTags(p)}
		// Subnet group and security groups from the source unless given.
		if src, err := describeDB(ctx, c.RDS, aws.ToString(snaps.DBSnapshots[0].DBInstanceIdentifier)); err == nil && src != nil {
			if ro.SubnetGroup == "" && src.DBSubnetGroup != nil {
				ro.SubnetGroup = aws.ToString(src.DBSubnetGroup.DBSubnetGroupName)
			}
			if len(ro.SecurityGroups) == 0 {
				for _, g := range src.VpcSecurityGroups {
					ro.SecurityGroups = append(ro.SecurityGroups, aws.ToString(g.VpcSecurityGroupId))
				}
			}
		}
		if ro.SubnetGroup != "" {
			in.DBSubnetGroupName = aws.String(ro.SubnetGroup)
		}
		in.VpcSecurityGroupIds = ro.SecurityGroups
		out, err := c.RDS.RestoreDBInstanceFromDBSnapshot(ctx, in)
		if err != nil {
			return fmt.Errorf("restore %s as %s: %w", snapshot, ro.NewID, err)
		}
		res.Add(out.ResultMetadata)
		res.Set("db_instance", ro.NewID)
		for {
			db, err := describeDB(ctx, c.RDS, ro.NewID)
			if err != nil {
				return err
			}
			if db != nil {
				st := aws.ToString(db.DBInstanceStatus)
				o.progress(ro.NewID + " " + st)
				if st == "available" {
					res.Set("endpoint", endpoint(db))
					return nil
				}
				if st == "failed" || st == "incompatible-restore" {
					return fmt.Errorf("restore %s: %s", ro.NewID, st)
				}
			}
			if err := awsx.Sleep(ctx, o.poll()); err != nil {
				return err
			}
		}
	}
	return fmt.Errorf("%s: restore takes an EBS snapshot (snap-…) or an RDS snapshot identifier", snapshot)
}

func endpoint(db *rdstypes.DBInstance) string {
	if db.Endpoint == nil {
		return ""
	}
	return fmt.Sprintf("%s:%d", aws.ToString(db.Endpoint.Address), aws.ToInt32(db.Endpoint.Port))
}

func describeDB(ctx context.Context, api RDSAPI, id string) (*rdstypes.DBInstance, error) {
	out, err := api.DescribeDBInstances(ctx, &rds.DescribeDBInstancesInput{DBInstanceIdentifier: aws.String(id)})
	if err != nil {
		if strings.Contains(err.Error(), "DBInstanceNotFound") {
			return nil, nil
		}
		return nil, fmt.Errorf("database %s: %w", id, err)
	}
	if len(out.DBInstances) == 0 {
		return nil, nil
	}
	return &out.DBInstances[0], nil
}
