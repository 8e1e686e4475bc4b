package cgi

// This file is one request's exchange with one child: spawn it, feed it the
// request, relay its response, kill its process group when the request is
// over, and reap it. An exchange is pooled and reused by later requests.

import (
	"bufio"
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"forkbench/internal/gateway"
)

// cause says why a request's context ended before its child exited.
type cause int

const (
	causeNone    cause = iota
	causeTimeout       // Timeout expired
	causeAborted       // the client went away
	causeClosing       // Host.Close
)

// aLongTimeAgo is a deadline in the past, to make blocked reads return.
var aLongTimeAgo = time.Unix(1, 0)

type exchange struct {
	h      *Host
	br     *bufio.Reader // over out, for the head and the body
	out    childStdout
	stderr stderrBuffer
	body   requestBody
	info   unix.Siginfo
	onDone func()        // x.abort, bound once so AfterFunc does not allocate
	done   chan struct{} // abort has finished (capacity 1)

	// Set per request.
	r      *http.Request
	rc     *http.ResponseController // for the request body's read deadline; nil without a body
	stdout *os.File                 // read end of the child's stdout

	mu     sync.Mutex // guards pgid, exited, cause against abort
	pgid   int
	exited bool // the child has exited (it is a zombie until reaped)
	cause  cause
}

func newExchange(h *Host, maxStderr int) *exchange {
	x := &exchange{
		h:      h,
		stderr: stderrBuffer{buf: make([]byte, 0, maxStderr), scratch: make([]byte, 4<<10)},
		done:   make(chan struct{}, 1),
	}
	x.br = bufio.NewReaderSize(&x.out, readBufferSize)
	x.out.readFn = x.out.rawRead
	x.onDone = x.abort
	return x
}

// reset clears what a request set, keeping the buffers.
func (x *exchange) reset() {
	x.br.Reset(&x.out)
	x.out = childStdout{readFn: x.out.readFn}
	x.stderr.buf = x.stderr.buf[:0]
	x.stderr.dropped = 0
	x.body = requestBody{}
	x.r, x.rc, x.stdout = nil, nil, nil
	x.pgid, x.exited, x.cause = 0, false, causeNone
}

// abort runs when the request's context ends before the exchange does: it
// records why, kills the child's process group and unblocks every read the
// exchange may be stuck in.
func (x *exchange) abort() {
	c := causeTimeout
	switch {
	case x.r.Context().Err() != nil:
		c = causeAborted
	case x.h.base.Err() != nil:
		c = causeClosing
	}
	x.mu.Lock()
	x.cause = c
	x.mu.Unlock()
	x.killGroup()
	_ = x.stdout.SetReadDeadline(aLongTimeAgo)
	if x.rc != nil && !x.body.eof.Load() {
		// os/exec's goroutine may be blocked reading a slow client's body.
		_ = x.rc.SetReadDeadline(aLongTimeAgo)
	}
	x.done <- struct{}{}
}

// killGroup sends SIGKILL to the child's process group unless the child
// has been found exited. Because the child is reaped only after exited is
// set, the group id cannot have been reused by the time of the kill.
func (x *exchange) killGroup() {
	x.mu.Lock()
	if !x.exited {
		_ = syscall.Kill(-x.pgid, syscall.SIGKILL)
	}
	x.mu.Unlock()
}

// serve runs one request. It reports whether the response was cut short
// after its head was sent, in which case the caller aborts the connection.
func (x *exchange) serve(ctx context.Context, w http.ResponseWriter, r *http.Request) (truncated bool) {
	h := x.h
	x.r = r
	pr, pw, err := os.Pipe()
	if err != nil {
		h.startErrors.Add(1)
		x.fail(w, http.StatusInternalServerError, "cgi: cannot start child", err, nil)
		return false
	}
	x.stdout = pr
	if x.out.raw, err = pr.SyscallConn(); err != nil { // only for a closed file
		_, _ = pr.Close(), pw.Close()
		h.startErrors.Add(1)
		x.fail(w, http.StatusInternalServerError, "cgi: cannot start child", err, nil)
		return false
	}
	cmd := exec.Cmd{
		Path:        h.path,
		Args:        h.argv,
		Dir:         h.dir,
		Env:         gateway.Env(r, h.cfg),
		Stdin:       h.devNull,
		Stdout:      pw,
		Stderr:      &x.stderr,
		SysProcAttr: &syscall.SysProcAttr{Setpgid: true},
		WaitDelay:   pipeDrainDelay,
	}
	if r.ContentLength > 0 {
		x.body.r = r.Body
		cmd.Stdin = &x.body
		x.rc = http.NewResponseController(w)
		// A script may answer while it still reads its stdin; net/http's
		// HTTP/1 server would otherwise close the body once the head is
		// written. HTTP/2 is full duplex already and says so with an error.
		_ = x.rc.EnableFullDuplex()
	}
	err = cmd.Start()
	_ = pw.Close() // the child has its copy; EOF must come when it closes it
	if err != nil {
		_ = pr.Close()
		h.startErrors.Add(1)
		x.fail(w, http.StatusInternalServerError, "cgi: cannot start child", err, nil)
		return false
	}
	h.spawned.Add(1)
	h.running.Add(1)
	x.pgid = cmd.Process.Pid // Setpgid: the child leads a new group
	stop := context.AfterFunc(ctx, x.onDone)

	status, hdr, headErr := gateway.ReadResponseHeader(x.br)
	var (
		bodyErr  error // reading the child's stdout
		writeErr error // writing to the client
		complete bool  // the child's stdout reached EOF
	)
	if headErr == nil {
		dst := w.Header()
		for k, vv := range hdr {
			if !hopByHop(k) {
				dst[k] = vv
			}
		}
		w.WriteHeader(status)
		// A pause before the body still sends the head, unless there is
		// no body: then the head alone would end the response early.
		allowed := bodyAllowed(r, status)
		x.out.flusher = flusherFor(w)
		x.out.dirty = allowed
		complete, bodyErr, writeErr = x.copyBody(w, allowed)
		if writeErr != nil {
			x.killGroup() // nobody to send the rest to
		}
	} else {
		x.killGroup() // the child may still be running after bad output
	}

	x.waitExited(cmd.Process.Pid)
	// Whatever the child left running in its group goes with it; its
	// unreaped zombie still holds the group id, so this cannot hit
	// another process.
	_ = syscall.Kill(-x.pgid, syscall.SIGKILL)
	waitErr := cmd.Wait()
	h.reaped.Add(1)
	h.running.Add(-1)
	if !stop() {
		<-x.done // abort ran or is running: let it finish before reuse
	}
	_ = pr.Close()

	switch {
	case headErr != nil:
		switch x.cause {
		case causeTimeout:
			h.timeouts.Add(1)
			x.fail(w, http.StatusGatewayTimeout, "cgi: child timed out", headErr, &cmd)
		case causeAborted:
			h.aborted.Add(1)
			x.log(slog.LevelWarn, "cgi: client went away", 0, headErr, &cmd)
		case causeClosing:
			h.rejected.Add(1)
			w.Header().Set("Retry-After", "1")
			x.fail(w, http.StatusServiceUnavailable, "cgi: host closing", headErr, &cmd)
		default:
			h.badGateway.Add(1)
			x.fail(w, http.StatusBadGateway, "cgi: bad response head", headErr, &cmd)
		}
		return false
	case x.cause == causeTimeout:
		h.timeouts.Add(1)
		x.log(slog.LevelError, "cgi: child timed out after sending its head", status, errors.Join(bodyErr, waitErr), &cmd)
		return !complete
	case errors.Is(writeErr, http.ErrContentLength):
		// net/http refused the write that overran the length, so the
		// body the client got is short: a broken response either way.
		x.log(slog.LevelError, "cgi: child wrote more than its Content-Length", status, errors.Join(writeErr, waitErr), &cmd)
		return true
	case x.cause == causeAborted || writeErr != nil:
		h.aborted.Add(1)
		x.log(slog.LevelWarn, "cgi: client went away", status, errors.Join(writeErr, bodyErr), &cmd)
		return false
	case x.cause == causeClosing:
		x.log(slog.LevelWarn, "cgi: host closing", status, errors.Join(bodyErr, waitErr), &cmd)
		return !complete
	case bodyErr != nil || waitErr != nil:
		x.log(slog.LevelError, "cgi: child failed after sending its head", status, errors.Join(bodyErr, waitErr), &cmd)
		return !complete
	case len(x.stderr.buf) > 0 || x.stderr.dropped > 0:
		x.log(slog.LevelWarn, "cgi: child wrote to stderr", status, nil, &cmd)
	}
	return false
}

// waitExited blocks until the child has exited, without reaping it, and
// marks it exited so no later kill can target its group id once reaped.
// A context expiry meanwhile kills the group, which bounds the wait.
func (x *exchange) waitExited(pid int) {
	for {
		err := unix.Waitid(unix.P_PID, pid, &x.info, unix.WEXITED|unix.WNOWAIT, nil)
		if err != syscall.EINTR {
			break // on any other error cmd.Wait reports it
		}
	}
	x.mu.Lock()
	x.exited = true
	x.mu.Unlock()
}

// copyBody relays the child's stdout after the head to w (or discards it
// when the response may have no body). complete reports that the child's
// stdout reached EOF.
func (x *exchange) copyBody(w http.ResponseWriter, write bool) (complete bool, readErr, writeErr error) {
	for {
		if x.br.Buffered() == 0 {
			if _, err := x.br.Peek(1); err != nil {
				if err == io.EOF {
					return true, nil, nil
				}
				return false, err, nil
			}
		}
		b, _ := x.br.Peek(x.br.Buffered())
		if write {
			if _, err := w.Write(b); err != nil {
				return false, nil, err
			}
			x.out.dirty = true
		}
		_, _ = x.br.Discard(len(b))
	}
}

// fail answers the request with a short error body and logs why.
func (x *exchange) fail(w http.ResponseWriter, code int, msg string, err error, cmd *exec.Cmd) {
	http.Error(w, http.StatusText(code), code)
	x.log(slog.LevelError, msg, code, err, cmd)
}

// log writes the one line a failed (or noisy) request gets.
func (x *exchange) log(level slog.Level, msg string, status int, err error, cmd *exec.Cmd) {
	attrs := make([]slog.Attr, 0, 10)
	attrs = append(attrs,
		slog.Int("status", status),
		slog.String("method", x.r.Method),
		slog.String("uri", x.r.RequestURI),
	)
	if cmd != nil && cmd.Process != nil {
		attrs = append(attrs, slog.Int("pid", cmd.Process.Pid))
		if cmd.ProcessState != nil {
			attrs = append(attrs, slog.String("exit", cmd.ProcessState.String()))
		}
	}
	if err != nil {
		attrs = append(attrs, slog.String("err", err.Error()))
	}
	if len(x.stderr.buf) > 0 || x.stderr.dropped > 0 {
		attrs = append(attrs,
			slog.String("stderr", string(x.stderr.buf)),
			slog.Int64("stderr_truncated", x.stderr.dropped))
	}
	x.h.logger().LogAttrs(context.Background(), level, msg, attrs...)
}

// hopByHop reports the fields that describe one connection, which the
// front, not the script, decides (RFC 9110 §7.6.1, RFC 3875 §6.3.4).
func hopByHop(k string) bool {
	switch k {
	case "Connection", "Keep-Alive", "Proxy-Connection", "Te", "Trailer", "Transfer-Encoding", "Upgrade":
		return true
	}
	return false
}

// bodyAllowed reports whether net/http will accept a body for the response,
// so a body the child writes anyway is drained rather than taken for a
// client error.
func bodyAllowed(r *http.Request, status int) bool {
	return r.Method != http.MethodHead && status != http.StatusNoContent && status != http.StatusNotModified
}

type flushFunc func()

func (f flushFunc) Flush() { f() }

func flusherFor(w http.ResponseWriter) http.Flusher {
	if f, ok := w.(http.Flusher); ok {
		return f
	}
	rc := http.NewResponseController(w) // unwraps middleware writers
	return flushFunc(func() { _ = rc.Flush() })
}

// childStdout reads the child's stdout through the runtime poller and, when
// a read would block, first flushes what has been relayed to the client.
// So a slow or streaming script's output reaches the client as soon as the
// script pauses, yet a response the script writes at once costs no extra
// write to the client.
type childStdout struct {
	raw     syscall.RawConn
	flusher http.Flusher // nil until the head has been sent
	dirty   bool         // bytes written to the client since the last flush
	readFn  func(fd uintptr) bool

	p   []byte
	n   int
	err error
}

func (c *childStdout) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	c.p = p
	err := c.raw.Read(c.readFn)
	c.p = nil
	if err != nil {
		return 0, err // a deadline set by abort
	}
	if c.err != nil {
		return 0, c.err
	}
	if c.n == 0 {
		return 0, io.EOF
	}
	return c.n, nil
}

// rawRead is called by RawConn.Read; returning false waits for readability.
func (c *childStdout) rawRead(fd uintptr) bool {
	for {
		n, err := syscall.Read(int(fd), c.p)
		switch err {
		case syscall.EINTR:
			continue
		case syscall.EAGAIN:
			if c.dirty && c.flusher != nil {
				c.dirty = false
				c.flusher.Flush()
			}
			return false
		case nil:
			c.n, c.err = n, nil
		default:
			c.n, c.err = 0, os.NewSyscallError("read", err)
		}
		return true
	}
}

// stderrBuffer keeps the first bytes of the child's stderr and counts the
// rest. Its ReadFrom lets os/exec's copying goroutine read straight into it
// instead of allocating a copy buffer per request.
type stderrBuffer struct {
	buf     []byte // kept bytes; cap is the limit
	scratch []byte // where bytes beyond the limit are read, to be counted
	dropped int64
}

func (s *stderrBuffer) Write(p []byte) (int, error) {
	n := min(len(p), cap(s.buf)-len(s.buf))
	s.buf = append(s.buf, p[:n]...)
	s.dropped += int64(len(p) - n)
	return len(p), nil
}

func (s *stderrBuffer) ReadFrom(r io.Reader) (int64, error) {
	var total int64
	for {
		keep := len(s.buf) < cap(s.buf)
		p := s.scratch
		if keep {
			p = s.buf[len(s.buf):cap(s.buf)]
		}
		n, err := r.Read(p)
		total += int64(n)
		if keep {
			s.buf = s.buf[:len(s.buf)+n]
		} else {
			s.dropped += int64(n)
		}
		if err == io.EOF {
			return total, nil
		}
		if err != nil {
			return total, err
		}
	}
}

// requestBody is the child's stdin: the request body, noting when it has
// been read to the end so abort knows whether a read may still be blocked.
type requestBody struct {
	r   io.Reader
	eof atomic.Bool
}

func (b *requestBody) Read(p []byte) (int, error) {
	n, err := b.r.Read(p)
	if err != nil {
		b.eof.Store(true)
	}
	return n, err
}
