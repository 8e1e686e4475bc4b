package verify

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"time"
)

// ErrMismatch is wrapped by every verification failure, so callers can tell
// a wrong answer from a failure to ask.
var ErrMismatch = errors.New("verify: mismatch")

// Fetch sends every case to the deployment at baseURL and returns the
// responses in case order. A transport error is returned as an error: a
// target that cannot be asked cannot be verified.
func Fetch(ctx context.Context, client *http.Client, baseURL string, cases []Case) ([]Response, error) {
	out := make([]Response, len(cases))
	for i, c := range cases {
		req, err := http.NewRequestWithContext(ctx, c.Method, baseURL+c.Path, bytes.NewReader(c.Body))
		if err != nil {
			return nil, fmt.Errorf("verify: %s: %w", c.Name, err)
		}
		if c.Body == nil {
			req.Body, req.ContentLength = http.NoBody, 0
		}
		resp, err := client.Do(req)
		if err != nil {
			return nil, fmt.Errorf("verify: %s %s: %w", c.Method, c.Path, err)
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			return nil, fmt.Errorf("verify: %s %s: read body: %w", c.Method, c.Path, err)
		}
		out[i] = Response{Status: resp.StatusCode, Header: resp.Header, Body: body}
	}
	return out, nil
}

// CheckSpec checks one deployment's responses against the specification.
func CheckSpec(cases []Case, resps []Response) error {
	for i, c := range cases {
		r := resps[i]
		where := fmt.Sprintf("%s %s", c.Method, c.Path)
		if r.Status != c.Status {
			return fmt.Errorf("%w: %s: status %d; want %d (body %q)", ErrMismatch, where, r.Status, c.Status, clip(r.Body))
		}
		if ct := r.Header.Get("Content-Type"); ct != c.ContentType {
			return fmt.Errorf("%w: %s: Content-Type %q; want %q", ErrMismatch, where, ct, c.ContentType)
		}
		if r.Header.Get("Date") == "" {
			return fmt.Errorf("%w: %s: no Date header", ErrMismatch, where)
		}
		if _, err := time.Parse(http.TimeFormat, r.Header.Get("Date")); err != nil {
			return fmt.Errorf("%w: %s: Date %q is not an HTTP date", ErrMismatch, where, r.Header.Get("Date"))
		}
		if s := r.Header.Get("Server"); s != "forkbench" {
			return fmt.Errorf("%w: %s: Server %q; want %q", ErrMismatch, where, s, "forkbench")
		}
		if r.Header.Get("Content-Length") == "" {
			return fmt.Errorf("%w: %s: no Content-Length header", ErrMismatch, where)
		}
		if c.Check != nil {
			if err := c.Check(r.Body); err != nil {
				return fmt.Errorf("%w: %s: %v", ErrMismatch, where, err)
			}
		}
	}
	return nil
}

// Compare checks that other answered every case exactly as ref did: the
// same status, compared headers and body bytes (cases marked Varies
// excepted). It names the first difference.
func Compare(cases []Case, refName string, ref []Response, otherName string, other []Response) error {
	for i, c := range cases {
		if c.Varies {
			continue
		}
		a, b := ref[i], other[i]
		where := fmt.Sprintf("%s %s", c.Method, c.Path)
		if a.Status != b.Status {
			return fmt.Errorf("%w: %s: %s answered %d, %s answered %d", ErrMismatch, where, refName, a.Status, otherName, b.Status)
		}
		for _, h := range headersCompared {
			if va, vb := strings.Join(a.Header.Values(h), ", "), strings.Join(b.Header.Values(h), ", "); va != vb {
				return fmt.Errorf("%w: %s: header %s: %s sent %q, %s sent %q", ErrMismatch, where, h, refName, va, otherName, vb)
			}
		}
		if !bytes.Equal(a.Body, b.Body) {
			return fmt.Errorf("%w: %s: body differs at byte %d: %s sent %q, %s sent %q", ErrMismatch, where,
				firstDiff(a.Body, b.Body), refName, clip(a.Body), otherName, clip(b.Body))
		}
	}
	return nil
}

func firstDiff(a, b []byte) int {
	n := min(len(a), len(b))
	for i := range n {
		if a[i] != b[i] {
			return i
		}
	}
	return n
}

// Deployment is a started target to verify: a name and a base URL.
type Deployment struct {
	Name string
	URL  string
	// Identical marks a deployment behind a front that is not the suite's
	// own (Apache, nginx, uWSGI) or that runs another implementation of
	// the app (the Python twin): it may stamp its own Server header, so
	// instead of the specification's stricter header checks it must
	// answer byte for byte as the reference does (CompareDeployments).
	Identical bool
}

// ErrNoReference is returned by All when a deployment is to be compared
// byte for byte and none is checked against the specification to be the
// reference.
var ErrNoReference = errors.New("verify: no reference deployment (one checked against the specification, e.g. embedded)")

// All fetches the verification set from every deployment. Those not
// marked Identical are checked against the specification and against the
// first of them, the reference; each marked Identical is compared byte for
// byte with that reference (CompareResponses). It returns the first
// problem found, naming the deployment, the request and, for a byte
// comparison, the first differing byte.
func All(ctx context.Context, client *http.Client, ds []Deployment) error {
	cases := Cases()
	var ref []Response
	var refName string
	var identical []Deployment
	for _, d := range ds {
		if d.Identical {
			identical = append(identical, d)
			continue
		}
		resps, err := Fetch(ctx, client, d.URL, cases)
		if err != nil {
			return fmt.Errorf("%s: %w", d.Name, err)
		}
		if err := CheckSpec(cases, resps); err != nil {
			return fmt.Errorf("%s: %w", d.Name, err)
		}
		if ref == nil {
			ref, refName = resps, d.Name
			continue
		}
		if err := Compare(cases, refName, ref, d.Name, resps); err != nil {
			return err
		}
	}
	if len(identical) > 0 && ref == nil {
		return ErrNoReference
	}
	frontCases, frontRef := forFronts(cases, ref)
	for _, d := range identical {
		resps, err := Fetch(ctx, client, d.URL, frontCases)
		if err != nil {
			return fmt.Errorf("%s: %w", d.Name, err)
		}
		if err := CompareResponses(frontCases, refName, frontRef, d.Name, resps); err != nil {
			return fmt.Errorf("%s: %w", d.Name, err)
		}
	}
	return nil
}

// frontSensitive names the cases whose answer on the wire belongs to the
// front, not the app, behind a front that is not the suite's own: the
// app answers an oversized /echo 413 without reading the body, and then
// Apache mod_cgid drops the client connection, fcgiwrap answers 502 and
// mod_proxy_fcgi answers the next request on the reused daemon connection
// 503. The suite's own fronts and the spec checks keep these cases.
var frontSensitive = []string{"echo too large"}

// forFronts returns the cases a real front is compared on and the
// reference's responses to them.
func forFronts(cases []Case, ref []Response) ([]Case, []Response) {
	var cs []Case
	var rs []Response
	for i, c := range cases {
		if slices.Contains(frontSensitive, c.Name) {
			continue
		}
		cs = append(cs, c)
		if i < len(ref) {
			rs = append(rs, ref[i])
		}
	}
	return cs, rs
}
