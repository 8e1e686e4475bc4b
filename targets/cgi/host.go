// Package cgi deploys a program as a CGI/1.1 script (RFC 3875): a new
// process per request, behind the suite's Go net/http front.
//
// This file is the host side, the web server running the script. It exists
// because net/http/cgi.Handler, the standard library's host, ignores the
// request's context and hides the process: a script that hangs holds a slot
// forever, its own children outlive it, and nothing tells the benchmark how
// many processes were spawned, reaped or killed. Host bounds every request
// in time, kills the script's whole process group when the time is up or the
// client goes away, always reaps, limits concurrency, and counts all of it.
//
// Starting a process per request is what this package exists to measure; it
// is typically far less efficient than a persistent server (targets/fcgi)
// or an in-process handler (targets/embedded).
package cgi

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"forkbench/internal/gateway"
)

// Defaults for the zero values of Host's fields.
const (
	// DefaultTimeout bounds a request from its arrival to its child's exit.
	DefaultTimeout = 30 * time.Second
	// DefaultMaxStderr is how much of a child's stderr is kept per request.
	DefaultMaxStderr = 4 << 10
	// DefaultQueueTimeout is how long an excess request waits for a slot
	// before it gets 503: long enough to ride out a burst, short enough
	// that an overloaded host says so promptly instead of timing out.
	DefaultQueueTimeout = time.Second
	// DefaultExitDrain is how long the response waits, once the child has
	// exited, for its stdout to reach EOF (and, once its stdout is at EOF,
	// for the child to exit).
	DefaultExitDrain = 500 * time.Millisecond
	// DefaultKillGrace is how long a child has between SIGTERM and
	// SIGKILL.
	DefaultKillGrace = time.Second
)

// pipeDrainDelay bounds how long Wait waits for the child's stdin and stderr
// pipes after the child itself has exited, in case a process outside its
// process group (one that called setsid) still holds them.
const pipeDrainDelay = time.Second

// readBufferSize is the size of the buffer the child's stdout is read
// through, head and body alike; one read of this size is one write to the
// client.
const readBufferSize = 32 << 10

// Host is an http.Handler that runs a CGI program once per request.
//
// Each child leads a process group of its own. When the request is over
// (the child has exited, the Timeout expired, the client went away or the
// Host was closed) the whole group gets SIGKILL, so nothing the script
// started outlives its request, and the child is always reaped.
//
// Its zero value is not usable, Path is required; every other field's zero
// value is a documented default. The fields must not change once the Host
// has served its first request, and a Host must not be copied after that.
type Host struct {
	// Path is the executable run once per request.
	Path string
	// Args are extra arguments; argv[0] is Path.
	Args []string
	// Dir is the child's working directory; "" means the directory of
	// Path, as RFC 3875 §7.2 suggests.
	Dir string
	// Env holds extra "K=V" pairs for the child. They come after every
	// other variable, so they override a meta-variable of the same name.
	Env []string
	// InheritEnv names parent variables passed through (their values are
	// read when the first request is served). Nothing else is inherited,
	// not even PATH, so the child's environment is the request and this
	// configuration alone.
	InheritEnv []string
	// Gateway configures the meta-variables (SCRIPT_NAME, whether
	// Authorization is passed, their size limit). A request they cannot
	// describe is refused before any fork (see gateway.EnvFor).
	Gateway gateway.Config
	// Body bounds request bodies and gives a body of unknown length one
	// (see gateway.BodyPolicy); behind targets.Front the front has applied
	// the same policy already.
	Body gateway.BodyPolicy
	// Timeout bounds each request from its arrival, including any wait for
	// a slot, to the child's exit; 0 means DefaultTimeout. When it expires
	// the child's whole process group gets SIGTERM, then SIGKILL after
	// KillGrace, and, if the response head has not been sent, the client
	// gets 504 Gateway Timeout.
	Timeout time.Duration
	// ExitDrain is how long a response may outlast its child: once the
	// child has exited, its stdout has this long to reach EOF (a process
	// it left in the background may hold it), and once its stdout is at
	// EOF the child has this long to exit. Then its group is killed. 0
	// means DefaultExitDrain.
	ExitDrain time.Duration
	// KillGrace is the time between SIGTERM and SIGKILL; 0 means
	// DefaultKillGrace.
	KillGrace time.Duration
	// MaxChildren bounds the children running at once; 0 means
	// 4*runtime.NumCPU().
	MaxChildren int
	// QueueTimeout is how long a request waits for a free slot once
	// MaxChildren are running: 0 means DefaultQueueTimeout; a negative
	// value means not at all. A request that gets no slot is answered 503
	// Service Unavailable with Retry-After. The wait is also bounded by
	// Timeout and the request's context.
	QueueTimeout time.Duration
	// MaxStderr is how many bytes of each child's stderr are kept for the
	// log; 0 means DefaultMaxStderr. The rest is read and counted, and the
	// count is logged, so the child never blocks on a full stderr pipe.
	MaxStderr int
	// Logger receives one line per failed request (status, pid, exit
	// status, stderr excerpt) and one per successful request whose child
	// wrote to stderr; nil means slog.Default().
	Logger *slog.Logger

	once       sync.Once
	closeMu    sync.Mutex // serialises Close, which takes every slot
	err        error      // configuration error found by init; every request gets 500
	path       string
	dir        string
	argv       []string
	extra      []string // Gateway.Extra, then InheritEnv, then Env
	cfg        gateway.Config
	tmo        time.Duration
	queue      time.Duration
	drain      time.Duration
	grace      time.Duration
	sem        chan struct{}
	pool       sync.Pool // *exchange
	devNull    *os.File  // stdin of children without a request body, opened once
	base       context.Context
	cancelBase context.CancelFunc

	// testHookStart, if set, replaces exec.Cmd.Start, so a test can make
	// the fork fail as the kernel does under a process limit.
	testHookStart func(*exec.Cmd) error

	spawned, reaped, timeouts, queued, rejected, badGateway, aborted, startErrors, failed, refused atomic.Uint64
	running                                                                                        atomic.Int64
}

// Stats are a Host's counters since it was created. They let a benchmark
// check that every spawned child was reaped and see why requests failed.
type Stats struct {
	Spawned     uint64 // children started
	Reaped      uint64 // children waited for
	Timeouts    uint64 // requests whose Timeout expired (their child was killed)
	Queued      uint64 // requests that found MaxChildren running and waited for a slot
	Rejected    uint64 // requests answered 503 because no slot became free (or the host closed)
	BadGateway  uint64 // requests answered 502: the child's response head was missing or malformed
	Aborted     uint64 // requests whose client went away first (their child was killed)
	StartErrors uint64 // children that could not be started (answered 503 for EAGAIN/ENOMEM, else 500)
	Failed      uint64 // responses broken off after their head: the child failed, overran or fell short of its Content-Length
	Refused     uint64 // requests refused before any fork (400, 404, 413, 431; see gateway.Status)
	Running     int64  // children started and not yet reaped
}

// Stats returns a snapshot of the counters. The fields are read one by one,
// so a snapshot taken while requests run may be inconsistent by a request.
func (h *Host) Stats() Stats {
	return Stats{
		Spawned:     h.spawned.Load(),
		Reaped:      h.reaped.Load(),
		Timeouts:    h.timeouts.Load(),
		Queued:      h.queued.Load(),
		Rejected:    h.rejected.Load(),
		BadGateway:  h.badGateway.Load(),
		Aborted:     h.aborted.Load(),
		StartErrors: h.startErrors.Load(),
		Failed:      h.failed.Load(),
		Refused:     h.refused.Load(),
		Running:     h.running.Load(),
	}
}

// init resolves the defaults once, so the per-request path does no
// environment lookups, path cleaning or slice building it can avoid.
func (h *Host) init() {
	h.once.Do(func() {
		h.base, h.cancelBase = context.WithCancel(context.Background())
		if h.Path == "" {
			h.err = errors.New("cgi: Host.Path is empty")
			return
		}
		p, err := filepath.Abs(h.Path)
		if err != nil {
			h.err = fmt.Errorf("cgi: %w", err)
			return
		}
		h.path = p
		// os/exec would open /dev/null for every child without a body.
		if h.devNull, err = os.Open(os.DevNull); err != nil {
			h.err = fmt.Errorf("cgi: %w", err)
			return
		}
		h.dir = h.Dir
		if h.dir == "" {
			h.dir = filepath.Dir(p)
		}
		h.argv = append([]string{h.Path}, h.Args...)
		h.extra = append(h.extra, h.Gateway.Extra...)
		for _, k := range h.InheritEnv {
			if v, ok := os.LookupEnv(k); ok {
				h.extra = append(h.extra, k+"="+v)
			}
		}
		h.extra = append(h.extra, h.Env...)
		h.cfg = h.Gateway
		h.cfg.Extra = h.extra
		h.tmo = orDefault(h.Timeout, DefaultTimeout)
		h.queue = h.QueueTimeout // negative: no wait at all
		if h.queue == 0 {
			h.queue = DefaultQueueTimeout
		}
		h.drain = orDefault(h.ExitDrain, DefaultExitDrain)
		h.grace = orDefault(h.KillGrace, DefaultKillGrace)
		n := h.MaxChildren
		if n <= 0 {
			n = 4 * runtime.NumCPU()
		}
		h.sem = make(chan struct{}, n)
		maxStderr := h.MaxStderr
		if maxStderr <= 0 {
			maxStderr = DefaultMaxStderr
		}
		h.pool.New = func() any { return newExchange(h, maxStderr) }
	})
}

// Close makes the Host refuse new requests (503), kills the process group
// of every running child and returns once all of them have been reaped.
// It is safe to call more than once and concurrently with requests.
func (h *Host) Close() error {
	h.init()
	h.closeMu.Lock()
	defer h.closeMu.Unlock()
	h.cancelBase()
	// Taking every slot waits for every running request to finish; they
	// finish promptly because their contexts were just cancelled.
	for range cap(h.sem) {
		h.sem <- struct{}{}
	}
	for range cap(h.sem) {
		<-h.sem
	}
	// No request holds a slot now, and none will start a child again.
	if h.devNull != nil {
		err := h.devNull.Close()
		h.devNull = nil
		if err != nil {
			return fmt.Errorf("cgi: close: %w", err)
		}
	}
	return nil
}

// ServeHTTP runs the program once for r and relays its response.
//
// A child whose response head is missing or malformed gets the client a 502;
// one that is still running at Timeout, a 504. If the response head was
// already sent when the child is killed, ServeHTTP panics with
// http.ErrAbortHandler, as httputil.ReverseProxy does, so the server drops
// the connection instead of ending a truncated body as if it were whole.
func (h *Host) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h.init()
	if h.err != nil {
		http.Error(w, http.StatusText(http.StatusInternalServerError), http.StatusInternalServerError)
		h.logger().LogAttrs(r.Context(), slog.LevelError, "cgi: misconfigured host", slog.Any("err", h.err))
		return
	}
	if h.base.Err() != nil { // closed
		h.refuse(r.Context(), w, r)
		return
	}
	// Everything that can refuse a request does so before a fork.
	release, err := h.Body.Apply(r)
	defer release()
	if err != nil {
		h.refuse400(w, r, err)
		return
	}
	env, err := gateway.EnvFor(r, h.cfg)
	if err != nil {
		h.refuse400(w, r, err)
		return
	}

	ctx, cancel := context.WithTimeout(r.Context(), h.tmo)
	defer cancel()
	stopClose := context.AfterFunc(h.base, cancel)
	defer stopClose()

	if !h.acquire(ctx) {
		h.refuse(ctx, w, r)
		return
	}
	defer func() { <-h.sem }()
	if ctx.Err() != nil || h.base.Err() != nil { // e.g. Close won the race
		h.refuse(ctx, w, r)
		return
	}

	x := h.pool.Get().(*exchange)
	abort := x.serve(ctx, w, r, env)
	x.reset()
	h.pool.Put(x)
	if abort {
		// The head was sent but the body was cut short: make the server
		// drop the connection so the client cannot take the truncated
		// body for a complete one.
		panic(http.ErrAbortHandler)
	}
}

// acquire takes a slot for a child, waiting as QueueTimeout says.
func (h *Host) acquire(ctx context.Context) bool {
	select {
	case h.sem <- struct{}{}:
		return true
	default:
	}
	if h.queue < 0 {
		return false
	}
	h.queued.Add(1)
	t := time.NewTimer(h.queue)
	defer t.Stop()
	select {
	case h.sem <- struct{}{}:
		return true
	case <-t.C:
		return false
	case <-ctx.Done():
		return false
	}
}

// refuse answers a request that never got a child.
func (h *Host) refuse(ctx context.Context, w http.ResponseWriter, r *http.Request) {
	switch {
	case r.Context().Err() != nil:
		h.aborted.Add(1)
	case ctx.Err() != nil && h.base.Err() == nil:
		h.timeouts.Add(1)
		http.Error(w, http.StatusText(http.StatusGatewayTimeout), http.StatusGatewayTimeout)
	default: // no slot in time, or closing
		h.rejected.Add(1)
		w.Header().Set("Retry-After", "1")
		http.Error(w, http.StatusText(http.StatusServiceUnavailable), http.StatusServiceUnavailable)
	}
}

// refuse400 answers a request refused by the request policy (gateway.Status
// says with what) and logs it.
func (h *Host) refuse400(w http.ResponseWriter, r *http.Request, err error) {
	h.refused.Add(1)
	code := gateway.Refuse(w, err)
	h.logger().LogAttrs(r.Context(), slog.LevelWarn, "cgi: request refused",
		slog.Int("status", code), slog.String("method", r.Method),
		slog.String("uri", r.RequestURI), slog.String("err", err.Error()))
}

// orDefault is d for a zero or negative duration.
func orDefault(v, d time.Duration) time.Duration {
	if v <= 0 {
		return d
	}
	return v
}

func (h *Host) logger() *slog.Logger {
	if h.Logger != nil {
		return h.Logger
	}
	return slog.Default()
}
