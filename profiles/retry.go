package profiles

import (
	"errors"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/smithy-go"
)

// NotAnAWSAnswer reports whether err is an HTTP 404/500/501 whose body is
// not an AWS error document: the endpoint does not serve the operation
// (an emulator gap, a region not enabled, a proxy). A real AWS 500
// (InternalFailure) parses as an API error and is not matched.
func NotAnAWSAnswer(err error) bool {
	var ae smithy.APIError
	// The SDK names a body without an error code "UnknownError".
	if err == nil || errors.As(err, &ae) && ae.ErrorCode() != "UnknownError" {
		return false
	}
	var re *awshttp.ResponseError
	if errors.As(err, &re) {
		switch re.HTTPStatusCode() {
		case 404, 500, 501:
			return true
		}
	}
	return false
}

// noRetryForNonAWS keeps the retryer from backing off for seconds on an
// answer that will not change: asking again does not implement the API.
var noRetryForNonAWS = retryableFunc(func(err error) aws.Ternary {
	if NotAnAWSAnswer(err) {
		return aws.FalseTernary
	}
	return aws.UnknownTernary
})

type retryableFunc func(error) aws.Ternary

func (f retryableFunc) IsErrorRetryable(err error) aws.Ternary { return f(err) }
