//go:build forkbench_slow || forkbench_slow_small

// This file exists for the regression suite's own acceptance tests: built
// with -tags forkbench_slow (or forkbench_slow_small), the sample app burns
// a fixed amount of CPU before every request (slowCPU), a deliberate
// regression that `bench compare` and `bench ab` must flag. It is never
// part of a normal build.

package main

import (
	"crypto/sha256"
	"net/http"
	"runtime"
	"time"

	"golang.org/x/sys/unix"
)

// slowdown wraps h so that every request first burns slowCPU of CPU time.
func slowdown(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		burnCPU(slowCPU)
		h.ServeHTTP(w, r)
	})
}

// burnCPU hashes until the calling thread has used d of CPU time. It
// counts the thread's CPU clock, not the wall clock, so the work added is
// the same however busy the machine is; the goroutine is locked to its
// thread meanwhile so the clock it reads is its own.
func burnCPU(d time.Duration) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	start, ok := threadCPU()
	if !ok {
		// No thread clock: fall back to a fixed amount of hashing.
		var sum [32]byte
		for range 8000 {
			sum = sha256.Sum256(sum[:])
		}
		return
	}
	var sum [32]byte
	for {
		for range 2 { // ~0.3 µs a round: fine enough for slowCPU of microseconds
			sum = sha256.Sum256(sum[:])
		}
		if now, _ := threadCPU(); now-start >= d {
			return
		}
	}
}

func threadCPU() (time.Duration, bool) {
	var ts unix.Timespec
	if err := unix.ClockGettime(unix.CLOCK_THREAD_CPUTIME_ID, &ts); err != nil {
		return 0, false
	}
	return time.Duration(ts.Nano()), true
}
