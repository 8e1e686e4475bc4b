package fcgi

// This file is the HTTP side of the front: an http.Handler that forwards
// each request to the FastCGI application and streams its reply back.

import (
	"context"
	"errors"
	"io"
	"log"
	"net/http"
	"os"
	"sync"
	"time"

	"forkbench/internal/gateway"
)

// Proxy is an http.Handler that answers every request through a FastCGI
// responder. A daemon that cannot be reached or replies with something
// that is not a FastCGI/CGI response is answered with 502 Bad Gateway, a
// request that runs out of time with 504 Gateway Timeout, a daemon at
// capacity (every pooled connection busy, or FCGI_OVERLOADED) with 503
// Service Unavailable and Retry-After, each with a short text body; an
// empty 200 is never sent for a failure.
//
// It behaves as an HTTP proxy does (RFC 9110 §7.6.1): hop-by-hop header
// fields are neither passed to the application nor relayed from it, and a
// body the application writes where HTTP allows none (HEAD, 204, 304) is
// read and dropped rather than sent.
type Proxy struct {
	// Client sends the requests; it must be non-nil. Its Timeout bounds
	// the whole request, relaying the reply to the client included, so a
	// client that reads slowly cannot hold a pooled connection longer.
	Client *Client
	// Gateway describes how the application is mounted (SCRIPT_NAME and
	// friends) and extra parameters to pass.
	Gateway gateway.Config
	// Params are "NAME=VALUE" parameters sent with every request, after
	// and instead of any meta-variable of the same name: SCRIPT_FILENAME
	// and DOCUMENT_ROOT, which PHP-FPM needs to find the script, or
	// anything else a daemon expects. See ParseParam.
	Params []string
	// ErrorLog receives one line per failed request; nil means the log
	// package's standard logger.
	ErrorLog *log.Logger

	copyBufs sync.Pool // *[]byte
}

// copyBufSize matches one full STDOUT record.
const copyBufSize = 64 << 10

// maxDrain bounds the body read and dropped after a reply that may not
// have one (HEAD, 204, 304) so that the connection can be kept; past it,
// closing the connection is cheaper.
const maxDrain = 256 << 10

// errorWriteTimeout bounds writing an error answer to the client.
const errorWriteTimeout = time.Second

// retryAfter is the Retry-After sent with a 503: the pool's queue is
// about a second long, so a second is when a slot is likely again.
const retryAfter = "1"

// ServeHTTP implements http.Handler.
func (p *Proxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	rc := http.NewResponseController(w)
	var stdin io.Reader
	if r.Body != nil && r.Body != http.NoBody && r.ContentLength != 0 {
		stdin = r.Body
		// The application may answer before it has read the whole body;
		// without full duplex net/http would cut the body off at the
		// first write of the reply and STDIN would end early.
		_ = rc.EnableFullDuplex()
	}
	if t := p.Client.Timeout; t > 0 {
		// A client that reads slowly must not hold the daemon's
		// connection past the request's time: writes to it end then too.
		// (No read deadline: net/http cancels the request's context when
		// one passes, which would hide the 504 below.) An error means
		// the writer takes no deadlines; the daemon side is bounded all
		// the same.
		_ = rc.SetWriteDeadline(time.Now().Add(t))
	}
	resp, err := p.Client.Do(r.Context(), p.params(r), stdin)
	if err != nil {
		p.fail(w, r, err)
		return
	}
	defer resp.Body.Close()

	if err := copyHeader(w.Header(), resp.Header); err != nil {
		p.fail(w, r, err)
		return
	}
	if !bodyAllowed(r.Method, resp.Status) {
		if resp.Status == http.StatusNoContent {
			w.Header().Del("Content-Length") // RFC 9110 §8.6: MUST NOT
		}
		w.WriteHeader(resp.Status)
		// Whatever body the application wrote is not for the client;
		// drain a little of it to keep the connection, else drop it.
		_, _ = io.CopyN(io.Discard, resp.Body, maxDrain)
		return
	}
	w.WriteHeader(resp.Status)

	bp := p.getCopyBuf()
	werr, rerr := relay(w, resp.Body, *bp)
	p.copyBufs.Put(bp)
	switch {
	case rerr != nil:
		p.logf("fcgi: %s %s: response body: %v", r.Method, r.URL.Path, rerr)
	case errors.Is(werr, os.ErrDeadlineExceeded):
		p.logf("fcgi: %s %s: the client did not take the reply within %v; connection to the daemon closed", r.Method, r.URL.Path, p.Client.Timeout)
	}
	if rerr != nil || werr != nil {
		// The status line is out: all that is left is to make sure the
		// client cannot mistake the truncated body for a whole one.
		// Closing the body (deferred) drops the daemon's connection.
		panic(http.ErrAbortHandler)
	}
}

// relay copies the reply body to the client, each chunk as it arrives,
// and tells a failure to write (werr: the client left or is too slow)
// from a failure to read (rerr: the daemon's reply broke off).
func relay(w io.Writer, body io.Reader, buf []byte) (werr, rerr error) {
	for {
		n, err := body.Read(buf)
		if n > 0 {
			if _, werr = w.Write(buf[:n]); werr != nil {
				return werr, nil
			}
		}
		if errors.Is(err, io.EOF) {
			return nil, nil
		}
		if err != nil {
			return nil, err
		}
	}
}

// bodyAllowed reports whether a response to method with status may carry
// a body (RFC 9110 §6.4.1).
func bodyAllowed(method string, status int) bool {
	return method != http.MethodHead && status != http.StatusNoContent &&
		status != http.StatusNotModified && status >= 200
}

func (p *Proxy) getCopyBuf() *[]byte {
	if bp, ok := p.copyBufs.Get().(*[]byte); ok {
		return bp
	}
	b := make([]byte, copyBufSize)
	return &b
}

// fail answers a request that got no response head from the application.
func (p *Proxy) fail(w http.ResponseWriter, r *http.Request, err error) {
	if r.Context().Err() != nil && errors.Is(err, context.Canceled) {
		return // the client left; nobody to answer
	}
	code := StatusFor(err)
	p.logf("fcgi: %s %s: %d: %v", r.Method, r.URL.Path, code, err)
	// The request's write deadline may have passed with the time it was
	// given; this short answer gets a moment of its own.
	_ = http.NewResponseController(w).SetWriteDeadline(time.Now().Add(errorWriteTimeout))
	h := w.Header()
	clear(h)
	if code == http.StatusServiceUnavailable {
		h.Set("Retry-After", retryAfter)
	}
	http.Error(w, http.StatusText(code), code)
}

// StatusFor maps a Client.Do error to the status a front answers with: 503
// Service Unavailable for a daemon at capacity (ErrPoolExhausted,
// ErrOverloaded), 504 Gateway Timeout for a request that ran out of time,
// 502 Bad Gateway for everything else (daemon unreachable, connection
// lost, malformed reply).
func StatusFor(err error) int {
	switch {
	case errors.Is(err, ErrPoolExhausted), errors.Is(err, ErrOverloaded):
		return http.StatusServiceUnavailable
	case errors.Is(err, os.ErrDeadlineExceeded), errors.Is(err, context.DeadlineExceeded):
		return http.StatusGatewayTimeout
	}
	return http.StatusBadGateway
}

func (p *Proxy) logf(format string, args ...any) {
	if p.ErrorLog != nil {
		p.ErrorLog.Printf(format, args...)
		return
	}
	log.Printf(format, args...)
}
