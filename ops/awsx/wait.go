package awsx

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/aws/smithy-go"
)

// Sleep waits d, or returns ctx's error when it ends first: the pause
// between polls of a waiting operation.
func Sleep(ctx context.Context, d time.Duration) error {
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(d):
		return nil
	}
}

// OrNotFound is err, or "not found" when a describe call succeeded and
// returned nothing.
func OrNotFound(err error) error {
	if err == nil {
		return errors.New("not found")
	}
	return err
}

// IsNotFound reports whether err is AWS saying the resource does not exist
// (DBInstanceNotFound, InvalidSnapshot.NotFound, …).
func IsNotFound(err error) bool {
	var ae smithy.APIError
	return errors.As(err, &ae) && strings.Contains(ae.ErrorCode(), "NotFound")
}
