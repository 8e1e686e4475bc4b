package gateway

// This file is the request policy every front applies before the
// application sees a request, whatever carries it there (a CGI child's
// stdin, FCGI_STDIN, a direct call): bodies are bounded, and a body of
// unknown length is given one.

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
)

// Defaults for the zero values of BodyPolicy's fields.
const (
	// DefaultMaxBodyBytes bounds a request body (nginx's default
	// client_max_body_size is 1 MiB, Apache's LimitRequestBody 1 GiB).
	DefaultMaxBodyBytes = 8 << 20
	// DefaultMemBodyBytes is how much of a body of unknown length is kept
	// in memory before the rest is spooled to a temporary file.
	DefaultMemBodyBytes = 64 << 10
)

// Errors of BodyPolicy.Apply, answered by Status.
var (
	// ErrBodyTooLarge means the body exceeds MaxBytes (413 Content Too
	// Large).
	ErrBodyTooLarge = errors.New("gateway: request body too large")
	// ErrBodyRead means the body could not be read from the client
	// (400 Bad Request, if anyone is left to hear it).
	ErrBodyRead = errors.New("gateway: reading request body")
)

// BodyPolicy is how every deployment takes a request body, so that CGI,
// FastCGI and the embedded handler answer the same request the same way.
//
// A CGI script reads exactly CONTENT_LENGTH bytes of stdin (RFC 3875 §4.2)
// and a body of unknown length (chunked) has none to give it. Rather than
// answer 411 on one deployment and pass the stream on another, Apply reads
// such a body to its end — in memory up to MemBytes, then in an unlinked
// temporary file — and hands it on with its length, as Apache's
// mod_cgid and nginx do. Any body over MaxBytes is refused with 413, the
// declared ones before a byte is read.
//
// The zero value is the default policy.
type BodyPolicy struct {
	// MaxBytes bounds a request body; 0 means DefaultMaxBodyBytes and a
	// negative value means no bound.
	MaxBytes int64
	// MemBytes is how much of a body of unknown length is kept in memory;
	// 0 means DefaultMemBodyBytes. Beyond it the body goes to a file.
	MemBytes int64
	// TempDir is where such files are made; "" means os.TempDir(). They
	// are unlinked as soon as they are created, so nothing is left behind
	// even if the process dies.
	TempDir string
}

// Apply enforces the policy on r before the application sees it. A body
// of declared length over MaxBytes is ErrBodyTooLarge at once; one of
// unknown length is read to its end and replaces r.Body, with
// r.ContentLength, the Content-Length header and r.TransferEncoding set as
// if the client had sent its length. release frees the spooled body (it is
// never nil); call it once the request is over. On error r is unchanged
// and Status(err) is the status to answer.
func (p BodyPolicy) Apply(r *http.Request) (release func(), err error) {
	release = func() {}
	max := p.MaxBytes
	if max == 0 {
		max = DefaultMaxBodyBytes
	}
	if r.ContentLength >= 0 || r.Body == nil || r.Body == http.NoBody {
		if max > 0 && r.ContentLength > max {
			return release, fmt.Errorf("%w: Content-Length %d, limit %d", ErrBodyTooLarge, r.ContentLength, max)
		}
		return release, nil
	}
	body, n, err := p.spool(r.Body, max)
	if err != nil {
		return release, err
	}
	r.Body = body
	r.ContentLength = n
	r.TransferEncoding = nil
	r.Header.Set("Content-Length", strconv.FormatInt(n, 10))
	if n == 0 {
		r.Body = http.NoBody
	}
	return func() { _ = body.Close() }, nil
}

// spool reads src to its end, up to max bytes (unbounded if max < 0).
func (p BodyPolicy) spool(src io.Reader, max int64) (io.ReadCloser, int64, error) {
	mem := p.MemBytes
	if mem <= 0 {
		mem = DefaultMemBodyBytes
	}
	if max >= 0 && mem > max {
		mem = max
	}
	// Read one byte more than memory holds, to know whether a file is needed.
	var buf bytes.Buffer
	n, err := buf.ReadFrom(io.LimitReader(src, mem+1))
	if err != nil {
		return nil, 0, fmt.Errorf("%w: %w", ErrBodyRead, err)
	}
	if n <= mem {
		return io.NopCloser(bytes.NewReader(buf.Bytes())), n, nil
	}
	if max >= 0 && n > max {
		return nil, 0, fmt.Errorf("%w: more than %d bytes", ErrBodyTooLarge, max)
	}
	f, err := os.CreateTemp(p.TempDir, "forkbench-body-*")
	if err != nil {
		return nil, 0, fmt.Errorf("gateway: spooling request body: %w", err)
	}
	if err := os.Remove(f.Name()); err != nil {
		_ = f.Close()
		return nil, 0, fmt.Errorf("gateway: spooling request body: %w", err)
	}
	rest := src
	if max >= 0 {
		rest = io.LimitReader(src, max-n+1)
	}
	if _, err := f.Write(buf.Bytes()); err != nil {
		_ = f.Close()
		return nil, 0, fmt.Errorf("gateway: spooling request body: %w", err)
	}
	m, err := io.Copy(f, rest)
	n += m
	switch {
	case err != nil && !isWriteErr(err, f):
		err = fmt.Errorf("%w: %w", ErrBodyRead, err)
	case err != nil:
		err = fmt.Errorf("gateway: spooling request body: %w", err)
	case max >= 0 && n > max:
		err = fmt.Errorf("%w: more than %d bytes", ErrBodyTooLarge, max)
	default:
		_, err = f.Seek(0, io.SeekStart)
	}
	if err != nil {
		_ = f.Close()
		return nil, 0, err
	}
	return f, n, nil
}

// isWriteErr reports whether err came from writing f rather than reading
// the client.
func isWriteErr(err error, f *os.File) bool {
	var pe *os.PathError
	return errors.As(err, &pe) && pe.Path == f.Name()
}

// Status is the status a front answers for an error of EnvFor or
// BodyPolicy.Apply: 404, 400, 431, 413, or 500 for anything else.
func Status(err error) int {
	switch {
	case errors.Is(err, ErrNotMounted):
		return http.StatusNotFound
	case errors.Is(err, ErrNULByte), errors.Is(err, ErrBodyRead):
		return http.StatusBadRequest
	case errors.Is(err, ErrEnvTooLarge):
		return http.StatusRequestHeaderFieldsTooLarge
	case errors.Is(err, ErrBodyTooLarge):
		return http.StatusRequestEntityTooLarge
	}
	return http.StatusInternalServerError
}

// Refuse answers a request refused by EnvFor or BodyPolicy.Apply with the
// error's status and a short text body, and returns the status. A 413 also
// closes the connection, since the body was left unread.
func Refuse(w http.ResponseWriter, err error) int {
	code := Status(err)
	if code == http.StatusRequestEntityTooLarge || code == http.StatusBadRequest {
		w.Header().Set("Connection", "close")
	}
	http.Error(w, http.StatusText(code), code)
	return code
}

// Handler applies p to every request before next sees it, answering those
// it refuses (see Refuse). It is how the suite's shared front gives every
// deployment the same body policy.
func (p BodyPolicy) Handler(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		release, err := p.Apply(r)
		defer release()
		if err != nil {
			Refuse(w, err)
			return
		}
		next.ServeHTTP(w, r)
	})
}
