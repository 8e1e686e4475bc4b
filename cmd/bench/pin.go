package main

import (
	"fmt"
	"os"
	"runtime"
	"runtime/debug"

	"forkbench/internal/affinity"
	"forkbench/results"
)

// pinProcess confines this process, the load generator, to one CPU and
// plans the targets on the others, and tunes the runtime for the job. It
// changes the whole process, so commands call it once, before measuring,
// and never from a library: GOMAXPROCS follows the CPUs the generator may
// use (at once, rather than when the runtime next notices the new mask),
// and the garbage collector runs less often — the generator allocates a
// little per request, and with GOGC=400 it spent 4–10% less CPU per
// request in paired runs on the project's 2-core machines, CPU that is
// then not taken from measuring. Targets run in their own processes with
// default settings. The returned Pinning says what was done, or why not.
func pinProcess(noPin bool) results.Pinning {
	if noPin {
		return results.Pinning{Note: "disabled by --no-pin"}
	}
	gen, tgt, ok := affinity.Plan(runtime.NumCPU())
	if !ok {
		return results.Pinning{Note: fmt.Sprintf("off: %d CPU(s), need at least 2", runtime.NumCPU())}
	}
	if err := affinity.PinSelf(gen); err != nil {
		return results.Pinning{Note: "off: " + err.Error()}
	}
	runtime.GOMAXPROCS(len(gen))
	debug.SetGCPercent(400)
	got, err := affinity.Get(os.Getpid())
	if err != nil {
		got = gen
	}
	return results.Pinning{Enabled: true, GeneratorCPUs: got, TargetCPUs: tgt}
}
