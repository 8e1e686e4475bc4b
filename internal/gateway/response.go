package gateway

// This file is the response side: parsing the head a script writes back
// (RFC 3875 §6).

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
)

// ErrMalformedHeader is wrapped by every error ReadResponseHeader returns for
// a response head that is not valid CGI, so a front can answer 502 Bad
// Gateway for it and tell it apart from an I/O error.
var ErrMalformedHeader = errors.New("gateway: malformed CGI response header")

// MaxHeaderBytes bounds the response head ReadResponseHeader accepts, line
// endings included, so a script that never ends its head cannot make the
// front buffer without limit. A larger head is an ErrMalformedHeader.
const MaxHeaderBytes = 64 << 10

// ReadResponseHeader reads a CGI response head from br: header lines, ended
// by LF or CRLF, up to and including the blank line, leaving br at the first
// byte of the body. It returns the HTTP status and the remaining header
// fields with canonical names.
//
// The Status field ("Status: 404 Not Found"; the reason phrase is dropped,
// as net/http cannot send a custom one) sets the status, which must be
// 200–599: an informational or out-of-range status could not be relayed as
// a final response. Without Status the status is 302 if there is a Location
// field (a local redirect is not supported; the client is redirected
// instead) and 200 otherwise. A missing Content-Type is allowed.
//
// A head with no fields, a line without a colon, an invalid field name, a
// value with control characters, a repeated or invalid Status, a
// Content-Length that is not digits or that is repeated with different
// values, a head longer
// than MaxHeaderBytes or EOF before the blank line is an error wrapping
// ErrMalformedHeader (an early EOF also wraps io.ErrUnexpectedEOF). Other
// read errors from br are returned wrapped as they are. ReadResponseHeader
// reads nothing past the blank line and never more than MaxHeaderBytes plus
// br's buffer size.
func ReadResponseHeader(br *bufio.Reader) (status int, h http.Header, err error) {
	var (
		n       int    // bytes of head consumed so far
		long    []byte // a line longer than br's buffer, accumulated
		fields  int
		sawStat bool
	)
	h = make(http.Header)
	for {
		line, err := br.ReadSlice('\n')
		n += len(line)
		if n > MaxHeaderBytes {
			return 0, nil, fmt.Errorf("%w: head longer than %d bytes", ErrMalformedHeader, MaxHeaderBytes)
		}
		if errors.Is(err, bufio.ErrBufferFull) {
			long = append(long, line...)
			continue
		}
		if long != nil {
			line = append(long, line...)
			long = nil
		}
		if err != nil {
			if errors.Is(err, io.EOF) {
				return 0, nil, fmt.Errorf("%w: %w after %d bytes, before the blank line", ErrMalformedHeader, io.ErrUnexpectedEOF, n)
			}
			return 0, nil, fmt.Errorf("gateway: reading CGI response header: %w", err)
		}
		line = trimEOL(line)
		if len(line) == 0 {
			break
		}
		fields++
		name, value, ok := bytes.Cut(line, []byte{':'})
		if !ok {
			return 0, nil, fmt.Errorf("%w: line without a colon: %q", ErrMalformedHeader, clip(line))
		}
		if !validFieldName(name) {
			return 0, nil, fmt.Errorf("%w: invalid field name %q", ErrMalformedHeader, clip(name))
		}
		value = trimOWS(value)
		if !validFieldValue(value) {
			return 0, nil, fmt.Errorf("%w: invalid value for %q", ErrMalformedHeader, clip(name))
		}
		key := http.CanonicalHeaderKey(string(name))
		if key == "Status" {
			if sawStat {
				return 0, nil, fmt.Errorf("%w: more than one Status field", ErrMalformedHeader)
			}
			sawStat = true
			if status, ok = parseStatus(value); !ok {
				return 0, nil, fmt.Errorf("%w: invalid Status %q", ErrMalformedHeader, clip(value))
			}
			continue
		}
		h[key] = append(h[key], string(value))
	}
	if fields == 0 {
		// RFC 3875 §6.2: a response has at least one CGI field.
		return 0, nil, fmt.Errorf("%w: no header fields", ErrMalformedHeader)
	}
	if cl, ok := h["Content-Length"]; ok {
		v, ok := contentLength(cl)
		if !ok {
			return 0, nil, fmt.Errorf("%w: invalid or conflicting Content-Length %q", ErrMalformedHeader, clip([]byte(strings.Join(cl, ", "))))
		}
		h["Content-Length"] = []string{v}
	}
	if status == 0 {
		status = http.StatusOK
		if _, ok := h["Location"]; ok {
			status = http.StatusFound
		}
	}
	return status, h, nil
}

// contentLength checks the Content-Length fields of a response: digits
// only, and every copy the same (RFC 9110 §8.6 lets a recipient take
// identical copies as one). Conflicting lengths would let the client and the
// front frame the body differently, so they are refused, not relayed.
func contentLength(vv []string) (string, bool) {
	for _, v := range vv {
		if v != vv[0] || v == "" || len(v) > 18 {
			return "", false
		}
		for i := 0; i < len(v); i++ {
			if v[i] < '0' || v[i] > '9' {
				return "", false
			}
		}
	}
	return vv[0], true
}

// parseStatus parses "NNN" or "NNN reason-phrase".
func parseStatus(v []byte) (int, bool) {
	if len(v) < 3 || (len(v) > 3 && v[3] != ' ' && v[3] != '\t') {
		return 0, false
	}
	code := 0
	for _, c := range v[:3] {
		if c < '0' || c > '9' {
			return 0, false
		}
		code = code*10 + int(c-'0')
	}
	return code, code >= 200 && code <= 599
}

func trimEOL(b []byte) []byte {
	b = b[:len(b)-1] // the '\n' ReadSlice stopped at
	if len(b) > 0 && b[len(b)-1] == '\r' {
		b = b[:len(b)-1]
	}
	return b
}

// trimOWS trims the optional white space (space, HTAB) around a value.
func trimOWS(b []byte) []byte {
	for len(b) > 0 && (b[0] == ' ' || b[0] == '\t') {
		b = b[1:]
	}
	for len(b) > 0 && (b[len(b)-1] == ' ' || b[len(b)-1] == '\t') {
		b = b[:len(b)-1]
	}
	return b
}

// validFieldName reports whether b is an RFC 9110 token.
func validFieldName(b []byte) bool {
	if len(b) == 0 {
		return false
	}
	for _, c := range b {
		if !isTokenChar(c) {
			return false
		}
	}
	return true
}

func isTokenChar(c byte) bool {
	switch {
	case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		return true
	}
	return c < 0x80 && strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0
}

// validFieldValue rejects control characters other than HTAB, which the
// front would otherwise relay into its own response head.
func validFieldValue(b []byte) bool {
	for _, c := range b {
		if (c < ' ' && c != '\t') || c == 0x7f {
			return false
		}
	}
	return true
}

// clip bounds the excerpt of bad input quoted in an error.
func clip(b []byte) []byte {
	const max = 64
	if len(b) > max {
		return b[:max]
	}
	return b
}
