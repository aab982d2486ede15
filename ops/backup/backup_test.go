package backup

import (
	"context"
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	bk "github.com/aws/aws-sdk-go-v2/service/backup"
	bktypes "github.com/aws/aws-sdk-go-v2/service/backup/types"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/aws-sdk-go-v2/service/rds"

	"github.com/opsdeck/opsdeck/ops/emulator"
	"github.com/opsdeck/opsdeck/ops/plan"
)

var moto *emulator.Server

func TestMain(m *testing.M) { os.Exit(emulator.RunTests(m, &moto)) }

func seeded(t *testing.T) *emulator.Demo { return moto.SharedDemo(t) }

func clients(t *testing.T, d *emulator.Demo, acct, region string) Clients {
	t.Helper()
	c, _, err := d.Broker.Config(context.Background(), d.Config.Account(acct), "read", region)
	if err != nil {
		t.Fatal(err)
	}
	return Clients{EC2: ec2.NewFromConfig(c), RDS: rds.NewFromConfig(c)}
}

func testPlan(d *emulator.Demo, action, acct, region, resource string) plan.Plan {
	return plan.Plan{Action: action, Account: d.Config.Account(acct), Region: region, Targets: []string{resource},
		Params: map[string]string{"operator": "ops-test", "at": "2026-11-22T09:00Z", "reason": "test " + action, "resource": resource}}
}

var fast = Options{Poll: time.Millisecond}

func TestEBSSnapshotCopyRestoreAcrossRegions(t *testing.T) {
	d := seeded(t)
	ctx := context.Background()
	acct := "globex-qa"
	vol := d.Seeded.Accounts[acct].Volume
	north, west := clients(t, d, acct, "eu-north-1"), clients(t, d, acct, "eu-west-1")

	p := testPlan(d, "backup.snapshot", acct, "eu-north-1", vol)
	res := &plan.Result{}
	if err := Snapshot(ctx, north, p, vol, res, fast); err != nil {
		t.Fatal(err)
	}
	snap := res.Results["snapshot_id"]
	out, err := north.EC2.DescribeSnapshots(ctx, &ec2.DescribeSnapshotsInput{SnapshotIds: []string{snap}})
	if err != nil || len(out.Snapshots) != 1 || aws.ToString(out.Snapshots[0].VolumeId) != vol {
		t.Fatalf("snapshot %s: %v", snap, err)
	}
	tagged := map[string]string{}
	for _, tg := range out.Snapshots[0].Tags {
		tagged[aws.ToString(tg.Key)] = aws.ToString(tg.Value)
	}
	if tagged["opsdeck:by"] != "ops-test" || tagged["opsdeck:reason"] != "test backup.snapshot" || tagged[TagPlan] != p.Token() {
		t.Errorf("tags = %v", tagged)
	}
	// A retry of the same plan returns the same snapshot: idempotent.
	again := &plan.Result{}
	if err := Snapshot(ctx, north, p, vol, again, fast); err != nil || again.Results["snapshot_id"] != snap {
		t.Fatalf("retry made %v (err %v), want %s", again.Results, err, snap)
	}

	cp := testPlan(d, "backup.copy", acct, "eu-north-1", snap)
	cp.Params["to_region"] = "eu-west-1"
	cres := &plan.Result{}
	if err := Copy(ctx, north, west, cp, snap, "eu-north-1", "", cres, fast); err != nil {
		t.Fatal(err)
	}
	copied := cres.Results["snapshot_id"]
	if _, err := west.EC2.DescribeSnapshots(ctx, &ec2.DescribeSnapshotsInput{SnapshotIds: []string{copied}}); err != nil {
		t.Fatalf("copy %s not in eu-west-1: %v", copied, err)
	}
	if err := Copy(ctx, north, west, cp, snap, "eu-north-1", "", &plan.Result{}, fast); err != nil {
		t.Fatal(err)
	}
	n, _ := west.EC2.DescribeSnapshots(ctx, &ec2.DescribeSnapshotsInput{OwnerIds: []string{"self"}})
	copies := 0
	for _, s := range n.Snapshots {
		if strings.Contains(aws.ToString(s.Description), "copy of "+snap) {
			copies++
		}
	}
	if copies != 1 {
		t.Fatalf("%d copies after a retry, want 1", copies)
	}

	// In the destination the copy is listed as "copies of <vol>", never as
	// a volume of that region.
	wl, err := List(ctx, west, time.Now(), 0, "")
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, r := range wl {
		if r.ID == vol {
			t.Fatalf("%s listed as a volume of eu-west-1", vol)
		}
		if r.ID == CopiesOf+vol && r.Kind == Copies && len(r.Points) == 1 {
			found = true
		}
	}
	if !found {
		t.Fatalf("copy not listed as copies of %s: %+v", vol, wl)
	}

	rp := testPlan(d, "backup.restore", acct, "eu-west-1", copied)
	rres := &plan.Result{}
	if err := Restore(ctx, west, rp, copied, RestoreOptions{}, rres, fast); err != nil {
		t.Fatal(err)
	}
	v, err := west.EC2.DescribeVolumes(ctx, &ec2.DescribeVolumesInput{VolumeIds: []string{rres.Results["volume_id"]}})
	if err != nil || len(v.Volumes) != 1 || aws.ToString(v.Volumes[0].SnapshotId) != copied || aws.ToString(v.Volumes[0].AvailabilityZone) != "eu-west-1a" {
		t.Fatalf("restored volume: %+v %v", v, err)
	}
}

func TestRDSSnapshotCopyRestoreAcrossRegions(t *testing.T) {
	d := seeded(t)
	ctx := context.Background()
	acct := "initech-prod"
	db := d.Seeded.Accounts[acct].DBInstance
	north, west := clients(t, d, acct, "eu-north-1"), clients(t, d, acct, "eu-west-1")

	p := testPlan(d, "backup.snapshot", acct, "eu-north-1", db)
	res := &plan.Result{}
	if err := Snapshot(ctx, north, p, db, res, fast); err != nil {
		t.Fatal(err)
	}
	sid := res.Results["db_snapshot_id"]
	if !strings.HasPrefix(sid, db+"-opsdeck-") {
		t.Fatalf("snapshot id %s", sid)
	}
	if err := Snapshot(ctx, north, p, db, &plan.Result{}, fast); err != nil {
		t.Fatalf("retry: %v", err)
	}
	cp := testPlan(d, "backup.copy", acct, "eu-north-1", sid)
	cp.Params["to_region"] = "eu-west-1"
	cres := &plan.Result{}
	if err := Copy(ctx, north, west, cp, sid, "eu-north-1", "", cres, fast); err != nil {
		t.Fatal(err)
	}
	copied := cres.Results["db_snapshot_id"]
	rp := testPlan(d, "backup.restore", acct, "eu-west-1", copied)
	rres := &plan.Result{}
	if err := Restore(ctx, west, rp, copied, RestoreOptions{NewID: "initech-prod-db-dr"}, rres, fast); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(rres.Results["endpoint"], "initech-prod-db-dr") || !strings.Contains(rres.Results["endpoint"], "eu-west-1") {
		t.Fatalf("endpoint = %q", rres.Results["endpoint"])
	}
	out, err := west.RDS.DescribeDBInstances(ctx, &rds.DescribeDBInstancesInput{DBInstanceIdentifier: aws.String("initech-prod-db-dr")})
	if err != nil || len(out.DBInstances) != 1 {
		t.Fatalf("restored instance: %v", err)
	}
	// The source's security groups came along.
	src, _ := north.RDS.DescribeDBInstances(ctx, &rds.DescribeDBInstancesInput{DBInstanceIdentifier: aws.String(db)})
	if len(src.DBInstances[0].VpcSecurityGroups) > 0 && len(out.DBInstances[0].VpcSecurityGroups) == 0 {
		t.Error("security groups not taken from the source")
	}
	// Retrying the restore finds the instance instead of failing.
	if err := Restore(ctx, west, rp, copied, RestoreOptions{NewID: "initech-prod-db-dr"}, &plan.Result{}, fast); err != nil {
		t.Fatalf("restore retry: %v", err)
	}
	// ls shows the restored side and flags resources past the RPO.
	list, err := List(ctx, north, time.Now().Add(48*time.Hour), 24*time.Hour, "")
	if err != nil {
		t.Fatal(err)
	}
	var dbRes *Resource
	for i := range list {
		if list[i].ID == db {
			dbRes = &list[i]
		}
	}
	if dbRes == nil || len(dbRes.Points) < 3 || !dbRes.Stale || dbRes.Points[0].Created.Before(dbRes.Points[len(dbRes.Points)-1].Created) {
		t.Fatalf("ls for %s: %+v", db, dbRes)
	}
}

func TestAMIOfInstance(t *testing.T) {
	d := seeded(t)
	ctx := context.Background()
	acct := "acme-qa"
	inst := d.Seeded.Accounts[acct].AppServers[0]
	c := clients(t, d, acct, "eu-north-1")
	p := testPlan(d, "backup.snapshot", acct, "eu-north-1", inst)
	res := &plan.Result{}
	if err := Snapshot(ctx, c, p, inst, res, fast); err != nil {
		t.Fatal(err)
	}
	img := res.Results["image_id"]
	again := &plan.Result{}
	if err := Snapshot(ctx, c, p, inst, again, fast); err != nil || again.Results["image_id"] != img {
		t.Fatalf("AMI retry: %v %v", again.Results, err)
	}
}

func TestEncryptedCopyNeedsKey(t *testing.T) {
	f := &fakeEC2{encrypted: true}
	err := Copy(context.Background(), Clients{EC2: f}, Clients{EC2: f}, plan.Plan{Params: map[string]string{}}, "snap-1", "eu-north-1", "", &plan.Result{}, fast)
	if !errors.Is(err, ErrNeedKMSKey) {
		t.Fatalf("err = %v", err)
	}
}

type fakeEC2 struct {
	EC2API
	encrypted bool
}

func (f *fakeEC2) DescribeSnapshots(context.Context, *ec2.DescribeSnapshotsInput, ...func(*ec2.Options)) (*ec2.DescribeSnapshotsOutput, error) {
	return &ec2.DescribeSnapshotsOutput{Snapshots: []ec2types.Snapshot{{SnapshotId: aws.String("snap-1"), Encrypted: aws.Bool(f.encrypted)}}}, nil
}

// fakeBackup stands in for AWS Backup jobs, which the emulator lacks: the
// job runs for two polls, and the same idempotency token returns the same
// job.
type fakeBackup struct {
	jobs  map[string]string // token -> job id
	polls int
}

func (f *fakeBackup) StartBackupJob(_ context.Context, in *bk.StartBackupJobInput, _ ...func(*bk.Options)) (*bk.StartBackupJobOutput, error) {
	if f.jobs == nil {
		f.jobs = map[string]string{}
	}
	id, ok := f.jobs[aws.ToString(in.IdempotencyToken)]
	if !ok {
		id = "job-" + aws.ToString(in.IdempotencyToken)[8:16]
		f.jobs[aws.ToString(in.IdempotencyToken)] = id
	}
	return &bk.StartBackupJobOutput{BackupJobId: aws.String(id)}, nil
}

func (f *fakeBackup) DescribeBackupJob(_ context.Context, in *bk.DescribeBackupJobInput, _ ...func(*bk.Options)) (*bk.DescribeBackupJobOutput, error) {
	f.polls++
	out := &bk.DescribeBackupJobOutput{BackupJobId: in.BackupJobId, State: bktypes.BackupJobStateRunning, PercentDone: aws.String("50")}
	if f.polls%3 == 0 {
		out.State, out.RecoveryPointArn = bktypes.BackupJobStateCompleted, aws.String("arn:aws:backup:eu-north-1:1:recovery-point:rp-1")
	}
	return out, nil
}

func TestAWSBackupJobWithFake(t *testing.T) {
	d := seeded(t)
	f := &fakeBackup{}
	p := testPlan(d, "backup.start", "acme-test", "eu-north-1", "arn:aws:rds:eu-north-1:210000000001:db:acme-test-db")
	var seen []string
	res := &plan.Result{}
	err := StartJob(context.Background(), f, p, p.Targets[0], "main", "arn:aws:iam::210000000001:role/backup", res,
		Options{Poll: time.Millisecond, Progress: func(s string) { seen = append(seen, s) }})
	if err != nil || res.Results["recovery_point_arn"] == "" || len(seen) < 3 {
		t.Fatalf("job: %v %v %v", res.Results, err, seen)
	}
	res2 := &plan.Result{}
	if err := StartJob(context.Background(), f, p, p.Targets[0], "main", "r", res2, fast); err != nil || res2.Results["backup_job_id"] != res.Results["backup_job_id"] || len(f.jobs) != 1 {
		t.Fatalf("retry started another job: %v %v", res2.Results, f.jobs)
	}
}

func TestKindOf(t *testing.T) {
	for give, want := range map[string]Kind{"vol-1": EBSVolume, "i-1": EC2Instance, "snap-1": EBSSnapshot, "mydb": RDSInstance,
		"arn:aws:rds:eu-north-1:1:snapshot:s": RDSSnapshot, "arn:aws:rds:eu-north-1:1:db:d": RDSInstance} {
		if got := KindOf(give, RDSInstance); got != want {
			t.Errorf("KindOf(%s) = %s", give, got)
		}
	}
}

// shareFake records the cross-account calls the emulator cannot serve
// (it does not let another account see a shared snapshot).
type shareFake struct {
	EC2API
	RDSAPI
	shared []string
	copied []string
}

func (f *shareFake) ModifySnapshotAttribute(_ context.Context, in *ec2.ModifySnapshotAttributeInput, _ ...func(*ec2.Options)) (*ec2.ModifySnapshotAttributeOutput, error) {
	f.shared = append(f.shared, aws.ToString(in.SnapshotId)+"→"+in.UserIds[0]+":"+string(in.Attribute))
	return &ec2.ModifySnapshotAttributeOutput{}, nil
}

func (f *shareFake) ModifyDBSnapshotAttribute(_ context.Context, in *rds.ModifyDBSnapshotAttributeInput, _ ...func(*rds.Options)) (*rds.ModifyDBSnapshotAttributeOutput, error) {
	f.shared = append(f.shared, aws.ToString(in.DBSnapshotIdentifier)+"→"+in.ValuesToAdd[0]+":"+aws.ToString(in.AttributeName))
	return &rds.ModifyDBSnapshotAttributeOutput{}, nil
}

func TestShareForCrossAccountCopy(t *testing.T) {
	f := &shareFake{}
	c := Clients{EC2: f, RDS: f}
	res := &plan.Result{}
	if err := Share(context.Background(), c, "snap-1", "310000000002", res); err != nil {
		t.Fatal(err)
	}
	if err := Share(context.Background(), c, "db-snap", "310000000002", res); err != nil {
		t.Fatal(err)
	}
	if len(f.shared) != 2 || f.shared[0] != "snap-1→310000000002:createVolumePermission" || f.shared[1] != "db-snap→310000000002:restore" {
		t.Fatalf("shared = %v", f.shared)
	}
	if got := SourceARN("db-snap", "eu-north-1", "210000000003"); got != "arn:aws:rds:eu-north-1:210000000003:snapshot:db-snap" {
		t.Fatalf("SourceARN = %s", got)
	}
}
