package loadgen

import "strings"

// Error kinds, the keys of results.Point.Errors.
const (
	ErrKindTimeout   = "timeout"    // no answer within the timeout
	ErrKindRefused   = "refused"    // nothing listening
	ErrKindReset     = "reset"      // connection reset or broken pipe
	ErrKindEOF       = "eof"        // connection closed before an answer
	ErrKindStatus5xx = "status_5xx" // the server answered 5xx
	ErrKindStatus4xx = "status_4xx" // the server answered 4xx
	ErrKindOther     = "other"      // anything else (its text is in the raw results)
)

// ClassifyError returns the kind of a failed vegeta result from its status
// code and error text, or "" when it did not fail. vegeta keeps errors as
// text, so the kind is read from the text; both transports word errors
// alike (see FastTransport) so a kind does not depend on the transport.
func ClassifyError(code uint16, errText string) string {
	switch {
	case code >= 500 && code <= 599:
		return ErrKindStatus5xx
	case code >= 400 && code <= 499:
		return ErrKindStatus4xx
	case errText == "":
		return ""
	case code != 0:
		return ErrKindOther // e.g. a 1xx final answer, or a body that failed to read
	}
	e := strings.ToLower(errText)
	switch {
	case strings.Contains(e, "connection refused"):
		return ErrKindRefused
	case strings.Contains(e, "connection reset"), strings.Contains(e, "broken pipe"):
		return ErrKindReset
	case strings.Contains(e, "timeout"), strings.Contains(e, "deadline exceeded"), strings.Contains(e, "timed out"):
		return ErrKindTimeout
	case strings.HasSuffix(e, "eof"), strings.Contains(e, "eof ("), strings.Contains(e, "server closed"):
		return ErrKindEOF
	}
	return ErrKindOther
}
