package scenario

// This file reads a user's requests in vegeta's target format, so that an
// application the suite has never seen can be measured with the requests
// its users send:
//
//	# name: list
//	GET /guestbook?page=1
//	Accept: text/html
//
//	POST /guestbook
//	Content-Type: application/x-www-form-urlencoded
//	@post-body.txt
//
// A request is a "METHOD URL" line, then header lines, then optionally
// "@FILE", the body (relative to the requests file); requests are separated
// by blank lines. URL is a path ("/x?y") or an absolute http URL, of which
// only the path and query are kept: the target decides the host. Lines
// starting with '#' are comments, except "# name: NAME", which names the
// next request in tables and results; unnamed requests are named "METHOD
// PATH". Each request is measured as an endpoint of its own.

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/textproto"
	"net/url"
	"os"
	"path/filepath"
	"strings"
)

// ErrBadRequests is wrapped by every error of ReadRequests.
var ErrBadRequests = errors.New("scenario: bad requests file")

// maxRequestBody bounds a body file read into memory.
const maxRequestBody = 64 << 20

// ReadRequests reads a requests file.
func ReadRequests(path string) ([]Endpoint, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrBadRequests, err)
	}
	return ParseRequests(data, filepath.Dir(path), path)
}

// ParseRequests parses the requests in data; body files are relative to
// dir, and errors name the file as source.
func ParseRequests(data []byte, dir, source string) ([]Endpoint, error) {
	var out []Endpoint
	var cur *Endpoint
	name := ""
	seen := map[string]bool{}
	finish := func() error {
		if cur == nil {
			return nil
		}
		if seen[cur.Name] {
			return fmt.Errorf("%w: %s: request %q named twice (add a '# name: …' line)", ErrBadRequests, source, cur.Name)
		}
		seen[cur.Name] = true
		out = append(out, *cur)
		cur = nil
		return nil
	}
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for ln := 1; sc.Scan(); ln++ {
		line := strings.TrimSpace(sc.Text())
		bad := func(format string, a ...any) error {
			return fmt.Errorf("%w: %s:%d: %s", ErrBadRequests, source, ln, fmt.Sprintf(format, a...))
		}
		switch {
		case strings.HasPrefix(line, "#"):
			if n, ok := strings.CutPrefix(strings.TrimSpace(line[1:]), "name:"); ok {
				name = strings.TrimSpace(n)
			}
		case line == "":
			if err := finish(); err != nil {
				return nil, err
			}
		case cur == nil:
			e, err := requestLine(line, name)
			if err != nil {
				return nil, bad("%v", err)
			}
			cur, name = &e, ""
		case strings.HasPrefix(line, "@"):
			if cur.Body != nil {
				return nil, bad("a second body for %s", cur.Name)
			}
			body, err := readBody(filepath.Join(dir, line[1:]))
			if err != nil {
				return nil, bad("%v", err)
			}
			cur.Body = body
		default:
			k, v, ok := strings.Cut(line, ":")
			if !ok || strings.TrimSpace(k) == "" || strings.ContainsAny(k, " \t") {
				return nil, bad("want a header 'Name: value', a body '@FILE' or a blank line, got %q", line)
			}
			if cur.Header == nil {
				cur.Header = http.Header{}
			}
			cur.Header.Add(textproto.CanonicalMIMEHeaderKey(strings.TrimSpace(k)), strings.TrimSpace(v))
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrBadRequests, source, err)
	}
	if err := finish(); err != nil {
		return nil, err
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%w: %s: no requests", ErrBadRequests, source)
	}
	return out, nil
}

func requestLine(line, name string) (Endpoint, error) {
	method, target, ok := strings.Cut(line, " ")
	target = strings.TrimSpace(target)
	if !ok || target == "" || strings.ToUpper(method) != method || strings.ContainsAny(target, " \t") {
		return Endpoint{}, fmt.Errorf("want 'METHOD URL', got %q", line)
	}
	u, err := url.Parse(target)
	if err != nil {
		return Endpoint{}, fmt.Errorf("URL %q: %w", target, err)
	}
	if u.Scheme != "" && u.Scheme != "http" {
		return Endpoint{}, fmt.Errorf("URL %q: only http URLs or paths", target)
	}
	path := u.EscapedPath()
	if path == "" {
		path = "/"
	}
	if !strings.HasPrefix(path, "/") {
		return Endpoint{}, fmt.Errorf("URL %q: a path must start with '/'", target)
	}
	if u.RawQuery != "" {
		path += "?" + u.RawQuery
	}
	if name == "" {
		name = method + " " + path
	}
	return Endpoint{Name: name, Method: method, Path: path}, nil
}

func readBody(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("body: %w", err)
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxRequestBody+1))
	if err != nil {
		return nil, fmt.Errorf("body: %w", err)
	}
	if len(b) > maxRequestBody {
		return nil, fmt.Errorf("body %s: more than the %d-byte limit", path, maxRequestBody)
	}
	return b, nil
}
