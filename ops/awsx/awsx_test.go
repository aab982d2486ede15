package awsx

import (
	"context"
	"errors"
	"net"
	"net/http"
	"strings"
	"testing"

	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"
)

func respErr(code int, inner error) error {
	return &smithy.OperationError{ServiceID: "CloudFormation", OperationName: "DetectStackDrift", Err: &awshttp.ResponseError{
		ResponseError: &smithyhttp.ResponseError{Response: &smithyhttp.Response{Response: &http.Response{StatusCode: code}}, Err: inner}}}
}

func TestUnavailableAndSummary(t *testing.T) {
	tests := []struct {
		name        string
		give        error
		unavailable bool
		summary     string
	}{
		{"emulator 500 with html body", respErr(500, errors.New("xml syntax error")), true, "HTTP 500 without an AWS error body"},
		{"404", respErr(404, errors.New("not found")), true, "HTTP 404"},
		{"real AWS 500 parses as API error", respErr(500, &smithy.GenericAPIError{Code: "InternalFailure", Message: "oops"}), false, "InternalFailure: oops"},
		{"access denied has a hint", &smithy.GenericAPIError{Code: "AccessDenied", Message: "no"}, false, "AccessDenied: no (the role lacks permission"},
		{"throttling has a hint", &smithy.GenericAPIError{Code: "Throttling", Message: "Rate exceeded"}, false, "lower --concurrency"},
		{"explicit not implemented", &smithy.GenericAPIError{Code: "InvalidAction", Message: "x"}, true, "InvalidAction"},
		{"network", &smithy.OperationError{Err: &net.OpError{Op: "dial", Err: errors.New("connection refused")}}, false, "endpoint unreachable (connection refused)"},
		{"cancelled", context.Canceled, false, "cancelled"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Unavailable(tt.give); got != tt.unavailable {
				t.Errorf("Unavailable = %v", got)
			}
			if got := Summary(tt.give); !strings.Contains(got, tt.summary) {
				t.Errorf("Summary = %q, want %q", got, tt.summary)
			}
		})
	}
	if err := Classify("DetectStackDrift", respErr(500, errors.New("x"))); Summary(err) != "DetectStackDrift is not available on this endpoint" {
		t.Fatalf("Classify: %v", err)
	}
}

func TestClean(t *testing.T) {
	err := errors.New("platform-dr/eu-west-1: copy db snapshot s1 to eu-west-1: operation error RDS: CopyDBSnapshot, https response error StatusCode: 404, RequestID: hp4o, DBSnapshotNotFound: DBSnapshot s1 not found.")
	if got := Clean(err); got != "platform-dr/eu-west-1: copy db snapshot s1 to eu-west-1: DBSnapshotNotFound: DBSnapshot s1 not found." {
		t.Fatalf("Clean = %q", got)
	}
	err = errors.New("x: operation error STS: AssumeRole, exceeded maximum number of attempts, 3, https response error StatusCode: 500, RequestID: , api error UnknownError: UnknownError")
	if got := Clean(err); got != "x: UnknownError: UnknownError" {
		t.Fatalf("Clean = %q", got)
	}
}
