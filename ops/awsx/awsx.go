// Package awsx holds what every AWS-facing package shares: how to tell an
// API the endpoint does not offer from a real failure, and how to say an
// SDK error in one line an operator can act on.
package awsx

import (
	"context"
	"errors"
	"fmt"
	"net"
	"regexp"
	"strings"

	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/smithy-go"

	"github.com/opsdeck/opsdeck/profiles"
)

// UnavailableError says an endpoint does not offer an operation (the
// emulator lacks several; a restricted VPC endpoint may too).
type UnavailableError struct {
	Op  string
	Err error
}

func (e *UnavailableError) Error() string {
	return fmt.Sprintf("%s is not available on this endpoint", e.Op)
}

func (e *UnavailableError) Unwrap() error { return e.Err }

// Unavailable reports whether err means the endpoint does not implement
// the operation: an HTTP 404/500/501 whose body is not an AWS error
// document, or an explicit "not implemented" error code. A real AWS 500
// (InternalFailure) parses as an API error and is not matched.
func Unavailable(err error) bool {
	if err == nil {
		return false
	}
	var ae smithy.APIError
	if errors.As(err, &ae) {
		switch ae.ErrorCode() {
		case "InvalidAction", "NotImplemented", "UnknownOperationException", "UnsupportedOperation":
			return true
		}
		return false
	}
	return profiles.NotAnAWSAnswer(err)
}

// Classify wraps err as UnavailableError when the endpoint lacks op.
func Classify(op string, err error) error {
	if Unavailable(err) {
		return &UnavailableError{Op: op, Err: err}
	}
	return err
}

// Summary says an SDK error in one line: the API's code and message, or
// the network failure, without the SDK's retry and transport prose.
func Summary(err error) string {
	if err == nil {
		return ""
	}
	var ue *UnavailableError
	if errors.As(err, &ue) {
		return ue.Error()
	}
	if errors.Is(err, context.Canceled) {
		return "cancelled"
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return "timed out"
	}
	var ae smithy.APIError
	if errors.As(err, &ae) {
		s := ae.ErrorCode()
		if m := ae.ErrorMessage(); m != "" {
			s += ": " + m
		}
		return s + hint(ae.ErrorCode())
	}
	var re *awshttp.ResponseError
	if errors.As(err, &re) {
		return fmt.Sprintf("HTTP %d without an AWS error body: the endpoint or region does not serve this API (region not enabled, or an emulator gap)", re.HTTPStatusCode())
	}
	var ne *net.OpError
	if errors.As(err, &ne) {
		return fmt.Sprintf("endpoint unreachable (%v); check the network or AWS_ENDPOINT_URL", ne.Err)
	}
	msg := err.Error()
	if i := strings.LastIndex(msg, ", "); i > 0 && strings.Contains(msg, "operation error") {
		return msg[i+2:]
	}
	return msg
}

var sdkNoise = regexp.MustCompile(`operation error [^:]+: [A-Za-z]+, (exceeded maximum number of attempts, \d+, )?(https response error StatusCode: \d+, RequestID: [^,]*, )?(api error )?`)

// Clean removes the SDK's transport prose from an error message, keeping
// opsdeck's context and the API's code and message.
func Clean(err error) string {
	if err == nil {
		return ""
	}
	return sdkNoise.ReplaceAllString(err.Error(), "")
}

func hint(code string) string {
	switch code {
	case "AccessDenied", "AccessDeniedException", "UnauthorizedOperation":
		return " (the role lacks permission: try another role with r or --role)"
	case "ExpiredToken", "ExpiredTokenException", "RequestExpired":
		return " (credentials expired: switch to the account again to renew them)"
	case "Throttling", "ThrottlingException", "RequestLimitExceeded", "TooManyRequestsException":
		return " (throttled past retries: lower --concurrency and retry)"
	}
	return ""
}
