// Package procstat reads what a process tree costs from Linux's /proc: CPU
// time (including that of children already reaped), resident memory and
// context switches. It needs no cgroups and no privileges, which is why the
// suite uses it to account a CGI front and the children it forks.
//
// Limits, stated up front:
//   - A tree is found by following parent links at the moment of the scan.
//     A child that exits and is reaped between two scans is still counted,
//     through its parent's cutime/cstime; a process re-parented away from
//     the tree (a daemon that double-forks) is not.
//   - CPU time in /proc/PID/stat is in clock ticks (10ms): over a short
//     window a tree's figure is only known to a few ticks. Tree therefore
//     also reads each live thread's on-CPU time in nanoseconds
//     (/proc/PID/task/TID/schedstat) into OnCPUNs; only reaped children
//     stay in ticks (the kernel keeps no finer total for them), and
//     ResolutionNs says how many ticks the figure may be off.
//   - RSS and context switches are those of live processes only: the kernel
//     keeps no cumulative figure for reaped children in /proc.
//   - RSS is summed, so pages shared between processes are counted in each.
//   - Processes spawned are counted by ForkCounter from the kernel's process
//     events connector, which follows a tree as it forks; where that is
//     unavailable (not in the initial namespaces, or before Linux 6.6
//     without CAP_NET_ADMIN) it falls back to SystemForks and says so.
//   - A child whose parent never waits for it (the parent ignores SIGCHLD,
//     as Apache's mod_cgid daemon and fcgiwrap do, and the kernel reaps
//     it) reaches no one's cutime: its CPU is lost to Tree. Cgroup
//     (cgroup.go) accounts a target through a cgroup of its own instead,
//     which charges every task in it; it needs root (or a delegated
//     cgroup) and a writable cgroup filesystem, v1 or v2.
//   - Linux only.
package procstat

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"time"

	"golang.org/x/sys/unix"
)

// ErrNoProcess is returned by Tree when none of the roots is alive.
var ErrNoProcess = errors.New("procstat: no such process")

// Usage is the cost of a process tree at one instant.
type Usage struct {
	// UserNs and SysNs are CPU time in user and kernel mode of every live
	// process in the tree plus every child they have reaped.
	UserNs, SysNs int64
	// RSSBytes is the resident set size summed over the live processes.
	RSSBytes uint64
	// Procs is the number of live processes in the tree.
	Procs int
	// VolCtx and InvolCtx are voluntary and involuntary context switches
	// of the live processes (from /proc/PID/status).
	VolCtx, InvolCtx uint64
	// OnCPUNs is the tree's CPU time like UserNs+SysNs, but with the live
	// processes' own share read in nanoseconds from their threads'
	// schedstat; reaped children (cutime+cstime) and any process whose
	// threads cannot be read stay in clock ticks. Filled by Tree only.
	OnCPUNs int64
	// ResolutionNs bounds how far OnCPUNs may fall short of the truth
	// through tick truncation: a tick for each tick-based counter summed.
	// In the difference of two snapshots of the same processes each
	// counter's truncation error is under one tick, so the difference is
	// good to the larger of the two resolutions.
	ResolutionNs int64
}

// CPUNs is UserNs+SysNs.
func (u Usage) CPUNs() int64 { return u.UserNs + u.SysNs }

// procStat is what one /proc/PID/stat line tells us.
type procStat struct {
	pid, ppid                    int
	utime, stime, cutime, cstime int64 // clock ticks
	rssPages                     int64
}

// Tree sums the usage of each root and all its live descendants. Each
// process is counted once even if it descends from two roots. Roots that
// are not alive are skipped; if none is, the error is ErrNoProcess.
//
// CPU time is utime+stime+cutime+cstime of every process found: a live
// child is counted through its own utime/stime, and a reaped one through
// its parent's cutime/cstime (the kernel adds it there when the parent
// waits for it, which is how CGI children reach the front's figure).
func Tree(roots []int) (Usage, error) {
	return tree(roots, true)
}

// TreeRSS is Tree without context switches (which cost an extra file read
// per process); the Sampler uses it.
func TreeRSS(roots []int) (Usage, error) {
	return tree(roots, false)
}

func tree(roots []int, withStatus bool) (Usage, error) {
	all, err := scanAll()
	if err != nil {
		return Usage{}, err
	}
	children := make(map[int][]int, len(all))
	for pid, st := range all {
		children[st.ppid] = append(children[st.ppid], pid)
	}
	seen := make(map[int]bool)
	queue := make([]int, 0, len(roots))
	for _, r := range roots {
		if _, ok := all[r]; ok && !seen[r] {
			seen[r] = true
			queue = append(queue, r)
		}
	}
	if len(queue) == 0 {
		return Usage{}, fmt.Errorf("%w: %v", ErrNoProcess, roots)
	}
	tick := int64(time.Second) / clockTicks()
	page := int64(os.Getpagesize())
	var u Usage
	for len(queue) > 0 {
		pid := queue[0]
		queue = queue[1:]
		st := all[pid]
		u.UserNs += (st.utime + st.cutime) * tick
		u.SysNs += (st.stime + st.cstime) * tick
		if st.rssPages > 0 {
			u.RSSBytes += uint64(st.rssPages * page)
		}
		u.Procs++
		if withStatus {
			vol, invol, err := ctxSwitches(pid)
			if err == nil { // a process that just exited has none to add
				u.VolCtx += vol
				u.InvolCtx += invol
			}
			// Reaped children: two truncated counters. A process
			// that has reaped none (zero in both) adds no error,
			// unless its reaped children together used under a tick,
			// which is then the error and goes unreported.
			u.OnCPUNs += (st.cutime + st.cstime) * tick
			if st.cutime+st.cstime > 0 {
				u.ResolutionNs += 2 * tick
			}
			own := (st.utime + st.stime) * tick
			// Threads that have exited leave no schedstat behind but
			// stay in utime+stime: when the threads' sum falls more
			// than the two counters' truncation short of the ticks,
			// some have, and the ticks are the better figure.
			if run, err := threadsOnCPU(pid); err == nil && run >= own-2*tick {
				u.OnCPUNs += run
			} else {
				u.OnCPUNs += own
				u.ResolutionNs += 2 * tick
			}
		}
		for _, c := range children[pid] {
			if !seen[c] {
				seen[c] = true
				queue = append(queue, c)
			}
		}
	}
	return u, nil
}

// scanAll reads /proc/*/stat of every process. Processes that exit during
// the scan are skipped.
func scanAll() (map[int]procStat, error) {
	d, err := os.Open("/proc")
	if err != nil {
		return nil, fmt.Errorf("procstat: %w", err)
	}
	names, err := d.Readdirnames(-1)
	_ = d.Close()
	if err != nil {
		return nil, fmt.Errorf("procstat: read /proc: %w", err)
	}
	all := make(map[int]procStat, len(names))
	buf := make([]byte, 0, 1024)
	for _, name := range names {
		pid, err := strconv.Atoi(name)
		if err != nil {
			continue
		}
		st, err := readStat(pid, buf)
		if err != nil {
			continue // exited since Readdirnames
		}
		all[pid] = st
	}
	return all, nil
}

func readStat(pid int, buf []byte) (procStat, error) {
	b, err := readFile("/proc/"+strconv.Itoa(pid)+"/stat", buf)
	if err != nil {
		return procStat{}, err
	}
	return parseStat(pid, b)
}

// readFile reads a small /proc file into buf without os.ReadFile's stat.
func readFile(path string, buf []byte) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	buf = buf[:0]
	for {
		if len(buf) == cap(buf) {
			buf = append(buf, 0)[:len(buf)]
		}
		n, err := f.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if err == io.EOF {
			return buf, nil
		}
		if err != nil {
			return nil, err
		}
	}
}

// parseStat parses /proc/PID/stat (proc(5)). The command name is in
// parentheses and may itself contain spaces and parentheses, so the fields
// are counted from the last ')'.
func parseStat(pid int, b []byte) (procStat, error) {
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return procStat{}, fmt.Errorf("procstat: malformed /proc/%d/stat", pid)
	}
	f := bytes.Fields(b[i+1:])
	// f[0] is field 3 (state); field n is f[n-3].
	const (
		ppid   = 4 - 3
		utime  = 14 - 3
		stime  = 15 - 3
		cutime = 16 - 3
		cstime = 17 - 3
		rss    = 24 - 3
	)
	if len(f) <= rss {
		return procStat{}, fmt.Errorf("procstat: short /proc/%d/stat", pid)
	}
	num := func(k int) int64 {
		v, _ := strconv.ParseInt(string(f[k]), 10, 64)
		return v
	}
	return procStat{
		pid:      pid,
		ppid:     int(num(ppid)),
		utime:    num(utime),
		stime:    num(stime),
		cutime:   num(cutime),
		cstime:   num(cstime),
		rssPages: num(rss),
	}, nil
}

// threadsOnCPU sums the time on CPU, in nanoseconds, of pid's live threads
// (the first field of /proc/PID/task/TID/schedstat).
func threadsOnCPU(pid int) (int64, error) {
	dir := "/proc/" + strconv.Itoa(pid) + "/task"
	d, err := os.Open(dir)
	if err != nil {
		return 0, err
	}
	tids, err := d.Readdirnames(-1)
	_ = d.Close()
	if err != nil {
		return 0, err
	}
	var sum int64
	buf := make([]byte, 0, 64)
	for _, tid := range tids {
		b, err := readFile(dir+"/"+tid+"/schedstat", buf)
		if err != nil {
			if errors.Is(err, os.ErrNotExist) {
				continue // the thread exited since Readdirnames
			}
			return 0, err
		}
		f, _, _ := bytes.Cut(bytes.TrimSpace(b), []byte(" "))
		ns, err := strconv.ParseInt(string(f), 10, 64)
		if err != nil {
			return 0, fmt.Errorf("procstat: malformed %s/%s/schedstat: %w", dir, tid, err)
		}
		sum += ns
	}
	return sum, nil
}

func ctxSwitches(pid int) (vol, invol uint64, err error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return 0, 0, err
	}
	for line := range bytes.Lines(b) {
		if v, ok := bytes.CutPrefix(line, []byte("voluntary_ctxt_switches:")); ok {
			vol, _ = strconv.ParseUint(string(bytes.TrimSpace(v)), 10, 64)
		} else if v, ok := bytes.CutPrefix(line, []byte("nonvoluntary_ctxt_switches:")); ok {
			invol, _ = strconv.ParseUint(string(bytes.TrimSpace(v)), 10, 64)
		}
	}
	return vol, invol, nil
}

// atClkTck is AT_CLKTCK from <linux/auxvec.h>: the auxiliary-vector entry
// in which the kernel tells every process the unit of /proc's CPU times
// (what glibc's sysconf(_SC_CLK_TCK) returns). x/sys has no sysconf.
const atClkTck = 17

// clockTicks returns the kernel's USER_HZ. It is read from the process's
// auxiliary vector; if that is unavailable it is 100, the value on every
// architecture Go supports on Linux.
func clockTicks() int64 {
	if auxv, err := unix.Auxv(); err == nil {
		for _, kv := range auxv {
			if kv[0] == atClkTck && kv[1] > 0 {
				return int64(kv[1])
			}
		}
	}
	return 100
}

// SystemForks returns the number of processes and threads created on the
// whole machine since boot (the "processes" line of /proc/stat). It is
// system-wide: a delta over a window counts every fork and clone of every
// process, not only the target's, and threads as well as processes, so it
// is only a rough figure on a quiet machine. ForkCounter falls back to it.
func SystemForks() (uint64, error) {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0, fmt.Errorf("procstat: %w", err)
	}
	for line := range bytes.Lines(b) {
		if v, ok := bytes.CutPrefix(line, []byte("processes ")); ok {
			n, err := strconv.ParseUint(string(bytes.TrimSpace(v)), 10, 64)
			if err != nil {
				return 0, fmt.Errorf("procstat: /proc/stat processes: %w", err)
			}
			return n, nil
		}
	}
	return 0, errors.New("procstat: no processes line in /proc/stat")
}

// Self returns this process's CPU time so far (all threads), from
// getrusage(RUSAGE_SELF).
func Self() (userNs, sysNs int64, err error) {
	var ru unix.Rusage
	if err := unix.Getrusage(unix.RUSAGE_SELF, &ru); err != nil {
		return 0, 0, fmt.Errorf("procstat: getrusage: %w", err)
	}
	return ru.Utime.Nano(), ru.Stime.Nano(), nil
}
