package verify

// This file is the byte-for-byte comparison of two deployments: the Go app
// behind one front against anything else that claims to be the same app (the
// Python twin, the Go app behind Apache or nginx). Compare checks the headers
// the app's figures depend on; CompareDeployments checks that the two
// responses are the same bytes, and says which byte is not.

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
)

// ignoredHeaders are left out of the byte comparison. Server and Date are
// allowed to differ by the app's specification (a real front stamps its
// own Server; Date moves). The others are hop-by-hop (RFC 9110 §7.6.1):
// they describe the connection a front keeps with the client, not the
// app's response (Go's server, for one, adds "Connection: close" when it
// will not read the rest of a refused /echo body; Apache adds Keep-Alive).
// Content-Length is framing too (RFC 9112 §6): a front may send the same
// body chunked instead (Apache's mod_proxy_fcgi does for a FastCGI
// response), and the body bytes, compared, carry the length.
var ignoredHeaders = map[string]bool{
	"Server": true, "Date": true, "Content-Length": true,
	"Connection": true, "Keep-Alive": true, "Proxy-Connection": true,
	"Te": true, "Trailer": true, "Transfer-Encoding": true, "Upgrade": true,
}

// contextBytes is how many bytes either side of a difference the error
// quotes.
const contextBytes = 24

// Canonical renders a response as the bytes CompareDeployments compares:
// "status NNN", then every header but ignoredHeaders as "Name: value"
// (names canonicalised, sorted, a header's values in the order received),
// each line ending in CRLF, a blank line, and the body. The reason phrase is
// left out: it is the front's, not the app's, and HTTP/1.1 clients ignore
// it. head is the length of everything before the body.
func Canonical(r Response) (b []byte, head int) {
	var buf bytes.Buffer
	buf.WriteString("status " + strconv.Itoa(r.Status) + "\r\n")
	names := make([]string, 0, len(r.Header))
	for k := range r.Header {
		k = http.CanonicalHeaderKey(k)
		if !ignoredHeaders[k] {
			names = append(names, k)
		}
	}
	slices.Sort(names)
	names = slices.Compact(names)
	for _, k := range names {
		for _, v := range r.Header.Values(k) {
			buf.WriteString(k + ": " + v + "\r\n")
		}
	}
	buf.WriteString("\r\n")
	head = buf.Len()
	buf.Write(r.Body)
	return buf.Bytes(), head
}

// CompareDeployments sends every case of Cases() to ref (the Go app behind
// a front whose answers are the reference) and to other, and returns nil
// only if other's responses are byte-identical to ref's, Server, Date and
// hop-by-hop headers aside (see Canonical). Cases marked Varies (a random
// row) cannot be identical; other's answers to them are checked against the
// specification instead. ref's answers are checked against the
// specification too, so two deployments cannot agree on a wrong answer.
//
// This is the function `bench verify` calls to compare a deployment with
// the Go app; its error wraps ErrMismatch and names the request, both
// deployments, the first differing byte (its offset, both values) and the
// bytes around it.
func CompareDeployments(ctx context.Context, client *http.Client, ref, other Deployment) error {
	return CompareCases(ctx, client, Cases(), ref, other)
}

// CompareCases is CompareDeployments on a chosen set of cases.
func CompareCases(ctx context.Context, client *http.Client, cases []Case, ref, other Deployment) error {
	a, err := Fetch(ctx, client, ref.URL, cases)
	if err != nil {
		return fmt.Errorf("%s: %w", ref.Name, err)
	}
	b, err := Fetch(ctx, client, other.URL, cases)
	if err != nil {
		return fmt.Errorf("%s: %w", other.Name, err)
	}
	return CompareResponses(cases, ref.Name, a, other.Name, b)
}

// CompareResponses is the comparison of CompareCases on responses already
// fetched, in case order.
func CompareResponses(cases []Case, refName string, ref []Response, otherName string, other []Response) error {
	if len(ref) != len(cases) || len(other) != len(cases) {
		return fmt.Errorf("verify: %d cases, %d and %d responses", len(cases), len(ref), len(other))
	}
	for i, c := range cases {
		if c.Varies {
			if err := checkCase(c, other[i]); err != nil {
				return fmt.Errorf("%w: %s: %s %s: %v", ErrMismatch, otherName, c.Method, c.Path, err)
			}
		} else {
			ca, headA := Canonical(ref[i])
			cb, headB := Canonical(other[i])
			if off := firstDiff(ca, cb); off < len(ca) || off < len(cb) {
				return fmt.Errorf("%w: %s %s (case %q): %s", ErrMismatch, c.Method, c.Path, c.Name,
					describeDiff(off, refName, ca, headA, otherName, cb, headB))
			}
		}
		// Identical, so checking ref checks both.
		if err := checkCase(c, ref[i]); err != nil {
			return fmt.Errorf("%w: %s (reference): %s %s: %v", ErrMismatch, refName, c.Method, c.Path, err)
		}
	}
	return nil
}

// checkCase checks one response against its case's status, Content-Type
// and body check; unlike CheckSpec it does not look at Server or Date,
// which a real front may set.
func checkCase(c Case, r Response) error {
	if r.Status != c.Status {
		return fmt.Errorf("status %d; want %d (body %q)", r.Status, c.Status, clip(r.Body))
	}
	if ct := r.Header.Get("Content-Type"); ct != c.ContentType {
		return fmt.Errorf("Content-Type %q; want %q", ct, c.ContentType)
	}
	if c.Check != nil {
		return c.Check(r.Body)
	}
	return nil
}

// describeDiff says where two canonical responses first differ: the offset,
// whether it falls in the head or the body, both bytes (or the end of one
// response) and contextBytes bytes either side in each.
func describeDiff(off int, nameA string, a []byte, headA int, nameB string, b []byte, headB int) string {
	where := "in the status line and headers"
	if off >= headA && off >= headB && headA == headB {
		where = fmt.Sprintf("body byte %d", off-headA)
	}
	return fmt.Sprintf("first difference at byte %d of the response (%s): %s has %s, %s has %s\n\t%s: %s\n\t%s: %s",
		off, where, nameA, byteAt(a, off), nameB, byteAt(b, off),
		nameA, around(a, off), nameB, around(b, off))
}

// byteAt names byte off of b, or says that b ended before it.
func byteAt(b []byte, off int) string {
	if off >= len(b) {
		return fmt.Sprintf("no byte (its response ends, %d bytes)", len(b))
	}
	return fmt.Sprintf("0x%02x %q", b[off], b[off:off+1])
}

// around quotes the bytes of b around off, with » where off is.
func around(b []byte, off int) string {
	lo, hi := max(0, off-contextBytes), min(len(b), off+contextBytes)
	at := min(off, len(b))
	var s strings.Builder
	if lo > 0 {
		s.WriteString("…")
	}
	s.WriteString(strconv.Quote(string(b[lo:at])))
	s.WriteString(" »")
	if at < hi {
		s.WriteString(strconv.Quote(string(b[at:hi])))
	} else {
		s.WriteString("(end)")
	}
	if hi < len(b) {
		s.WriteString("…")
	}
	return s.String()
}
