package backup

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	bk "github.com/aws/aws-sdk-go-v2/service/backup"
	bktypes "github.com/aws/aws-sdk-go-v2/service/backup/types"

	"github.com/opsdeck/opsdeck/ops/awsx"
	"github.com/opsdeck/opsdeck/ops/plan"
)

// BackupAPI is the part of AWS Backup on-demand jobs use. The emulator
// lacks StartBackupJob and DescribeBackupJob, so tests put a fake here and
// the CLI says "not available on this endpoint".
type BackupAPI interface {
	StartBackupJob(ctx context.Context, in *bk.StartBackupJobInput, o ...func(*bk.Options)) (*bk.StartBackupJobOutput, error)
	DescribeBackupJob(ctx context.Context, in *bk.DescribeBackupJobInput, o ...func(*bk.Options)) (*bk.DescribeBackupJobOutput, error)
}

var _ BackupAPI = (*bk.Client)(nil)

// StartJob starts an on-demand AWS Backup job with the plan's token as
// IdempotencyToken (a retry returns the same job) and follows it.
func StartJob(ctx context.Context, api BackupAPI, p plan.Plan, resourceARN, vault, role string, res *plan.Result, o Options) error {
	out, err := api.StartBackupJob(ctx, &bk.StartBackupJobInput{ResourceArn: aws.String(resourceARN), BackupVaultName: aws.String(vault),
		IamRoleArn: aws.String(role), IdempotencyToken: aws.String(p.Token()),
		RecoveryPointTags: map[string]string{"opsdeck:by": p.Params["operator"], "opsdeck:reason": p.Params["reason"], TagPlan: p.Token()}})
	if err != nil {
		return fmt.Errorf("start backup job for %s: %w", resourceARN, awsx.Classify("AWS Backup StartBackupJob", err))
	}
	res.Add(out.ResultMetadata)
	id := aws.ToString(out.BackupJobId)
	res.Set("backup_job_id", id)
	for {
		j, err := api.DescribeBackupJob(ctx, &bk.DescribeBackupJobInput{BackupJobId: aws.String(id)})
		if err != nil {
			return fmt.Errorf("backup job %s: %w", id, awsx.Classify("AWS Backup DescribeBackupJob", err))
		}
		o.progress(fmt.Sprintf("job %s %s %s%%", id, j.State, aws.ToString(j.PercentDone)))
		switch j.State {
		case bktypes.BackupJobStateCompleted:
			res.Set("recovery_point_arn", aws.ToString(j.RecoveryPointArn))
			return nil
		case bktypes.BackupJobStateFailed, bktypes.BackupJobStateAborted, bktypes.BackupJobStateExpired:
			return fmt.Errorf("backup job %s %s: %s", id, j.State, aws.ToString(j.StatusMessage))
		}
		if err := awsx.Sleep(ctx, o.poll()); err != nil {
			return err
		}
	}
}
