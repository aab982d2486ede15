package awsx

import (
	"context"
	"errors"
	"time"
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
