//go:build !forkbench_slow && !forkbench_slow_small

package main

import "net/http"

// slowdown returns h unchanged: only the forkbench_slow build (slow.go),
// used by compare's acceptance test, adds work per request.
func slowdown(h http.Handler) http.Handler { return h }
