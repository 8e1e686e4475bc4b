package affinity

import (
	"fmt"
	"os/exec"
	"runtime"

	"golang.org/x/sys/unix"
)

// Start starts cmd confined to cpus (cmd.Start when cpus is empty). The
// calling goroutine is locked to its OS thread, which is pinned for the
// fork and restored after: a child inherits the mask of the thread that
// forked it, so the process is pinned from its first instruction, before
// it starts threads or children of its own (nginx workers, CGI children).
// This works for any program, unlike pinning from inside the child.
func Start(cmd *exec.Cmd, cpus []int) error {
	if len(cpus) == 0 {
		return cmd.Start()
	}
	set, err := cpuSet(cpus)
	if err != nil {
		return err
	}
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	var old unix.CPUSet
	if err := unix.SchedGetaffinity(0, &old); err != nil {
		return fmt.Errorf("affinity: get: %w", err)
	}
	if err := unix.SchedSetaffinity(0, &set); err != nil {
		return fmt.Errorf("affinity: pin to CPUs %v: %w", cpus, err)
	}
	err = cmd.Start()
	if rerr := unix.SchedSetaffinity(0, &old); rerr != nil && err == nil {
		err = fmt.Errorf("affinity: restore: %w", rerr)
	}
	return err
}
