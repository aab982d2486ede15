package backup

import (
	"context"
	"fmt"
	"sort"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/rds"
)

// CopiesOf prefixes the resource name of recovery points whose source
// lives elsewhere (cross-region copies, or a deleted resource).
const CopiesOf = "copies of "

// Copies is the kind of such a group: it can be copied and restored from,
// but not snapshotted.
const Copies Kind = "copies"

// Point is one recovery point of a resource.
type Point struct {
	ID      string    `json:"id"`
	Kind    string    `json:"kind"` // ebs-snapshot, rds-snapshot
	Created time.Time `json:"created"`
	State   string    `json:"state"`
}

// Resource is a resource and its recovery points, newest first.
type Resource struct {
	ID     string        `json:"resource"`
	Kind   Kind          `json:"kind"`
	Points []Point       `json:"points"`
	Newest time.Time     `json:"newest,omitempty"`
	Age    time.Duration `json:"age_seconds"`
	// Stale: the newest point is older than the RPO (or there is none).
	Stale bool `json:"stale"`
}

// List gathers EBS and RDS snapshots per volume and DB instance, including
// resources that have none (always stale when an RPO is set).
func List(ctx context.Context, c Clients, now time.Time, rpo time.Duration, only string) ([]Resource, error) {
	by := map[string]*Resource{}
	get := func(id string, k Kind) *Resource {
		r, ok := by[id]
		if !ok {
			r = &Resource{ID: id, Kind: k}
			by[id] = r
		}
		return r
	}
	// Copies carry the source's volume or DB id, which does not live in
	// this region: they are listed as "copies of X", not as X.
	local := map[string]bool{}
	vp := ec2.NewDescribeVolumesPaginator(c.EC2, &ec2.DescribeVolumesInput{})
	for vp.HasMorePages() {
		page, err := vp.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("volumes: %w", err)
		}
		for _, v := range page.Volumes {
			id := aws.ToString(v.VolumeId)
			local[id] = true
			get(id, EBSVolume)
		}
	}
	sp := ec2.NewDescribeSnapshotsPaginator(c.EC2, &ec2.DescribeSnapshotsInput{OwnerIds: []string{"self"}})
	for sp.HasMorePages() {
		page, err := sp.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("snapshots: %w", err)
		}
		for _, s := range page.Snapshots {
			vol := aws.ToString(s.VolumeId)
			kind := EBSVolume
			if !local[vol] {
				vol, kind = CopiesOf+vol, Copies
			}
			r := get(vol, kind)
			r.Points = append(r.Points, Point{ID: aws.ToString(s.SnapshotId), Kind: string(EBSSnapshot), Created: aws.ToTime(s.StartTime), State: string(s.State)})
		}
	}
	dp := rds.NewDescribeDBInstancesPaginator(c.RDS, &rds.DescribeDBInstancesInput{})
	for dp.HasMorePages() {
		page, err := dp.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("databases: %w", err)
		}
		for _, d := range page.DBInstances {
			id := aws.ToString(d.DBInstanceIdentifier)
			local[id] = true
			get(id, RDSInstance)
		}
	}
	rp := rds.NewDescribeDBSnapshotsPaginator(c.RDS, &rds.DescribeDBSnapshotsInput{})
	for rp.HasMorePages() {
		page, err := rp.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("db snapshots: %w", err)
		}
		for _, s := range page.DBSnapshots {
			db, kind := aws.ToString(s.DBInstanceIdentifier), RDSInstance
			if !local[db] {
				db, kind = CopiesOf+db, Copies
			}
			r := get(db, kind)
			r.Points = append(r.Points, Point{ID: aws.ToString(s.DBSnapshotIdentifier), Kind: string(RDSSnapshot), Created: aws.ToTime(s.SnapshotCreateTime), State: aws.ToString(s.Status)})
		}
	}
	out := make([]Resource, 0, len(by))
	for _, r := range by {
		if only != "" && r.ID != only {
			continue
		}
		if r.Points == nil {
			r.Points = []Point{} // JSON [] for "none", not null
		}
		sort.Slice(r.Points, func(i, j int) bool { return r.Points[i].Created.After(r.Points[j].Created) })
		if len(r.Points) > 0 {
			r.Newest = r.Points[0].Created
			r.Age = now.Sub(r.Newest)
			r.Stale = rpo > 0 && r.Age > rpo
		} else {
			r.Stale = rpo > 0
		}
		out = append(out, *r)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	if only != "" && len(out) == 0 {
		return nil, fmt.Errorf("no resource %s here", only)
	}
	return out, nil
}
