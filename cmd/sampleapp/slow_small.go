//go:build forkbench_slow_small

package main

import "time"

// slowCPU is the CPU time the forkbench_slow_small build adds to every
// request: about a tenth of the FastCGI deployment's whole CPU per request
// on /plaintext (front and daemon, ~150 µs on the project's VMs), the
// size of regression a nightly job should catch. It is well under 1% of a
// CGI request's cost (~2–30 ms of process start), and the embedded
// deployment does not run this binary at all: `bench ab` must flag
// neither.
const slowCPU = 15 * time.Microsecond
