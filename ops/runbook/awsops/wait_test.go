package awsops

import (
	"context"
	"strings"
	"testing"
	"time"
)

// Waits poll until done, and give up at the step's timeout with what to do.
func TestWaitPollsAndTimesOut(t *testing.T) {
	x := &Executor{Poll: time.Millisecond}
	states := []string{"creating", "backing-up", "available"}
	n := 0
	o, err := x.wait(context.Background(), map[string]string{}, "DB instance d", func() (string, bool, error) {
		s := states[n]
		n++
		return s, s == "available", nil
	}, func(m map[string]string) { m["endpoint"] = "d.example" })
	if err != nil || n != 3 || o.Outputs["state"] != "available" || o.Outputs["endpoint"] != "d.example" {
		t.Fatalf("wait: %v after %d checks, %v", err, n, o.Outputs)
	}
	_, err = x.wait(context.Background(), map[string]string{"timeout": "20ms"}, "stack s", func() (string, bool, error) {
		return "UPDATE_IN_PROGRESS", false, nil
	}, nil)
	if err == nil || !strings.Contains(err.Error(), "stack s is still UPDATE_IN_PROGRESS after 20ms") || !strings.Contains(err.Error(), "resume the run") {
		t.Fatalf("timeout: %v", err)
	}
	if _, err := x.wait(context.Background(), map[string]string{"timeout": "soon"}, "x", nil, nil); err == nil || !strings.Contains(err.Error(), `timeout "soon"`) {
		t.Fatalf("bad timeout: %v", err)
	}
}
