package emulator

import (
	"context"
	"fmt"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation"
	cfntypes "github.com/aws/aws-sdk-go-v2/service/cloudformation/types"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/aws-sdk-go-v2/service/rds"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	ssmtypes "github.com/aws/aws-sdk-go-v2/service/ssm/types"

	"github.com/opsdeck/opsdeck/profiles"
)

// Seeded records what Seed created, per account name, so tests can assert
// against it without listing moto again.
type Seeded struct {
	mu       sync.Mutex
	Accounts map[string]*SeededAccount
}

// SeededAccount is what one account holds after seeding.
type SeededAccount struct {
	Stacks      map[string][]string // region -> stack names
	Jumpbox     string              // instance id in the primary region
	AppServers  []string
	DBInstance  string
	DBSnapshots []string
	Volume      string
	Snapshot    string
	Images      map[string]string // channel -> AMI id (primary region)
}

// Templates for the demo stacks. They only use resource types moto
// provisions, so stacks reach CREATE_COMPLETE with real physical ids.
const networkTemplate = `{
  "AWSTemplateFormatVersion": "2010-09-09",
  "Description": "opsdeck demo: network",
  "Parameters": {"Cidr": {"Type": "String", "Default": "10.0.0.0/16"}, "SubnetCidr": {"Type": "String", "Default": "10.0.0.0/24"}},
  "Resources": {
    "Vpc": {"Type": "AWS::EC2::VPC", "Properties": {"CidrBlock": {"Ref": "Cidr"}}},
    "Subnet": {"Type": "AWS::EC2::Subnet", "Properties": {"VpcId": {"Ref": "Vpc"}, "CidrBlock": {"Ref": "SubnetCidr"}}},
    "AppSecurityGroup": {"Type": "AWS::EC2::SecurityGroup", "Properties": {"GroupDescription": "app", "VpcId": {"Ref": "Vpc"}}}
  },
  "Outputs": {
    "VpcId": {"Value": {"Ref": "Vpc"}},
    "SubnetId": {"Value": {"Ref": "Subnet"}},
    "SecurityGroupId": {"Value": {"Ref": "AppSecurityGroup"}}
  }
}`

const appTemplate = `{
  "AWSTemplateFormatVersion": "2010-09-09",
  "Description": "opsdeck demo: application",
  "Parameters": {
    "Environment": {"Type": "String"},
    "ImageId": {"Type": "String"},
    "Replicas": {"Type": "Number", "Default": "2"}
  },
  "Resources": {
    "Config": {"Type": "AWS::SSM::Parameter", "Properties": {"Type": "String", "Name": {"Fn::Sub": "/app/${AWS::StackName}/image"}, "Value": {"Ref": "ImageId"}}},
    "Queue": {"Type": "AWS::SQS::Queue", "Properties": {"QueueName": {"Fn::Sub": "${AWS::StackName}-jobs"}}}
  },
  "Outputs": {
    "AppUrl": {"Value": {"Fn::Sub": "https://${Environment}.app.example.internal"}},
    "QueueUrl": {"Value": {"Ref": "Queue"}}
  }
}`

const databaseTemplate = `{
  "AWSTemplateFormatVersion": "2010-09-09",
  "Description": "opsdeck demo: database endpoint registry",
  "Parameters": {"DbEndpoint": {"Type": "String"}, "DbInstance": {"Type": "String"}},
  "Resources": {
    "Endpoint": {"Type": "AWS::SSM::Parameter", "Properties": {"Type": "String", "Name": {"Fn::Sub": "/app/${AWS::StackName}/db-endpoint"}, "Value": {"Ref": "DbEndpoint"}}}
  },
  "Outputs": {
    "DbEndpoint": {"Value": {"Ref": "DbEndpoint"}},
    "DbInstance": {"Value": {"Ref": "DbInstance"}}
  }
}`

// Seed creates the demo estate's resources in moto through the broker (so
// seeding exercises the same assume-role path as everything else).
// Accounts are seeded concurrently; moto serialises calls anyway, so a
// small pool is enough.
func Seed(ctx context.Context, b *profiles.Broker, e Estate) (*Seeded, error) {
	out := &Seeded{Accounts: map[string]*SeededAccount{}}
	cfg := b.Estate()
	sem := make(chan struct{}, 4)
	var wg sync.WaitGroup
	errs := make([]error, len(e.Accounts))
	for i, ea := range e.Accounts {
		a := cfg.Account(ea.Name)
		if a == nil {
			return nil, fmt.Errorf("seed: account %s is not in the config", ea.Name)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			sa, err := seedAccount(ctx, b, a, e, i)
			if err != nil {
				errs[i] = fmt.Errorf("seed %s (%s): %w", a.Name, a.ID, err)
				return
			}
			out.mu.Lock()
			out.Accounts[a.Name] = sa
			out.mu.Unlock()
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return out, err
		}
	}
	return out, nil
}

func seedAccount(ctx context.Context, b *profiles.Broker, a *profiles.Account, e Estate, idx int) (*SeededAccount, error) {
	sa := &SeededAccount{Stacks: map[string][]string{}, Images: map[string]string{}}
	for ri, region := range a.Regions {
		cfg, _, err := b.Config(ctx, a, "read", region)
		if err != nil {
			return nil, err
		}
		ec := ec2.NewFromConfig(cfg)
		cf := cloudformation.NewFromConfig(cfg)
		sm := ssm.NewFromConfig(cfg)

		// Golden images: an older "stable" and a newer "candidate".
		images := map[string]string{}
		for _, ch := range []struct{ channel, version string }{{"stable", "2026.11.01"}, {"candidate", "2026.11.15"}} {
			img, err := ec.RegisterImage(ctx, &ec2.RegisterImageInput{
				Name:               aws.String("golden-base-" + ch.version),
				Description:        aws.String("opsdeck golden base image " + ch.version),
				Architecture:       ec2types.ArchitectureValuesX8664,
				RootDeviceName:     aws.String("/dev/xvda"),
				VirtualizationType: aws.String("hvm"),
				TagSpecifications: []ec2types.TagSpecification{{ResourceType: ec2types.ResourceTypeImage, Tags: tags(
					"opsdeck:image", "golden-base", "opsdeck:version", ch.version, "opsdeck:channel", ch.channel)}},
			})
			if err != nil {
				return nil, fmt.Errorf("%s: register image: %w", region, err)
			}
			images[ch.channel] = aws.ToString(img.ImageId)
			if _, err := sm.PutParameter(ctx, &ssm.PutParameterInput{
				Name:  aws.String("/opsdeck/images/golden-base/" + ch.channel),
				Value: img.ImageId, Type: ssmtypes.ParameterTypeString, DataType: aws.String("aws:ec2:image"), Overwrite: aws.Bool(true),
			}); err != nil {
				return nil, fmt.Errorf("%s: put channel parameter: %w", region, err)
			}
		}
		net := (idx*2 + ri) % 250
		if err := createStack(ctx, cf, a.Name+"-network", networkTemplate, map[string]string{
			"Cidr": fmt.Sprintf("10.%d.0.0/16", net), "SubnetCidr": fmt.Sprintf("10.%d.1.0/24", net)}); err != nil {
			return nil, fmt.Errorf("%s: %w", region, err)
		}
		sa.Stacks[region] = append(sa.Stacks[region], a.Name+"-network")
		if ri > 0 || a.Environment == "dr" {
			continue // the second region and the DR account hold only a network
		}
		sa.Images = images

		run := func(role, name string, count int32) ([]string, error) {
			out, err := ec.RunInstances(ctx, &ec2.RunInstancesInput{
				ImageId: aws.String(images["stable"]), InstanceType: ec2types.InstanceTypeT3Micro,
				MinCount: aws.Int32(count), MaxCount: aws.Int32(count),
				TagSpecifications: []ec2types.TagSpecification{{ResourceType: ec2types.ResourceTypeInstance,
					Tags: tags("Name", name, "Role", role, "opsdeck:image", "golden-base")}},
			})
			if err != nil {
				return nil, fmt.Errorf("%s: run %s instances: %w", region, role, err)
			}
			ids := make([]string, len(out.Instances))
			for i, in := range out.Instances {
				ids[i] = aws.ToString(in.InstanceId)
			}
			return ids, nil
		}
		jb, err := run("jumpbox", a.Name+"-jumpbox", 1)
		if err != nil {
			return nil, err
		}
		sa.Jumpbox = jb[0]
		if sa.AppServers, err = run("app", a.Name+"-app", 2); err != nil {
			return nil, err
		}

		vol, err := ec.CreateVolume(ctx, &ec2.CreateVolumeInput{AvailabilityZone: aws.String(region + "a"), Size: aws.Int32(20),
			VolumeType: ec2types.VolumeTypeGp3, TagSpecifications: []ec2types.TagSpecification{{ResourceType: ec2types.ResourceTypeVolume, Tags: tags("Name", a.Name+"-data")}}})
		if err != nil {
			return nil, fmt.Errorf("%s: create volume: %w", region, err)
		}
		sa.Volume = aws.ToString(vol.VolumeId)
		snap, err := ec.CreateSnapshot(ctx, &ec2.CreateSnapshotInput{VolumeId: vol.VolumeId, Description: aws.String("nightly " + a.Name + "-data"),
			TagSpecifications: []ec2types.TagSpecification{{ResourceType: ec2types.ResourceTypeSnapshot, Tags: tags("Name", a.Name+"-data-nightly")}}})
		if err != nil {
			return nil, fmt.Errorf("%s: create snapshot: %w", region, err)
		}
		sa.Snapshot = aws.ToString(snap.SnapshotId)

		rc := rds.NewFromConfig(cfg)
		dbID := a.Name + "-db"
		db, err := rc.CreateDBInstance(ctx, &rds.CreateDBInstanceInput{
			DBInstanceIdentifier: aws.String(dbID), DBInstanceClass: aws.String("db.t3.medium"), Engine: aws.String("postgres"),
			AllocatedStorage: aws.Int32(20), MasterUsername: aws.String("app"), MasterUserPassword: aws.String("demo-only-password"),
		})
		if err != nil {
			return nil, fmt.Errorf("%s: create db instance: %w", region, err)
		}
		sa.DBInstance = dbID
		for _, s := range []string{"nightly-1", "nightly-2"} {
			sid := dbID + "-" + s
			if _, err := rc.CreateDBSnapshot(ctx, &rds.CreateDBSnapshotInput{DBInstanceIdentifier: aws.String(dbID), DBSnapshotIdentifier: aws.String(sid)}); err != nil {
				return nil, fmt.Errorf("%s: create db snapshot: %w", region, err)
			}
			sa.DBSnapshots = append(sa.DBSnapshots, sid)
		}
		endpoint := fmt.Sprintf("%s.%s.rds.amazonaws.com", dbID, region)
		if db.DBInstance != nil && db.DBInstance.Endpoint != nil {
			endpoint = aws.ToString(db.DBInstance.Endpoint.Address)
		}
		if err := createStack(ctx, cf, a.Name+"-database", databaseTemplate, map[string]string{"DbEndpoint": endpoint, "DbInstance": dbID}); err != nil {
			return nil, fmt.Errorf("%s: %w", region, err)
		}
		if err := createStack(ctx, cf, a.Name+"-app", appTemplate, map[string]string{"Environment": a.Environment, "ImageId": images["stable"]}); err != nil {
			return nil, fmt.Errorf("%s: %w", region, err)
		}
		sa.Stacks[region] = append(sa.Stacks[region], a.Name+"-database", a.Name+"-app")
	}
	return sa, nil
}

func createStack(ctx context.Context, cf *cloudformation.Client, name, body string, params map[string]string) error {
	in := &cloudformation.CreateStackInput{StackName: aws.String(name), TemplateBody: aws.String(body),
		Tags: []cfntypes.Tag{{Key: aws.String("opsdeck:demo"), Value: aws.String("true")}}}
	for k, v := range params {
		in.Parameters = append(in.Parameters, cfntypes.Parameter{ParameterKey: aws.String(k), ParameterValue: aws.String(v)})
	}
	if _, err := cf.CreateStack(ctx, in); err != nil {
		return fmt.Errorf("create stack %s: %w", name, err)
	}
	return nil
}

func tags(kv ...string) []ec2types.Tag {
	out := make([]ec2types.Tag, 0, len(kv)/2)
	for i := 0; i+1 < len(kv); i += 2 {
		out = append(out, ec2types.Tag{Key: aws.String(kv[i]), Value: aws.String(kv[i+1])})
	}
	return out
}
