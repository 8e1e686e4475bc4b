//go:build forkbench_slow && !forkbench_slow_small

package main

import "time"

// slowCPU is the CPU time the forkbench_slow build adds to every request:
// far above the sample app's own cost per request (tens of microseconds),
// so the regression is unmistakable even on a noisy machine.
const slowCPU = 2 * time.Millisecond
