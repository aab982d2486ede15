package sessions

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
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	ssmtypes "github.com/aws/aws-sdk-go-v2/service/ssm/types"
	"github.com/aws/smithy-go"

	"github.com/opsdeck/opsdeck/profiles"
)

// EC2API is what discovery needs from EC2.
type EC2API interface {
	ec2.DescribeInstancesAPIClient
}

// RDSAPI is what database discovery needs from RDS.
type RDSAPI interface {
	rds.DescribeDBInstancesAPIClient
}

var (
	_ EC2API = (*ec2.Client)(nil)
	_ RDSAPI = (*rds.Client)(nil)
)

// Jumpbox is a tagged instance with its SSM status.
type Jumpbox struct {
	InstanceID   string    `json:"instance_id"`
	Name         string    `json:"name"`
	State        string    `json:"state"`
	PrivateIP    string    `json:"private_ip"`
	Ping         string    `json:"ping"` // Online, ConnectionLost, Inactive, unknown
	AgentVersion string    `json:"agent_version,omitempty"`
	Platform     string    `json:"platform,omitempty"`
	LastPing     time.Time `json:"last_ping,omitempty"`
}

// Online reports whether a session can be started now.
func (j Jumpbox) Online() bool { return j.Ping == "Online" }

// JumpboxTag returns the tag for an account: its own, else the estate's.
func JumpboxTag(cfg *profiles.Config, a *profiles.Account) (string, string) {
	tag := cfg.Jumpbox.Tag
	if a.Jumpbox != nil && a.Jumpbox.Tag != "" {
		tag = a.Jumpbox.Tag
	}
	k, v, _ := strings.Cut(tag, "=")
	return k, v
}

// ErrNoInstanceInfo: SSM's DescribeInstanceInformation was refused; the
// list comes from EC2 alone with status "unknown".
var ErrNoInstanceInfo = errors.New("SSM instance information unavailable (no permission, or an endpoint without it): status unknown")

// Jumpboxes lists running instances tagged key=value, joined with SSM's
// managed-instance information; online first. A refused SSM call yields
// the EC2 list with Ping "unknown" and ErrNoInstanceInfo as a warning.
func Jumpboxes(ctx context.Context, ec2c EC2API, ssmc SSMAPI, key, value string) ([]Jumpbox, error) {
	p := ec2.NewDescribeInstancesPaginator(ec2c, &ec2.DescribeInstancesInput{Filters: []ec2types.Filter{
		{Name: aws.String("tag:" + key), Values: []string{value}},
		{Name: aws.String("instance-state-name"), Values: []string{"running", "pending", "stopping", "stopped"}},
	}})
	var out []Jumpbox
	byID := map[string]int{}
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("find jumpboxes (tag %s=%s): %w", key, value, err)
		}
		for _, r := range page.Reservations {
			for _, in := range r.Instances {
				j := Jumpbox{InstanceID: aws.ToString(in.InstanceId), PrivateIP: aws.ToString(in.PrivateIpAddress), Ping: "unknown"}
				if in.State != nil {
					j.State = string(in.State.Name)
				}
				for _, t := range in.Tags {
					if aws.ToString(t.Key) == "Name" {
						j.Name = aws.ToString(t.Value)
					}
				}
				byID[j.InstanceID] = len(out)
				out = append(out, j)
			}
		}
	}
	var warn error
	if len(out) > 0 {
		ids := make([]string, 0, len(out))
		for _, j := range out {
			ids = append(ids, j.InstanceID)
		}
		sp := ssm.NewDescribeInstanceInformationPaginator(ssmc, &ssm.DescribeInstanceInformationInput{
			Filters: []ssmtypes.InstanceInformationStringFilter{{Key: aws.String("InstanceIds"), Values: ids}}})
		for sp.HasMorePages() {
			page, err := sp.NextPage(ctx)
			if err != nil {
				if refused(err) {
					warn = ErrNoInstanceInfo
					break
				}
				return nil, fmt.Errorf("SSM instance information: %w", err)
			}
			for _, info := range page.InstanceInformationList {
				i, ok := byID[aws.ToString(info.InstanceId)]
				if !ok {
					continue
				}
				out[i].Ping = string(info.PingStatus)
				out[i].AgentVersion = aws.ToString(info.AgentVersion)
				out[i].Platform = string(info.PlatformType)
				out[i].LastPing = aws.ToTime(info.LastPingDateTime)
			}
		}
	}
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].Online() != out[j].Online() {
			return out[i].Online()
		}
		return out[i].Name < out[j].Name
	})
	return out, warn
}

// refused: permission denied, or an endpoint that does not serve the call.
func refused(err error) bool {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		switch ae.ErrorCode() {
		case "AccessDeniedException", "AccessDenied", "UnauthorizedOperation":
			return true
		}
	}
	return profiles.NotAnAWSAnswer(err)
}

// Database is an RDS instance a port forward can reach.
type Database struct {
	ID       string `json:"id"`
	Engine   string `json:"engine"`
	Status   string `json:"status"`
	Endpoint string `json:"endpoint"`
	Port     int32  `json:"port"`
}

// Databases lists RDS instances.
func Databases(ctx context.Context, api RDSAPI) ([]Database, error) {
	p := rds.NewDescribeDBInstancesPaginator(api, &rds.DescribeDBInstancesInput{})
	var out []Database
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("list databases: %w", err)
		}
		for _, d := range page.DBInstances {
			db := Database{ID: aws.ToString(d.DBInstanceIdentifier), Engine: aws.ToString(d.Engine), Status: aws.ToString(d.DBInstanceStatus)}
			if d.Endpoint != nil {
				db.Endpoint, db.Port = aws.ToString(d.Endpoint.Address), aws.ToInt32(d.Endpoint.Port)
			}
			out = append(out, db)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out, nil
}

// FindDatabase resolves an RDS instance identifier to endpoint and port.
func FindDatabase(ctx context.Context, api RDSAPI, id string) (Database, error) {
	out, err := api.DescribeDBInstances(ctx, &rds.DescribeDBInstancesInput{DBInstanceIdentifier: aws.String(id)})
	if err != nil {
		return Database{}, fmt.Errorf("database %s: %w", id, err)
	}
	if len(out.DBInstances) == 0 || out.DBInstances[0].Endpoint == nil {
		return Database{}, fmt.Errorf("database %s has no endpoint yet", id)
	}
	d := out.DBInstances[0]
	return Database{ID: id, Engine: aws.ToString(d.Engine), Status: aws.ToString(d.DBInstanceStatus),
		Endpoint: aws.ToString(d.Endpoint.Address), Port: aws.ToInt32(d.Endpoint.Port)}, nil
}

// Pick chooses a jumpbox: the named one (id or Name tag), else the only
// online one. Several online and none named is an error listing them.
func Pick(jbs []Jumpbox, want string) (Jumpbox, error) {
	if want != "" {
		for _, j := range jbs {
			if j.InstanceID == want || j.Name == want {
				return j, nil
			}
		}
		return Jumpbox{}, fmt.Errorf("no jumpbox %q; found: %s", want, names(jbs))
	}
	var online, unknown []Jumpbox
	for _, j := range jbs {
		switch {
		case j.Online():
			online = append(online, j)
		case j.Ping == "unknown" && j.State == "running":
			unknown = append(unknown, j)
		}
	}
	if len(online) == 0 {
		// Without SSM's word, a running instance is the best guess.
		online = unknown
	}
	switch len(online) {
	case 0:
		if len(jbs) == 0 {
			return Jumpbox{}, errors.New("no jumpbox found: tag an instance (see [jumpbox] tag in the config)")
		}
		return Jumpbox{}, fmt.Errorf("no jumpbox is online: %s", names(jbs))
	case 1:
		return online[0], nil
	}
	return Jumpbox{}, &AmbiguousError{Choices: online}
}

// AmbiguousError: several jumpboxes are online and none was named.
type AmbiguousError struct{ Choices []Jumpbox }

func (e *AmbiguousError) Error() string {
	return "several jumpboxes are online; name one: " + names(e.Choices)
}

func names(jbs []Jumpbox) string {
	var s []string
	for _, j := range jbs {
		n := j.InstanceID
		if j.Name != "" {
			n += " (" + j.Name + ", " + j.Ping + ")"
		}
		s = append(s, n)
	}
	if len(s) == 0 {
		return "none"
	}
	return strings.Join(s, ", ")
}
