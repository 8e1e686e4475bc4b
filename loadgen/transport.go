package loadgen

// This file is the generator's HTTP/1.1 client: an http.RoundTripper on
// fasthttp's HostClient, so that vegeta (which only accepts an
// *http.Client) sends requests at a fraction of net/http's CPU cost per
// request. On a 2-core machine with the generator on one core, net/http's
// client is the bottleneck long before a fast server is; see the package
// documentation for the measured figures.

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/valyala/fasthttp"
)

// Transport names accepted by Options.Transport.
const (
	TransportFastHTTP = "fasthttp"
	TransportNetHTTP  = "nethttp"
)

// ErrUnsupportedScheme is returned by FastTransport for URLs that are not
// http or https.
var ErrUnsupportedScheme = errors.New("loadgen: unsupported URL scheme")

// FastTransport is an http.RoundTripper built on fasthttp's HostClient, one
// per scheme and host. It speaks HTTP/1.1 only, never follows redirects,
// never decompresses, never uses a proxy and keeps at most MaxConns
// connections per host; a request that finds them all busy waits for one
// (that wait is part of its latency).
//
// The *http.Response it returns holds the fasthttp response until its Body
// is closed, so bodies are not copied; Close returns both to pools. Response
// headers are copied into the http.Header only when ResponseHeaders is set,
// because building that map costs more than the rest of a small response.
//
// Errors keep net/http's wording where it matters for classification
// ("connection refused", "connection reset by peer", "timeout", "EOF"), so
// that ClassifyError gives the same kind whichever transport was used.
type FastTransport struct {
	// MaxConns is the connection limit per host; 0 means 1.
	MaxConns int
	// Timeout bounds the wait for a free connection, and separately the
	// exchange on the connection (writing the request, reading the whole
	// response), to within an eighth: a connection's deadline is renewed
	// to 9/8 of Timeout only when less than Timeout is left, not twice
	// per request, which saves a measurable share of the generator's CPU
	// against a fast target. A timed-out request therefore fails after
	// between Timeout and 9/8 of it on the connection. 0 means no limit.
	Timeout time.Duration
	// DisableKeepAlives sends "Connection: close" and uses one connection
	// per request.
	DisableKeepAlives bool
	// ResponseHeaders copies response headers into http.Response.Header;
	// when false Header is nil.
	ResponseHeaders bool
	// TLSConfig is used for https hosts; nil means a default config.
	TLSConfig *tls.Config

	mu      sync.Mutex
	clients map[hostKey]*fasthttp.HostClient
	bodies  sync.Pool
}

var _ http.RoundTripper = (*FastTransport)(nil)

type hostKey struct{ scheme, host string }

// RoundTrip implements http.RoundTripper. It always closes req.Body.
func (t *FastTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	hc, err := t.hostClient(req)
	if err != nil {
		closeBody(req)
		return nil, err
	}
	freq := fasthttp.AcquireRequest()
	defer fasthttp.ReleaseRequest(freq)
	if err := t.buildRequest(freq, req); err != nil {
		return nil, err
	}
	fresp := fasthttp.AcquireResponse()
	if err := t.do(hc, freq, fresp); err != nil {
		fasthttp.ReleaseResponse(fresp)
		return nil, err
	}
	return t.response(req, fresp), nil
}

// do sends freq and reads the answer into fresp, with net/http's wording
// for errors.
func (t *FastTransport) do(hc *fasthttp.HostClient, freq *fasthttp.Request, fresp *fasthttp.Response) error {
	if err := hc.Do(freq, fresp); err != nil {
		if errors.Is(err, fasthttp.ErrConnectionClosed) || errors.Is(err, io.EOF) {
			if cause := connError(fresp); cause != nil {
				err = cause
			}
		}
		return mapFastError(err)
	}
	return nil
}

// CloseIdleConnections closes every idle connection of every host.
func (t *FastTransport) CloseIdleConnections() {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, hc := range t.clients {
		hc.CloseIdleConnections()
	}
}

func closeBody(req *http.Request) {
	if req.Body != nil {
		_ = req.Body.Close()
	}
}

func (t *FastTransport) hostClient(req *http.Request) (*fasthttp.HostClient, error) {
	if req.URL == nil {
		return nil, fmt.Errorf("%w: nil URL", ErrUnsupportedScheme)
	}
	scheme := req.URL.Scheme
	if scheme != "http" && scheme != "https" {
		return nil, fmt.Errorf("%w: %q", ErrUnsupportedScheme, scheme)
	}
	host := req.URL.Host
	key := hostKey{scheme, host}
	t.mu.Lock()
	defer t.mu.Unlock()
	if hc, ok := t.clients[key]; ok {
		return hc, nil
	}
	if t.clients == nil {
		t.clients = make(map[hostKey]*fasthttp.HostClient)
	}
	addr := host
	if req.URL.Port() == "" {
		if scheme == "https" {
			addr = net.JoinHostPort(req.URL.Hostname(), "443")
		} else {
			addr = net.JoinHostPort(req.URL.Hostname(), "80")
		}
	}
	maxConns := t.MaxConns
	if maxConns <= 0 {
		maxConns = 1
	}
	wait := t.Timeout
	if wait <= 0 {
		// HostClient fails at once when all connections are busy unless
		// it may wait; with no timeout, wait as long as a request may.
		wait = 24 * time.Hour
	}
	hc := &fasthttp.HostClient{
		Addr:     addr,
		IsTLS:    scheme == "https",
		MaxConns: maxConns,
		// Wait for a free connection instead of failing: the open model
		// may have more requests in flight than connections.
		MaxConnWaitTimeout: wait,
		// One retry, only where net/http's transport also retries: the
		// server closed or reset a connection before answering (a stale
		// keep-alive connection), and the request is idempotent.
		MaxIdemponentCallAttempts: 2,
		RetryIfErr:                retryStale,
		DialTimeout:               t.dialTCP,
		TLSConfig:                 t.TLSConfig,
		// Send paths and header names exactly as given, like net/http.
		DisablePathNormalizing:        true,
		DisableHeaderNamesNormalizing: false,
		NoDefaultUserAgentHeader:      true,
	}
	t.clients[key] = hc
	return hc, nil
}

// dialTCP uses the standard dialer so that dial errors read as net/http's
// do ("dial tcp 127.0.0.1:1: connect: connection refused"), bounded by
// Timeout, and wraps the connection to remember its last I/O error and to
// keep its deadline.
func (t *FastTransport) dialTCP(addr string, _ time.Duration) (net.Conn, error) {
	d := net.Dialer{Timeout: t.Timeout}
	c, err := d.DialContext(context.Background(), "tcp", addr)
	if err != nil {
		return nil, err
	}
	tc := &trackedConn{Conn: c, timeout: t.Timeout}
	tc.laddr = connAddr{Addr: c.LocalAddr(), c: tc}
	return tc, nil
}

// trackedConn remembers the last read or write error of a connection.
// fasthttp reports any error before the first response byte as EOF; the
// error kept here lets RoundTrip tell a reset from a close, as net/http
// does. fasthttp hands the connection's LocalAddr to the Response, so
// LocalAddr returns a connAddr pointing back here.
//
// With a timeout, a request's Write first makes sure the connection's
// deadline is at least timeout away (see FastTransport.Timeout). Write and
// the reads that follow it are one goroutine's, one request at a time, so
// deadline needs no lock.
type trackedConn struct {
	net.Conn
	laddr    connAddr
	lastErr  atomic.Pointer[error]
	timeout  time.Duration
	deadline time.Time
}

type connAddr struct {
	net.Addr
	c *trackedConn
}

func (c *trackedConn) LocalAddr() net.Addr { return &c.laddr }

func (c *trackedConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	if err != nil && err != io.EOF {
		c.lastErr.Store(&err)
	}
	return n, err
}

func (c *trackedConn) Write(p []byte) (int, error) {
	if c.timeout > 0 {
		if now := time.Now(); c.deadline.Sub(now) < c.timeout {
			c.deadline = now.Add(c.timeout + c.timeout/8)
			if err := c.Conn.SetDeadline(c.deadline); err != nil {
				return 0, err
			}
		}
	}
	n, err := c.Conn.Write(p)
	if err != nil {
		c.lastErr.Store(&err)
	}
	return n, err
}

// connError returns the I/O error that fresp's connection last saw, if the
// connection was reset: the cause fasthttp reported as EOF.
func connError(fresp *fasthttp.Response) error {
	a, ok := fresp.LocalAddr().(*connAddr)
	if !ok {
		return nil
	}
	if p := a.c.lastErr.Load(); p != nil && (errors.Is(*p, syscall.ECONNRESET) || errors.Is(*p, syscall.EPIPE)) {
		return *p
	}
	return nil
}

// retryStale retries once when a connection broke before the first
// response byte, for idempotent requests only.
func retryStale(req *fasthttp.Request, attempts int, err error) (resetTimeout, retry bool) {
	if attempts > 1 {
		return false, false
	}
	h := &req.Header
	if !(h.IsGet() || h.IsHead() || h.IsPut() || h.IsOptions() || h.IsDelete()) {
		return false, false
	}
	return false, errors.Is(err, io.EOF) || errors.Is(err, fasthttp.ErrConnectionClosed) ||
		errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE)
}

func (t *FastTransport) buildRequest(freq *fasthttp.Request, req *http.Request) error {
	freq.Header.SetMethod(req.Method)
	freq.Header.SetRequestURI(req.URL.RequestURI())
	host := req.Host
	if host == "" {
		host = req.URL.Host
	}
	freq.Header.SetHost(host)
	for k, vs := range req.Header {
		switch k {
		case "Host", "Content-Length", "Connection", "Transfer-Encoding":
			continue // set from the request's fields, as net/http does
		}
		for _, v := range vs {
			freq.Header.Add(k, v)
		}
	}
	if t.DisableKeepAlives || req.Close || headerHasToken(req.Header["Connection"], "close") {
		freq.SetConnectionClose()
	}
	if req.Body != nil && req.Body != http.NoBody {
		_, err := io.Copy(freq.BodyWriter(), req.Body)
		closeBody(req)
		if err != nil {
			return fmt.Errorf("loadgen: read request body: %w", err)
		}
	}
	return nil
}

// headerHasToken reports whether a comma-separated header holds token.
func headerHasToken(values []string, token string) bool {
	for _, v := range values {
		for f := range strings.SplitSeq(v, ",") {
			if strings.EqualFold(strings.TrimSpace(f), token) {
				return true
			}
		}
	}
	return false
}

// response wraps fresp in an *http.Response whose Body reads fresp's body
// in place and releases fresp on Close.
func (t *FastTransport) response(req *http.Request, fresp *fasthttp.Response) *http.Response {
	code := fresp.StatusCode()
	b, _ := t.bodies.Get().(*fastBody)
	if b == nil {
		b = &fastBody{}
	}
	b.t, b.resp, b.data, b.off = t, fresp, fresp.Body(), 0
	resp := &http.Response{
		Status:        statusLine(code),
		StatusCode:    code,
		Proto:         "HTTP/1.1",
		ProtoMajor:    1,
		ProtoMinor:    1,
		Body:          b,
		ContentLength: int64(len(b.data)),
		Close:         fresp.ConnectionClose(),
		Request:       req,
	}
	if t.ResponseHeaders {
		resp.Header = make(http.Header)
		for k, v := range fresp.Header.All() {
			key := http.CanonicalHeaderKey(string(k))
			resp.Header[key] = append(resp.Header[key], string(v))
		}
	}
	return resp
}

// statusLines holds net/http's Status text ("200 OK") of every code it
// knows, built once so that a response costs no allocation for it.
var statusLines = func() (s [600]string) {
	for code := range s {
		if text := http.StatusText(code); text != "" {
			s[code] = strconv.Itoa(code) + " " + text
		}
	}
	return s
}()

// statusLine returns net/http's Status text for code.
func statusLine(code int) string {
	if code >= 0 && code < len(statusLines) && statusLines[code] != "" {
		return statusLines[code]
	}
	return strconv.Itoa(code) + " status code " + strconv.Itoa(code)
}

// fastBody reads a fasthttp response body in place.
type fastBody struct {
	t    *FastTransport
	resp *fasthttp.Response
	data []byte
	off  int
}

func (b *fastBody) Read(p []byte) (int, error) {
	if b.resp == nil {
		return 0, errBodyClosed
	}
	if b.off >= len(b.data) {
		return 0, io.EOF
	}
	n := copy(p, b.data[b.off:])
	b.off += n
	return n, nil
}

// WriteTo lets io.Copy skip an intermediate buffer.
func (b *fastBody) WriteTo(w io.Writer) (int64, error) {
	if b.resp == nil {
		return 0, errBodyClosed
	}
	n, err := w.Write(b.data[b.off:])
	b.off += n
	return int64(n), err
}

func (b *fastBody) Close() error {
	if b.resp == nil {
		return nil
	}
	fasthttp.ReleaseResponse(b.resp)
	t := b.t
	*b = fastBody{}
	t.bodies.Put(b)
	return nil
}

var errBodyClosed = errors.New("loadgen: read on closed response body")

// fastError keeps fasthttp's error for errors.Is while giving it net/http's
// wording.
type fastError struct {
	msg string
	err error
}

func (e *fastError) Error() string { return e.msg }
func (e *fastError) Unwrap() error { return e.err }

// Timeout reports whether the error is a timeout, as net.Error does.
func (e *fastError) Timeout() bool {
	return errors.Is(e.err, fasthttp.ErrTimeout) || errors.Is(e.err, os.ErrDeadlineExceeded)
}

func mapFastError(err error) error {
	switch {
	case errors.Is(err, fasthttp.ErrTimeout), errors.Is(err, fasthttp.ErrDialTimeout), errors.Is(err, os.ErrDeadlineExceeded):
		return &fastError{"loadgen: fasthttp: timeout awaiting response", err}
	case errors.Is(err, fasthttp.ErrConnectionClosed), errors.Is(err, io.EOF):
		return &fastError{"loadgen: fasthttp: EOF (server closed connection before the first response byte)", err}
	case errors.Is(err, fasthttp.ErrNoFreeConns):
		return &fastError{"loadgen: fasthttp: timeout waiting for a free connection", err}
	}
	return err
}

// newNetTransport is the stock net/http transport with the same limits as
// FastTransport, used as the reference (Options.Transport "nethttp").
func newNetTransport(maxConns int, timeout time.Duration, noKeepAlive bool) *http.Transport {
	d := &net.Dialer{Timeout: timeout, KeepAlive: 30 * time.Second}
	return &http.Transport{
		Proxy:               nil, // never send benchmark traffic through a proxy
		DialContext:         d.DialContext,
		MaxConnsPerHost:     maxConns,
		MaxIdleConnsPerHost: maxConns,
		MaxIdleConns:        maxConns,
		DisableKeepAlives:   noKeepAlive,
		DisableCompression:  true, // count bytes as sent, like FastTransport
		ForceAttemptHTTP2:   false,
		TLSNextProto:        map[string]func(string, *tls.Conn) http.RoundTripper{},
	}
}

// newClient returns the *http.Client vegeta drives: no redirects followed
// (a 3xx is the answer being measured), the timeout enforced by the
// transport for fasthttp and by the client for net/http.
func newClient(transport string, maxConns int, timeout time.Duration, noKeepAlive, headers bool) *http.Client {
	c := &http.Client{
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	if transport == TransportNetHTTP {
		c.Transport = newNetTransport(maxConns, timeout, noKeepAlive)
		c.Timeout = timeout
		return c
	}
	c.Transport = &FastTransport{
		MaxConns:          maxConns,
		Timeout:           timeout,
		DisableKeepAlives: noKeepAlive,
		ResponseHeaders:   headers,
	}
	return c
}

// SetReadDeadline and SetWriteDeadline ignore a zero time while the
// connection keeps its own deadline: fasthttp clears deadlines it did not
// set (it has no timeout of its own here), which would leave a stalled
// request waiting forever.
func (c *trackedConn) SetReadDeadline(t time.Time) error {
	if c.timeout > 0 && t.IsZero() {
		return nil
	}
	return c.Conn.SetReadDeadline(t)
}

func (c *trackedConn) SetWriteDeadline(t time.Time) error {
	if c.timeout > 0 && t.IsZero() {
		return nil
	}
	return c.Conn.SetWriteDeadline(t)
}
