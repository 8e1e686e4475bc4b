// Package affinity confines processes to CPUs with sched_setaffinity, so
// that the load generator and the server under test never compete for the
// same core: on a 2-core machine a benchmark whose generator and server
// share cores measures the scheduler as much as the server.
//
// Linux only. Pinning does not reserve a CPU: other processes on the
// machine may still run there.
package affinity

import (
	"errors"
	"fmt"
	"os"
	"slices"
	"strconv"

	"golang.org/x/sys/unix"
)

// ErrNoCPUs is returned for an empty or invalid CPU list.
var ErrNoCPUs = errors.New("affinity: no valid CPU in the list")

// maxCPU is the largest CPU number a unix.CPUSet holds.
const maxCPU = len(unix.CPUSet{}) * 64

// Plan splits ncpu CPUs between the generator and the target: the
// generator gets CPU 0 and the target all the others (the target is what
// is measured, and a CGI front forks onto every core it may use). With
// fewer than two CPUs there is nothing to split and ok is false.
func Plan(ncpu int) (generator, target []int, ok bool) {
	if ncpu < 2 {
		return nil, nil, false
	}
	target = make([]int, 0, ncpu-1)
	for c := 1; c < ncpu; c++ {
		target = append(target, c)
	}
	return []int{0}, target, true
}

// PinSelf confines every thread of this process to cpus. The affinity mask
// is per thread and a Go program already has several, so it walks
// /proc/self/task and sets each; threads created afterwards inherit the
// mask from their creator. It repeats the walk until no new thread appears,
// so a thread started during the walk is not missed.
//
// The Go runtime sizes GOMAXPROCS from the affinity mask at start and
// re-reads it about once a second (Go 1.25+), so for up to a second after
// PinSelf the process may run more Ps than it has CPUs: pin before the
// warm-up, not at the start of a measured window.
func PinSelf(cpus []int) error {
	set, err := cpuSet(cpus)
	if err != nil {
		return err
	}
	pinned := make(map[int]bool)
	for pass := 0; ; pass++ {
		tids, err := tasks(os.Getpid())
		if err != nil {
			return err
		}
		fresh := 0
		for _, tid := range tids {
			if pinned[tid] {
				continue
			}
			if err := unix.SchedSetaffinity(tid, &set); err != nil {
				if errors.Is(err, unix.ESRCH) {
					continue // the thread exited
				}
				return fmt.Errorf("affinity: pin thread %d to %v: %w", tid, cpus, err)
			}
			pinned[tid] = true
			fresh++
		}
		if fresh == 0 {
			return nil
		}
		if pass > 100 {
			return fmt.Errorf("affinity: threads keep appearing after %d passes", pass)
		}
	}
}

// Pin confines the process pid (its main thread, and so the threads it
// creates afterwards) to cpus. It is for a child just started; to pin a
// running multi-threaded process use PinTasks.
func Pin(pid int, cpus []int) error {
	set, err := cpuSet(cpus)
	if err != nil {
		return err
	}
	if err := unix.SchedSetaffinity(pid, &set); err != nil {
		return fmt.Errorf("affinity: pin %d to %v: %w", pid, cpus, err)
	}
	return nil
}

// PinTasks confines every current thread of process pid to cpus.
func PinTasks(pid int, cpus []int) error {
	set, err := cpuSet(cpus)
	if err != nil {
		return err
	}
	tids, err := tasks(pid)
	if err != nil {
		return err
	}
	for _, tid := range tids {
		if err := unix.SchedSetaffinity(tid, &set); err != nil && !errors.Is(err, unix.ESRCH) {
			return fmt.Errorf("affinity: pin thread %d of %d to %v: %w", tid, pid, cpus, err)
		}
	}
	return nil
}

// Get returns the CPUs the thread or process pid may run on, in increasing
// order (0 means the calling thread).
func Get(pid int) ([]int, error) {
	var set unix.CPUSet
	if err := unix.SchedGetaffinity(pid, &set); err != nil {
		return nil, fmt.Errorf("affinity: get %d: %w", pid, err)
	}
	var cpus []int
	for c := 0; c < maxCPU; c++ {
		if set.IsSet(c) {
			cpus = append(cpus, c)
		}
	}
	return cpus, nil
}

// Tasks lists the thread ids of process pid.
func Tasks(pid int) ([]int, error) { return tasks(pid) }

func tasks(pid int) ([]int, error) {
	d, err := os.Open("/proc/" + strconv.Itoa(pid) + "/task")
	if err != nil {
		return nil, fmt.Errorf("affinity: %w", err)
	}
	defer d.Close()
	names, err := d.Readdirnames(-1)
	if err != nil {
		return nil, fmt.Errorf("affinity: list threads of %d: %w", pid, err)
	}
	tids := make([]int, 0, len(names))
	for _, n := range names {
		if tid, err := strconv.Atoi(n); err == nil {
			tids = append(tids, tid)
		}
	}
	slices.Sort(tids)
	return tids, nil
}

func cpuSet(cpus []int) (unix.CPUSet, error) {
	var set unix.CPUSet
	if len(cpus) == 0 {
		return set, ErrNoCPUs
	}
	for _, c := range cpus {
		if c < 0 || c >= maxCPU {
			return set, fmt.Errorf("%w: CPU %d out of range [0,%d)", ErrNoCPUs, c, maxCPU)
		}
		set.Set(c)
	}
	return set, nil
}
