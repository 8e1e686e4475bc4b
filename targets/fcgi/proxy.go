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

	"forkbench/internal/gateway"
)

// Proxy is an http.Handler that answers every request through a FastCGI
// responder. A daemon that cannot be reached or replies with something
// that is not a FastCGI/CGI response is answered with 502 Bad Gateway, a
// request that runs out of time with 504 Gateway Timeout, each with a short
// text body; an empty 200 is never sent for a failure.
type Proxy struct {
	// Client sends the requests; it must be non-nil.
	Client *Client
	// Gateway describes how the application is mounted (SCRIPT_NAME and
	// friends) and extra parameters to pass.
	Gateway gateway.Config
	// ErrorLog receives one line per failed request; nil means the log
	// package's standard logger.
	ErrorLog *log.Logger

	copyBufs sync.Pool // *[]byte
}

// copyBufSize matches one full STDOUT record.
const copyBufSize = 64 << 10

// ServeHTTP implements http.Handler.
func (p *Proxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var stdin io.Reader
	if r.Body != nil && r.Body != http.NoBody && r.ContentLength != 0 {
		stdin = r.Body
	}
	resp, err := p.Client.Do(r.Context(), gateway.Env(r, p.Gateway), stdin)
	if err != nil {
		p.fail(w, r, err)
		return
	}
	defer resp.Body.Close()

	dst := w.Header()
	for k, vv := range resp.Header {
		dst[k] = vv
	}
	w.WriteHeader(resp.Status)

	bp := p.getCopyBuf()
	_, err = io.CopyBuffer(writerOnly{w}, resp.Body, *bp)
	p.copyBufs.Put(bp)
	if err != nil {
		// The status line is out: all that is left is to make sure the
		// client cannot mistake the truncated body for a whole one.
		if r.Context().Err() == nil {
			p.logf("fcgi: %s %s: response body: %v", r.Method, r.URL.Path, err)
		}
		panic(http.ErrAbortHandler)
	}
}

// writerOnly hides ResponseWriter's ReadFrom so that CopyBuffer uses our
// pooled buffer and writes each chunk as it arrives.
type writerOnly struct{ io.Writer }

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
	http.Error(w, http.StatusText(code), code)
}

// StatusFor maps a Client.Do error to the status a front answers with: 504
// Gateway Timeout for a request that ran out of time, 502 Bad Gateway for
// everything else (daemon unreachable, connection lost, malformed reply).
func StatusFor(err error) int {
	if errors.Is(err, os.ErrDeadlineExceeded) || errors.Is(err, context.DeadlineExceeded) {
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
