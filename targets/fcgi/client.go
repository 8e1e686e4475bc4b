package fcgi

// This file is the web-server side of one FastCGI request: BEGIN_REQUEST,
// PARAMS and STDIN out; STDOUT, STDERR and END_REQUEST back, with the STDOUT
// stream parsed as a CGI response.

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"net/http"
	"strings"
	"sync"
	"syscall"
	"time"

	"forkbench/internal/gateway"
)

// ErrUnexpectedRecord is wrapped by errors for a well-formed record the
// client did not ask for: another request id, a management record, or
// STDOUT after the application closed that stream.
var ErrUnexpectedRecord = errors.New("fcgi: unexpected record")

// ErrRequestRejected is wrapped by the error for an END_REQUEST whose
// protocol status is not REQUEST_COMPLETE: the application was overloaded,
// refused the role, or cannot multiplex.
var ErrRequestRejected = errors.New("fcgi: request rejected by the application")

// ErrOverloaded is wrapped, with ErrRequestRejected, by the error for an
// END_REQUEST whose protocol status is FCGI_OVERLOADED: the application is
// out of a resource and a front answers 503, not 502.
var ErrOverloaded = errors.New("fcgi: application overloaded")

// Client defaults; each applies where the matching field is zero.
const (
	// DefaultMaxParamsBytes bounds the encoded parameters of one request.
	// It is above net/http's default MaxHeaderBytes, so a request the
	// front accepted is not refused for its headers alone.
	DefaultMaxParamsBytes = 2 << 20
	// DefaultStderrBytes bounds the STDERR captured per request for the
	// log; the rest is counted, not kept.
	DefaultStderrBytes = 4 << 10
)

// maxAttempts bounds how many connections one request is tried on; only
// kept connections that turn out to be dead earn another try (see Do).
const maxAttempts = 3

// requestID is the id of every request: without multiplexing a
// connection carries one request at a time, so one id suffices.
const requestID = 1

// abortWriteTimeout bounds sending ABORT_REQUEST to a daemon that may no
// longer be reading.
const abortWriteTimeout = time.Second

// stdinChunk is how much of the request body goes in one STDIN record: the
// largest multiple of 8 that fits, so full records need no padding.
const stdinChunk = maxContent &^ 7

// Client sends requests to a FastCGI responder over connections from Pool,
// one request per connection at a time (no multiplexing, which
// net/http/fcgi and most applications do not support anyway).
type Client struct {
	// Pool supplies the connections; it must be non-nil.
	Pool *Pool
	// DisableKeepConn, if true, opens a new connection per request and
	// lets the application close it, as a front without FCGI_KEEP_CONN
	// does. The zero value asks the application to keep connections open
	// and reuses them.
	DisableKeepConn bool
	// Timeout bounds one request, from sending it to the end of its
	// response body, through a deadline on the connection; 0 means no
	// bound other than the request's context. A request that runs out of
	// time fails with an error wrapping os.ErrDeadlineExceeded.
	Timeout time.Duration
	// MaxParamsBytes bounds the encoded parameters; 0 means
	// DefaultMaxParamsBytes. Larger parameters fail with ErrParamsTooLarge.
	MaxParamsBytes int
	// StderrBytes bounds the STDERR kept per request for ErrorLog; 0 means
	// DefaultStderrBytes. The log line says how many bytes were dropped.
	StderrBytes int
	// ErrorLog receives the application's STDERR output; nil means the log
	// package's standard logger.
	ErrorLog *log.Logger

	exchanges sync.Pool // *exchange
	stdinBufs sync.Pool // *[]byte, one STDIN record each
}

// Response is the application's reply. Body streams the STDOUT that
// follows the head; the caller must Close it, which returns the connection
// to the pool if the request ended cleanly. Body must not be used after
// Close.
type Response struct {
	Status int
	Header http.Header
	Body   io.ReadCloser
}

// Do sends one request with params (the "K=V" pairs of gateway.Env) and the
// body read from stdin (nil for none), and returns once the response head
// has arrived. Timeout, if set, bounds the whole request from here: the
// wait for a pooled connection included.
//
// Cancelling ctx while the request is in flight sends ABORT_REQUEST and
// closes the connection; the error then wraps ctx.Err().
//
// A request on a kept connection that turns out to be dead (the daemon
// restarted, or closed it after the last request) is sent again on
// another connection, as Go's HTTP transport does: always if not one byte
// of it could be written, and otherwise only if the daemon sent not one
// byte back and the request is idempotent (RFC 9110 §9.2.2: its
// REQUEST_METHOD is GET, HEAD, OPTIONS, TRACE, PUT or DELETE) without a
// body, since the daemon may have acted on it.
func (c *Client) Do(ctx context.Context, params []string, stdin io.Reader) (*Response, error) {
	var deadline time.Time
	if c.Timeout > 0 {
		deadline = time.Now().Add(c.Timeout)
	}
	// A request that may be sent again needs no look at a kept
	// connection before it goes out: finding it dead costs a retry. The
	// others (a body, a method that may act) are sent only on a
	// connection peeked at first, and so is every retry.
	retryable := stdin == nil && idempotent(params)
	for attempt := 1; ; attempt++ {
		x := c.getExchange()
		var err error
		x.head, err = c.appendHead(x.head[:0], params, stdin == nil)
		if err != nil {
			c.exchanges.Put(x)
			return nil, err
		}
		conn, err := c.Pool.get(ctx, deadline, !retryable || attempt > 1)
		if err != nil {
			c.exchanges.Put(x)
			return nil, err
		}
		resp, lost, err := x.roundTrip(ctx, c, conn, stdin, deadline)
		if err == nil {
			return resp, nil
		}
		if lost == keptAlive {
			return nil, err
		}
		c.Pool.lostKept(conn)
		if !(lost == lostBeforeSend || retryable) || attempt == maxAttempts || ctx.Err() != nil {
			return nil, err
		}
		// The retry peeks at every kept connection it takes, so the
		// dead ones (all of them when the daemon restarted, one when a
		// worker was recycled) are dropped without failing again.
	}
}

// lostKind says whether a request failed because the kept connection it
// was sent on was already dead, and how far it got.
type lostKind uint8

const (
	keptAlive      lostKind = iota // the connection was fresh, or the failure lies elsewhere
	lostBeforeSend                 // no byte of the request was written
	lostNoReply                    // the request went out; the daemon closed without a byte back
)

// idempotent reports whether params carry an idempotent REQUEST_METHOD.
func idempotent(params []string) bool {
	for _, kv := range params {
		if m, ok := strings.CutPrefix(kv, "REQUEST_METHOD="); ok {
			switch m {
			case "GET", "HEAD", "OPTIONS", "TRACE", "PUT", "DELETE":
				return true
			}
			return false
		}
	}
	return false
}

func (c *Client) getExchange() *exchange {
	if x, ok := c.exchanges.Get().(*exchange); ok {
		return x
	}
	return &exchange{
		stdinDone: make(chan error, 1),
		headBR:    bufio.NewReaderSize(nil, 4<<10),
	}
}

// appendHead encodes BEGIN_REQUEST, the PARAMS stream and, for a request
// without a body, the empty STDIN record, so that such a request goes out
// in one write.
func (c *Client) appendHead(dst []byte, params []string, noBody bool) ([]byte, error) {
	limit := c.MaxParamsBytes
	if limit <= 0 {
		limit = DefaultMaxParamsBytes
	}
	total := 0
	for _, kv := range params {
		name, value, _ := strings.Cut(kv, "=")
		total += pairLen(len(name), len(value))
		if total > limit {
			return dst, fmt.Errorf("%w: more than %d bytes (MaxParamsBytes)", ErrParamsTooLarge, limit)
		}
	}
	var flags uint8
	if !c.DisableKeepConn && (c.Pool == nil || !c.Pool.KeepingStopped()) {
		flags = flagKeepConn
	}
	dst = appendBeginRequest(dst, requestID, roleResponder, flags)
	if total > 0 {
		// Encode the pairs straight after a header placeholder; only
		// parameters beyond one record's worth need a second pass.
		start := len(dst)
		dst = appendHeader(dst, typeParams, requestID, total)
		for _, kv := range params {
			name, value, _ := strings.Cut(kv, "=")
			dst = appendPair(dst, name, value)
		}
		if total <= maxContent {
			dst = append(dst, zeros[:-total&7]...)
		} else {
			pairs := append([]byte(nil), dst[start+headerLen:]...)
			dst = appendRecords(dst[:start], typeParams, requestID, pairs)
		}
	}
	dst = appendRecords(dst, typeParams, requestID, nil)
	if noBody {
		dst = appendRecords(dst, typeStdin, requestID, nil)
	}
	return dst, nil
}

// exchange is the state of one request on one connection. It is recycled
// through Client.exchanges once nothing refers to it any more.
type exchange struct {
	client *Client
	conn   *Conn
	head   []byte        // encoded BEGIN_REQUEST + PARAMS (+ empty STDIN)
	headBR *bufio.Reader // buffers STDOUT for the CGI head parser
	out    stdout

	stopAbort func() bool // unregisters the ctx watch; nil if none
	stdinDone chan error  // the STDIN copier's result, if one runs
	stdinRuns bool

	wmu sync.Mutex // serialises record writes: head, STDIN, ABORT

	amu     sync.Mutex // guards the fields below
	aborted bool       // ABORT_REQUEST sent or attempted; conn is done
	cause   error      // why the request was aborted
	broken  bool       // a write stopped inside a record
}

// roundTrip runs the request on conn up to the response head. lost says
// whether the failure was a kept connection found dead (see Do).
func (x *exchange) roundTrip(ctx context.Context, c *Client, conn *Conn, stdin io.Reader, deadline time.Time) (resp *Response, lost lostKind, err error) {
	x.client, x.conn = c, conn
	x.out.reset(conn.br, c.stderrLimit())
	x.aborted, x.cause, x.broken, x.stdinRuns = false, nil, false, false

	if err := conn.SetDeadline(deadline); err != nil {
		// A kept connection the daemon closed can fail here already,
		// before any byte went out (net.Pipe does): a retry is safe.
		x.finish(false)
		if conn.reused() && isConnGone(err) {
			lost = lostBeforeSend
		}
		return nil, lost, fmt.Errorf("fcgi: set deadline: %w", err)
	}
	if ctx.Done() != nil {
		x.stopAbort = context.AfterFunc(ctx, func() { x.abort(ctx.Err()) })
	}

	if err := x.write(x.head); err != nil {
		if conn.reused() && !x.broken && isConnGone(err) {
			lost = lostBeforeSend
		}
		err = x.failure("sending request", err)
		x.finish(false)
		return nil, lost, err
	}
	if stdin != nil {
		x.stdinRuns = true
		go x.copyStdin(stdin)
	}

	x.headBR.Reset(&x.out)
	status, h, err := gateway.ReadResponseHeader(x.headBR)
	if err != nil {
		// The head parser reports any EOF as a malformed head; whether
		// the connection was dead on arrival is in the record reader.
		if conn.reused() && !x.out.any && x.out.err != nil && isConnGone(x.out.err) {
			lost = lostNoReply
		}
		err = x.failure("reading response head", err)
		x.finish(false)
		return nil, lost, err
	}
	return &Response{Status: status, Header: h, Body: &body{x: x}}, keptAlive, nil
}

// isConnGone reports whether err is what a connection closed by the peer
// gives, as opposed to a timeout, a cancellation or a bad reply.
func isConnGone(err error) bool {
	return errors.Is(err, io.EOF) || errors.Is(err, io.ErrClosedPipe) || errors.Is(err, syscall.EPIPE) || errors.Is(err, syscall.ECONNRESET)
}

// failure turns err into the error to report: the abort's cause if the
// request was aborted (the deadline that abort sets is not the story).
func (x *exchange) failure(op string, err error) error {
	x.amu.Lock()
	cause := x.cause
	x.amu.Unlock()
	if cause != nil {
		return fmt.Errorf("fcgi: request aborted: %w", cause)
	}
	return fmt.Errorf("fcgi: %s: %w", op, err)
}

// write sends one or more whole records, unless the request was aborted.
func (x *exchange) write(b []byte) error {
	x.wmu.Lock()
	defer x.wmu.Unlock()
	x.amu.Lock()
	aborted := x.aborted
	x.amu.Unlock()
	if aborted {
		return errAborted
	}
	n, err := x.conn.Write(b)
	if err != nil && n > 0 {
		x.amu.Lock()
		x.broken = true // the peer would read our next record as this one's tail
		x.amu.Unlock()
	}
	return err
}

// errAborted stops writers once ABORT_REQUEST has been sent.
var errAborted = errors.New("fcgi: request aborted")

// aLongTimeAgo is a deadline in the past, which unblocks pending I/O.
var aLongTimeAgo = time.Unix(1, 0)

// abort sends ABORT_REQUEST, if the stream is still whole, and makes every
// pending and later read and write on the connection fail. The connection
// is then only good for closing.
func (x *exchange) abort(cause error) {
	x.amu.Lock()
	if x.aborted {
		x.amu.Unlock()
		return
	}
	x.aborted, x.cause = true, cause
	x.amu.Unlock()

	// A STDIN write blocked on a daemon that stopped reading holds wmu;
	// fail it first.
	_ = x.conn.SetWriteDeadline(aLongTimeAgo)
	x.wmu.Lock()
	x.amu.Lock()
	broken := x.broken
	x.amu.Unlock()
	if !broken {
		var rec [headerLen]byte
		_ = x.conn.SetWriteDeadline(time.Now().Add(abortWriteTimeout))
		_, _ = x.conn.Write(appendHeader(rec[:0], typeAbortRequest, requestID, 0))
	}
	x.wmu.Unlock()
	_ = x.conn.SetReadDeadline(aLongTimeAgo)
}

// copyStdin streams the request body as STDIN records, then the empty one.
// It runs beside the response reader so that an application that answers
// before reading the whole body cannot deadlock the two.
func (x *exchange) copyStdin(r io.Reader) {
	bp := x.client.getStdinBuf()
	buf := *bp
	err := func() error {
		for {
			n, rerr := r.Read(buf[headerLen : headerLen+stdinChunk])
			if n > 0 {
				rec := appendHeader(buf[:0], typeStdin, requestID, n)
				rec = append(rec[:headerLen+n], zeros[:-n&7]...)
				if err := x.write(rec); err != nil {
					return err
				}
			}
			if errors.Is(rerr, io.EOF) {
				return x.write(appendHeader(buf[:0], typeStdin, requestID, 0))
			}
			if rerr != nil {
				err := fmt.Errorf("fcgi: reading request body: %w", rerr)
				x.abort(err)
				return err
			}
		}
	}()
	x.client.stdinBufs.Put(bp)
	x.stdinDone <- err
}

func (c *Client) getStdinBuf() *[]byte {
	if bp, ok := c.stdinBufs.Get().(*[]byte); ok {
		return bp
	}
	b := make([]byte, headerLen+stdinChunk+8)
	return &b
}

func (c *Client) stderrLimit() int {
	if c.StderrBytes > 0 {
		return c.StderrBytes
	}
	return DefaultStderrBytes
}

// finish ends the exchange: it returns the connection to the pool (kept
// only if ok and nothing went wrong), logs captured STDERR and recycles x
// unless the abort or the STDIN copier may still be using it.
func (x *exchange) finish(ok bool) {
	c := x.client
	inUse := false
	if x.stopAbort != nil {
		if !x.stopAbort() {
			ok, inUse = false, true // the abort ran or is running
		}
		x.stopAbort = nil
	}
	if x.stdinRuns {
		select {
		case err := <-x.stdinDone:
			ok = ok && err == nil
		default:
			// The application answered before taking the whole body;
			// closing the connection stops the copier.
			ok, inUse = false, true
		}
	}
	x.amu.Lock()
	ok = ok && !x.aborted && !x.broken
	x.amu.Unlock()
	ok = ok && !c.DisableKeepConn && x.out.clean() && x.headBR.Buffered() == 0
	c.Pool.Put(x.conn, ok)
	x.out.logStderr(c.ErrorLog)
	if inUse {
		return // left to the garbage collector
	}
	x.headBR.Reset(nil)
	x.out.reset(nil, 0)
	x.client, x.conn = nil, nil
	c.exchanges.Put(x)
}

// body is the Response.Body handed to the caller; a separate small value so
// that a use after Close finds nil rather than a recycled exchange.
type body struct {
	x   *exchange
	err error
}

func (b *body) Read(p []byte) (int, error) {
	if b.x == nil {
		if b.err != nil {
			return 0, b.err
		}
		return 0, errors.New("fcgi: read on closed response body")
	}
	n, err := b.x.headBR.Read(p)
	if err != nil && !errors.Is(err, io.EOF) {
		err = b.x.failure("reading response body", err)
		b.err = err
	}
	return n, err
}

func (b *body) Close() error {
	if b.x == nil {
		return nil
	}
	x := b.x
	b.x = nil
	x.finish(x.out.end)
	return nil
}

// stdout demultiplexes the records of one request: it yields the STDOUT
// stream's bytes, captures STDERR, and ends (io.EOF) at END_REQUEST. Bytes
// are read from the connection's buffer straight into the caller's slice.
type stdout struct {
	br      *bufio.Reader
	remain  int   // STDOUT content left in the current record
	pad     int   // its padding, skipped before the next header
	err     error // sticky; io.EOF after a clean END_REQUEST
	end     bool  // END_REQUEST read
	closed  bool  // the empty STDOUT record seen
	any     bool  // any byte of a reply read
	scratch [headerLen]byte

	appStatus     uint32
	stderr        []byte
	stderrMax     int
	stderrDropped int
}

func (s *stdout) reset(br *bufio.Reader, stderrMax int) {
	*s = stdout{br: br, stderr: s.stderr[:0], stderrMax: stderrMax}
}

// clean reports whether the reply ended with END_REQUEST and nothing
// followed it, so the connection may carry another request.
func (s *stdout) clean() bool {
	return s.end && errors.Is(s.err, io.EOF) && s.br.Buffered() == 0
}

func (s *stdout) Read(p []byte) (int, error) {
	for s.remain == 0 {
		if s.err != nil {
			return 0, s.err
		}
		s.err = s.next()
	}
	if len(p) > s.remain {
		p = p[:s.remain]
	}
	n, err := s.br.Read(p)
	s.remain -= n
	if err != nil {
		s.remain = 0
		s.err = truncated(err)
		if n == 0 {
			return 0, s.err
		}
	}
	return n, nil
}

// truncated classifies an error met inside a record: EOF there means the
// daemon closed the connection mid-record.
func truncated(err error) error {
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return fmt.Errorf("%w: stream ends inside a record: %w", ErrMalformedRecord, io.ErrUnexpectedEOF)
	}
	return err
}

// next reads records up to the next STDOUT content, returning a non-nil
// error (io.EOF at a clean END_REQUEST) when the reply ends instead.
func (s *stdout) next() error {
	if s.pad > 0 {
		if _, err := s.br.Discard(s.pad); err != nil {
			return truncated(err)
		}
		s.pad = 0
	}
	h, err := readHeader(s.br, &s.scratch)
	if err != nil {
		if errors.Is(err, io.EOF) {
			if s.any {
				return fmt.Errorf("fcgi: connection closed before END_REQUEST: %w", io.ErrUnexpectedEOF)
			}
			return fmt.Errorf("fcgi: connection closed before any reply: %w", io.EOF)
		}
		return err
	}
	s.any = true
	if h.ID != requestID {
		return fmt.Errorf("%w: type %d for request %d, want %d", ErrUnexpectedRecord, h.Type, h.ID, requestID)
	}
	switch h.Type {
	case typeStdout:
		if h.ContentLength == 0 {
			s.closed = true
		} else if s.closed {
			return fmt.Errorf("%w: STDOUT after the end of STDOUT", ErrUnexpectedRecord)
		}
		s.remain, s.pad = int(h.ContentLength), int(h.PaddingLength)
		return nil
	case typeStderr:
		s.pad = int(h.PaddingLength)
		return s.captureStderr(int(h.ContentLength))
	case typeEndRequest:
		if h.ContentLength != 8 {
			return fmt.Errorf("%w: END_REQUEST body of %d bytes, want 8", ErrMalformedRecord, h.ContentLength)
		}
		b, err := s.br.Peek(8)
		if err != nil {
			return truncated(err)
		}
		appStatus, protoStatus, _ := parseEndRequest(b)
		if _, err := s.br.Discard(8 + int(h.PaddingLength)); err != nil {
			return truncated(err)
		}
		s.end, s.appStatus = true, appStatus
		switch protoStatus {
		case statusRequestComplete:
		case statusOverloaded:
			return fmt.Errorf("%w: %w", ErrRequestRejected, ErrOverloaded)
		default:
			return fmt.Errorf("%w: %s", ErrRequestRejected, protocolStatusText(protoStatus))
		}
		return io.EOF
	}
	return fmt.Errorf("%w: type %d", ErrUnexpectedRecord, h.Type)
}

// captureStderr keeps up to stderrMax bytes of STDERR and counts the rest.
func (s *stdout) captureStderr(n int) error {
	for n > 0 {
		b, err := s.br.Peek(min(n, s.br.Size()))
		if len(b) == 0 && err != nil {
			return truncated(err)
		}
		keep := min(len(b), s.stderrMax-len(s.stderr))
		s.stderr = append(s.stderr, b[:keep]...)
		s.stderrDropped += len(b) - keep
		_, _ = s.br.Discard(len(b))
		n -= len(b)
	}
	return nil
}

func (s *stdout) logStderr(l *log.Logger) {
	if len(s.stderr) == 0 && s.stderrDropped == 0 {
		return
	}
	if l == nil {
		l = log.Default()
	}
	if s.stderrDropped > 0 {
		l.Printf("fcgi: application stderr (first %d bytes; %d more dropped, see Client.StderrBytes): %q", len(s.stderr), s.stderrDropped, s.stderr)
		return
	}
	l.Printf("fcgi: application stderr: %q", s.stderr)
}

func protocolStatusText(s uint8) string {
	switch s {
	case statusCantMultiplex:
		return "CANT_MPX_CONN"
	case statusUnknownRole:
		return "UNKNOWN_ROLE"
	}
	return fmt.Sprintf("protocol status %d", s)
}
