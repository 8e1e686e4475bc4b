package cgi

// This file is one request's exchange with one child: spawn it, feed it the
// request, relay its response, kill its process group when the request is
// over, and reap it. An exchange is pooled and reused by later requests.

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"strconv"
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
	rc     *http.ResponseController // read deadline of the request body, write deadline of the response
	stdout *os.File                 // read end of the child's stdout
	exited chan struct{}            // closed when the child has exited (it is a zombie until reaped)
	kill   *time.Timer              // SIGKILL after SIGTERM, once the grace is over
	hold   heldTail                 // the last byte of a declared Content-Length

	mu       sync.Mutex // guards pgid, reaped, cause, headSent, drained against abort and the exit watcher
	pgid     int
	reaped   bool // the child has been (or is being) reaped: its group id may be reused
	cause    cause
	headSent bool
	drained  bool   // the child exited and its stdout's drain deadline was set
	gen      uint64 // counts requests, so a late SIGKILL timer can tell it is stale
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
	x.r, x.rc, x.stdout, x.exited, x.kill = nil, nil, nil, nil, nil
	x.hold = heldTail{}
	x.mu.Lock()
	x.pgid, x.reaped, x.cause, x.headSent, x.drained = 0, false, causeNone, false, false
	x.gen++
	x.mu.Unlock()
}

// abort runs when the request's context ends before the exchange does: it
// records why, terminates the child's process group and unblocks every
// read (and, once the head is out, every write) the exchange may be stuck
// in.
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
	headSent := x.headSent
	x.mu.Unlock()
	x.terminate()
	_ = x.stdout.SetReadDeadline(aLongTimeAgo)
	if !x.body.eof.Load() {
		// os/exec's goroutine may be blocked reading a slow client's body.
		_ = x.rc.SetReadDeadline(aLongTimeAgo)
	}
	if headSent {
		// A slow reader may hold the relay in a write: the response is
		// broken anyway, so make the write fail now.
		_ = x.rc.SetWriteDeadline(aLongTimeAgo)
	}
	x.done <- struct{}{}
}

// terminate sends SIGTERM to the child's process group and SIGKILL once
// KillGrace is over, as Apache does, so a script may clean up but cannot
// refuse to go. It may be called more than once.
func (x *exchange) terminate() {
	x.mu.Lock()
	defer x.mu.Unlock()
	if x.reaped || x.kill != nil {
		return
	}
	_ = syscall.Kill(-x.pgid, syscall.SIGTERM)
	gen := x.gen
	x.kill = time.AfterFunc(x.h.grace, func() {
		x.mu.Lock()
		defer x.mu.Unlock()
		if x.gen == gen && !x.reaped { // not a later request's child
			_ = syscall.Kill(-x.pgid, syscall.SIGKILL)
		}
	})
}

// killGroup sends SIGKILL to the child's process group unless the child is
// being reaped. The child is reaped only after reaped is set, so until then
// its zombie holds the group id and the kill cannot hit another group.
func (x *exchange) killGroup() {
	x.mu.Lock()
	if !x.reaped {
		_ = syscall.Kill(-x.pgid, syscall.SIGKILL)
	}
	x.mu.Unlock()
}

// watchExit closes x.exited when the child exits, without reaping it, and
// from then on gives its stdout ExitDrain to reach EOF: a background
// process the script left holding the pipe must not hold the response.
func (x *exchange) watchExit(pid int, exited chan<- struct{}) {
	awaitExit(pid, &x.info)
	x.mu.Lock()
	if x.cause == causeNone {
		x.drained = true
		_ = x.stdout.SetReadDeadline(time.Now().Add(x.h.drain))
	}
	x.mu.Unlock()
	close(exited)
}

// awaitExit returns once pid has exited, without reaping it. It waits on a
// pidfd in the runtime's poller, so no OS thread is held per child (a
// blocking waitid costs a thread hand-off per request), and falls back to
// a blocking waitid where pidfds are not available. On error it returns
// at once: cmd.Wait will report it.
func awaitExit(pid int, info *unix.Siginfo) {
	if fd, err := unix.PidfdOpen(pid, unix.PIDFD_NONBLOCK); err == nil {
		f := os.NewFile(uintptr(fd), "pidfd")
		defer f.Close()
		if rc, err := f.SyscallConn(); err == nil {
			var werr error
			err = rc.Read(func(fd uintptr) bool {
				*info = unix.Siginfo{}
				werr = unix.Waitid(unix.P_PIDFD, int(fd), info, unix.WEXITED|unix.WNOWAIT|unix.WNOHANG, nil)
				// Linux writes si_signo 0 when nothing has exited yet.
				return (werr != nil && werr != syscall.EINTR) || info.Signo != 0
			})
			if err == nil {
				return
			}
		}
	}
	for {
		err := unix.Waitid(unix.P_PID, pid, info, unix.WEXITED|unix.WNOWAIT, nil)
		if err != syscall.EINTR {
			return
		}
	}
}

// outcome is what the relay of one response found.
type outcome struct {
	status   int
	headErr  error // no valid head was read (or it could not be sent)
	bodyErr  error // reading the child's stdout after the head
	writeErr error // writing to the client
	complete bool  // the child's stdout reached EOF (or was drained after its exit)
	heldOpen bool  // the child exited but something else kept its stdout open
	lingered bool  // the child kept running after closing its stdout, and was killed
	waitErr  error
	cmd      *exec.Cmd
}

// serve runs one request. It reports whether the response was cut short
// after its head was sent, in which case the caller aborts the connection.
func (x *exchange) serve(ctx context.Context, w http.ResponseWriter, r *http.Request, env []string) (truncated bool) {
	x.r = r
	x.rc = http.NewResponseController(w)
	cmd, err := x.start(w, r, env)
	if err != nil {
		x.h.startErrors.Add(1)
		code := http.StatusInternalServerError
		if errors.Is(err, syscall.EAGAIN) || errors.Is(err, syscall.ENOMEM) {
			// Out of processes or memory for now: a client may retry.
			code = http.StatusServiceUnavailable
			w.Header().Set("Retry-After", "1")
		}
		x.fail(w, code, "cgi: cannot start child", err, nil)
		return false
	}
	stop := context.AfterFunc(ctx, x.onDone)
	o := x.relay(w, r, cmd)
	if !stop() {
		<-x.done // abort ran or is running: let it finish before reuse
	}
	_ = x.stdout.Close()
	return x.report(w, o)
}

// start spawns the child with its stdout on a pipe the exchange reads
// through the runtime poller, and starts watching for its exit.
func (x *exchange) start(w http.ResponseWriter, r *http.Request, env []string) (*exec.Cmd, error) {
	h := x.h
	pr, pw, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	if x.out.raw, err = pr.SyscallConn(); err != nil { // only for a closed file
		_, _ = pr.Close(), pw.Close()
		return nil, err
	}
	x.stdout = pr
	cmd := &exec.Cmd{
		Path:        h.path,
		Args:        h.argv,
		Dir:         h.dir,
		Env:         env,
		Stdin:       h.devNull,
		Stdout:      pw,
		Stderr:      &x.stderr,
		SysProcAttr: &syscall.SysProcAttr{Setpgid: true},
		WaitDelay:   pipeDrainDelay,
	}
	if r.ContentLength > 0 {
		x.body.r = r.Body
		cmd.Stdin = &x.body
		// A script may answer while it still reads its stdin; net/http's
		// HTTP/1 server would otherwise close the body once the head is
		// written. HTTP/2 is full duplex already and says so with an error.
		_ = x.rc.EnableFullDuplex()
	} else {
		x.body.eof.Store(true)
	}
	start := cmd.Start
	if h.testHookStart != nil {
		start = func() error { return h.testHookStart(cmd) }
	}
	err = start()
	_ = pw.Close() // the child has its copy; EOF must come when it closes it
	if err != nil {
		_ = pr.Close()
		x.stdout = nil
		return nil, err
	}
	h.spawned.Add(1)
	h.running.Add(1)
	x.pgid = cmd.Process.Pid // Setpgid: the child leads a new group
	x.exited = make(chan struct{})
	go x.watchExit(cmd.Process.Pid, x.exited)
	return cmd, nil
}

// relay reads the child's response and sends it on, then waits for the
// child's exit and reaps it. The response ends when both the child has
// exited and its stdout has reached EOF, each given ExitDrain after the
// other; whatever is left in the group is then killed.
func (x *exchange) relay(w http.ResponseWriter, r *http.Request, cmd *exec.Cmd) outcome {
	o := outcome{cmd: cmd}
	var hdr http.Header
	o.status, hdr, o.headErr = gateway.ReadResponseHeader(x.br)
	if o.headErr == nil {
		x.mu.Lock()
		x.headSent = x.cause == causeNone
		if !x.headSent {
			o.headErr = fmt.Errorf("cgi: request ended before the head was sent: %w", context.Cause(x.r.Context()))
		}
		x.mu.Unlock()
	}
	if o.headErr == nil {
		dst := w.Header()
		for k, vv := range hdr {
			if !hopByHop(k) {
				dst[k] = vv
			}
		}
		allowed := bodyAllowed(r, o.status)
		if cl := hdr.Get("Content-Length"); cl != "" && allowed {
			n, _ := strconv.ParseInt(cl, 10, 64) // digits, checked by ReadResponseHeader
			x.hold = heldTail{declared: n}
		} else {
			x.hold = heldTail{declared: -1}
		}
		w.WriteHeader(o.status)
		// A pause before the body still sends the head, unless there is
		// no body: then the head alone would end the response early.
		x.out.flusher = flusherFor(w)
		x.out.dirty = allowed
		o.complete, o.bodyErr, o.writeErr = x.copyBody(w, allowed)
		if o.writeErr != nil {
			x.terminate() // nobody to send the rest to
		}
	} else {
		x.terminate() // the child may still be running after bad output
	}
	o.heldOpen, o.lingered = x.settle(&o)

	x.mu.Lock()
	// Whatever the child left running in its group goes with it; its
	// unreaped zombie still holds the group id, so this cannot hit
	// another process.
	_ = syscall.Kill(-x.pgid, syscall.SIGKILL)
	x.reaped = true
	if x.kill != nil {
		x.kill.Stop()
	}
	x.mu.Unlock()
	o.waitErr = cmd.Wait()
	x.h.reaped.Add(1)
	x.h.running.Add(-1)
	return o
}

// settle waits for the child's exit once its output is over. A deadline
// set by the exit watcher (not by abort) means the child exited and
// something else held its stdout: its output is over. A child that closed
// its stdout but does not exit within ExitDrain is killed.
func (x *exchange) settle(o *outcome) (heldOpen, lingered bool) {
	x.mu.Lock()
	drained, c := x.drained, x.cause
	x.mu.Unlock()
	if c == causeNone && drained {
		if o.headErr != nil && errors.Is(o.headErr, os.ErrDeadlineExceeded) {
			o.headErr = fmt.Errorf("%w: the child exited and another process kept its stdout open", gateway.ErrMalformedHeader)
			heldOpen = true
		} else if errors.Is(o.bodyErr, os.ErrDeadlineExceeded) {
			o.bodyErr, o.complete, heldOpen = nil, true, true
		}
	}
	select {
	case <-x.exited:
		return heldOpen, false
	default:
	}
	if o.complete && c == causeNone {
		t := time.NewTimer(x.h.drain)
		select {
		case <-x.exited:
		case <-t.C:
			lingered = true
			x.killGroup()
		}
		t.Stop()
	}
	<-x.exited // bounded: every other path has terminated the group
	return heldOpen, lingered
}

// report answers or logs the request according to how it went; it returns
// whether the connection must be aborted.
func (x *exchange) report(w http.ResponseWriter, o outcome) (truncated bool) {
	h, cmd, status := x.h, o.cmd, o.status
	if o.headErr != nil {
		switch x.cause {
		case causeTimeout:
			h.timeouts.Add(1)
			x.fail(w, http.StatusGatewayTimeout, "cgi: child timed out", o.headErr, cmd)
		case causeAborted:
			h.aborted.Add(1)
			x.log(slog.LevelWarn, "cgi: client went away", 0, o.headErr, cmd)
		case causeClosing:
			h.rejected.Add(1)
			w.Header().Set("Retry-After", "1")
			x.fail(w, http.StatusServiceUnavailable, "cgi: host closing", o.headErr, cmd)
		default:
			h.badGateway.Add(1)
			x.fail(w, http.StatusBadGateway, "cgi: bad response head", errors.Join(o.headErr, o.waitErr), cmd)
		}
		return false
	}
	switch {
	case x.cause == causeTimeout:
		h.timeouts.Add(1)
		x.log(slog.LevelError, "cgi: child timed out after sending its head", status, errors.Join(o.bodyErr, o.waitErr), cmd)
		return true
	case errors.Is(o.writeErr, http.ErrContentLength):
		// The child wrote more than it declared: the body the client got
		// is short of its last byte, a broken response either way.
		h.failed.Add(1)
		x.log(slog.LevelError, "cgi: child wrote more than its Content-Length", status, errors.Join(o.writeErr, o.waitErr), cmd)
		return true
	case x.cause == causeAborted || o.writeErr != nil:
		h.aborted.Add(1)
		x.log(slog.LevelWarn, "cgi: client went away", status, errors.Join(o.writeErr, o.bodyErr), cmd)
		return false
	case x.cause == causeClosing:
		x.log(slog.LevelWarn, "cgi: host closing", status, errors.Join(o.bodyErr, o.waitErr), cmd)
		return true
	case o.bodyErr != nil || (o.waitErr != nil && !o.lingered) || !o.complete:
		// A script that fails after its head has not answered: the client
		// must not take what it got for a whole response.
		h.failed.Add(1)
		x.log(slog.LevelError, "cgi: child failed after sending its head", status, errors.Join(o.bodyErr, o.waitErr), cmd)
		return true
	case x.hold.short():
		h.failed.Add(1)
		x.log(slog.LevelError, "cgi: child wrote less than its Content-Length", status, nil, cmd)
		return true
	}
	if err := x.hold.flush(w); err != nil {
		h.aborted.Add(1)
		x.log(slog.LevelWarn, "cgi: client went away", status, err, cmd)
		return false
	}
	switch {
	case o.heldOpen:
		x.log(slog.LevelWarn, "cgi: child exited but another process kept its stdout open; killed", status, nil, cmd)
	case o.lingered:
		x.log(slog.LevelWarn, "cgi: child kept running after closing its stdout; killed", status, nil, cmd)
	case len(x.stderr.buf) > 0 || x.stderr.dropped > 0:
		x.log(slog.LevelWarn, "cgi: child wrote to stderr", status, nil, cmd)
	}
	return false
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
			if err := x.hold.write(w, b); err != nil {
				return false, nil, err
			}
			x.out.dirty = true
		}
		_, _ = x.br.Discard(len(b))
	}
}

// heldTail withholds the last byte of a body of declared length until the
// child has exited successfully. A client that has every declared byte
// takes the response for complete whatever happens next; without its last
// byte, a script that fails after its head is seen as a short body.
type heldTail struct {
	declared int64 // Content-Length; -1 if none
	sent     int64
	held     bool
	last     [1]byte
}

// write relays b, keeping the declared body's last byte back. Bytes past
// the declared length are http.ErrContentLength, as net/http reports them.
func (t *heldTail) write(w io.Writer, b []byte) error {
	if t.declared < 0 {
		_, err := w.Write(b)
		return err
	}
	if room := t.declared - 1 - t.sent; room > 0 {
		n := int(min(room, int64(len(b))))
		m, err := w.Write(b[:n])
		t.sent += int64(m)
		if err != nil {
			return err
		}
		b = b[n:]
	}
	if len(b) == 0 {
		return nil
	}
	if t.held || t.sent != t.declared-1 || len(b) > 1 {
		return http.ErrContentLength
	}
	t.held, t.last[0] = true, b[0]
	return nil
}

// short reports a declared body the child did not write in full.
func (t *heldTail) short() bool {
	return t.declared > 0 && !t.held
}

// flush sends the byte held back.
func (t *heldTail) flush(w io.Writer) error {
	if !t.held {
		return nil
	}
	t.held = false
	_, err := w.Write(t.last[:])
	return err
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
