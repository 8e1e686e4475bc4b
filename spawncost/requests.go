package spawncost

// This file sends the timed requests: one GET through a deployment's
// handler per call, driven in-process (no network), its answer recorded
// and checked against the embedded handler's. It does what
// net/http/httptest's NewRequest and ResponseRecorder do, which this
// library does not import: httptest registers a command-line flag.

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"runtime"
	"time"

	"golang.org/x/sys/unix"
)

// cpuClock reads, before and after a request, the CPU time it is charged
// to: the total and its system part.
type cpuClock func() (total, sys time.Duration, err error)

// threadCPU is the calling thread's CPU, for a handler called in-process
// (onThread locks the goroutine to the thread for the call): the total
// from CLOCK_THREAD_CPUTIME_ID (exact), the system part from
// RUSAGE_THREAD (which the kernel may account in whole ticks).
func threadCPU() (total, sys time.Duration, err error) {
	var ts unix.Timespec
	if err := unix.ClockGettime(unix.CLOCK_THREAD_CPUTIME_ID, &ts); err != nil {
		return 0, 0, fmt.Errorf("spawncost: clock_gettime: %w", err)
	}
	_, sys, err = rusage(unix.RUSAGE_THREAD)
	return time.Duration(ts.Nano()), sys, err
}

// childrenCPU is the CPU of the reaped children, for the CGI host: it
// reaps its child before ServeHTTP returns, so the child's CPU is the
// growth of RUSAGE_CHILDREN (nothing else of this process is reaped
// meanwhile).
func childrenCPU() (total, sys time.Duration, err error) {
	user, sys, err := rusage(unix.RUSAGE_CHILDREN)
	return user + sys, sys, err
}

// requestFn sends GET path through h once per call and checks the answer
// is want. Its sample is the wall time of ServeHTTP and, with clock, the
// CPU clock's growth over it (the system part capped at the total, the
// user part the rest); without, no CPU (the FastCGI daemon's per request
// is below /proc's resolution: fcgiRow measures it over the batch).
func requestFn(kind string, h http.Handler, path string, want []byte, clock cpuClock) func(context.Context) (sample, error) {
	return func(ctx context.Context) (sample, error) {
		req, err := newRequest(ctx, path)
		if err != nil {
			return sample{}, err
		}
		rec := newRecorder()
		var c0, s0 time.Duration
		if clock != nil {
			var err error
			if c0, s0, err = clock(); err != nil {
				return sample{}, err
			}
		}
		t0 := time.Now()
		h.ServeHTTP(rec, req)
		s := sample{wall: time.Since(t0)}
		if clock != nil {
			c1, s1, err := clock()
			if err != nil {
				return sample{}, err
			}
			s.sys = min(s1-s0, c1-c0)
			s.user = c1 - c0 - s.sys
		}
		return s, check(kind, path, rec, want)
	}
}

// check fails a request whose answer is not the reference.
func check(kind, path string, rec *recorder, want []byte) error {
	if rec.status() != http.StatusOK {
		return fmt.Errorf("spawncost: %s GET %s = %d; want 200: %.200s", kind, path, rec.status(), rec.body.Bytes())
	}
	if !bytes.Equal(rec.body.Bytes(), want) {
		return fmt.Errorf("spawncost: %s GET %s body = %.100q; want %.100q", kind, path, rec.body.Bytes(), want)
	}
	return nil
}

// newRequest is GET path as a server receives it, as httptest.NewRequest
// makes it: HTTP/1.1, Host example.com, from 192.0.2.1:1234.
func newRequest(ctx context.Context, path string) (*http.Request, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, path, nil)
	if err != nil {
		return nil, fmt.Errorf("spawncost: %w", err)
	}
	req.Host, req.RemoteAddr, req.RequestURI = "example.com", "192.0.2.1:1234", path
	return req, nil
}

// recorder is an http.ResponseWriter that keeps the status and the body.
type recorder struct {
	header http.Header
	code   int // 0 until the head is written
	body   bytes.Buffer
}

func newRecorder() *recorder { return &recorder{header: http.Header{}} }

// status is the status sent: 200 when the handler wrote nothing, as a
// server would answer.
func (r *recorder) status() int {
	if r.code == 0 {
		return http.StatusOK
	}
	return r.code
}

func (r *recorder) Header() http.Header { return r.header }

func (r *recorder) WriteHeader(code int) {
	if r.code == 0 {
		r.code = code
	}
}

func (r *recorder) Write(b []byte) (int, error) {
	r.WriteHeader(http.StatusOK)
	return r.body.Write(b)
}

// Flush implements http.Flusher: there is nothing to flush.
func (r *recorder) Flush() { r.WriteHeader(http.StatusOK) }

// onThread runs fn with the calling goroutine locked to its OS thread, so
// that the thread's CPU clock (threadCPU) is the call's.
func onThread(fn func(context.Context) (sample, error)) func(context.Context) (sample, error) {
	return func(ctx context.Context) (sample, error) {
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		return fn(ctx)
	}
}
