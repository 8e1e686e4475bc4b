//go:build forkbench_slow_small

package main

import "time"

// slowCPU is the CPU time the forkbench_slow_small build adds to every
// request: about a tenth of the FastCGI deployment's whole CPU per request
// on /plaintext (front and daemon, ~100–150 µs on the project's VMs), the
// size of regression a nightly job should catch. It is a few percent of
// the embedded front's cost and well under 1% of a CGI request's (~2–20 ms
// of process start), which `bench ab` must not flag.
const slowCPU = 12 * time.Microsecond
