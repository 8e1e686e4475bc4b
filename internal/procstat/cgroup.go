package procstat

// This file accounts a target through a cgroup of its own. /proc's tree
// accounting (Tree) sees a reaped child only through its parent's
// cutime/cstime, which the kernel fills when the parent waits for it; a
// parent that ignores SIGCHLD (Apache's mod_cgid daemon, fcgiwrap) never
// waits, the kernel reaps its children itself, and their CPU reaches no
// one's figure. A cgroup charges every task in it as it runs, whoever
// reaps it.

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// Sources of a server's cost, as recorded in results: a cgroup of either
// version, or /proc's process tree (Tree) when no cgroup could be made.
const (
	SourceCgroupV1 = "cgroup-v1"
	SourceCgroupV2 = "cgroup-v2"
	SourceProc     = "proc"
)

// ErrCgroupUnavailable is wrapped by NewCgroup's error when no cgroup can
// be made: no cgroup filesystem with the needed controllers is mounted,
// it is read-only, or this process may not write to it (not root, no
// delegation). Callers then account from /proc.
var ErrCgroupUnavailable = errors.New("procstat: cgroups unavailable")

// Bounds of Cgroup.Remove.
const (
	// CgroupRemoveTimeout bounds Remove when its context has no
	// deadline: killed processes normally leave within milliseconds.
	CgroupRemoveTimeout = 10 * time.Second
	// cgroupPoll is how often Remove looks whether the cgroup emptied.
	cgroupPoll = 5 * time.Millisecond
	// maxCgroupTries bounds the search for an unused name.
	maxCgroupTries = 1000
)

// CgroupConfig says which cgroup NewCgroup makes.
type CgroupConfig struct {
	// Version is 1 or 2 to force that cgroup version. 0 picks v1 when a
	// v1 hierarchy with the cpuacct controller is mounted (a machine in
	// "hybrid" mode keeps its controllers there, and its cgroup2 mount
	// then offers no memory controller), v2 otherwise.
	Version int
}

// Cgroup is a cgroup made for one target: a directory named
// forkbench-PID-N (PID is this process's) under this process's own cgroup,
// in each v1 hierarchy of cpuacct and memory, or in the v2
// hierarchy. Making it under our own cgroup keeps the target within the
// limits we run under.
//
// The figures it offers: CPU time always; peak memory when the memory
// controller is available to it (v1, or v2 when the parent enables it in
// cgroup.subtree_control — not where this process's own cgroup holds
// processes, as a systemd session scope does). It counts no forks: the
// kernel keeps only a process count (ForkCounter counts forks).
type Cgroup struct {
	version int
	name    string
	// cpu and mem are the directories holding each controller's files
	// (mem is "" when the memory controller is not available).
	cpu, mem string

	mu   sync.Mutex
	dirs []string // created and not yet removed, one per hierarchy
}

// NewCgroup makes an empty cgroup for a target; a process is put in it
// with Join, or started in it (Dirs, Version). Remove deletes it. The
// error wraps ErrCgroupUnavailable when cgroups cannot be used here.
func NewCgroup(cfg CgroupConfig) (*Cgroup, error) {
	hs, err := readSelfHierarchies()
	if err != nil {
		return nil, err
	}
	return newCgroup(cfg, hs, os.Getpid())
}

// newCgroup is NewCgroup over given hierarchies.
func newCgroup(cfg CgroupConfig, hs []hierarchy, pid int) (*Cgroup, error) {
	var v1, v2 []hierarchy
	acct := false
	for _, h := range hs {
		if h.v2 {
			v2 = append(v2, h)
			continue
		}
		v1 = append(v1, h)
		acct = acct || slices.Contains(h.controllers, "cpuacct")
	}
	version := cfg.Version
	if version == 0 {
		version = 2
		if acct {
			version = 1
		}
	}
	var parents []hierarchy
	switch {
	case version == 1 && acct:
		parents = v1
	case version == 2 && len(v2) > 0:
		parents = v2[:1]
	case version == 1 || version == 2:
		return nil, fmt.Errorf("%w: no cgroup v%d hierarchy for CPU accounting is mounted", ErrCgroupUnavailable, version)
	default:
		return nil, fmt.Errorf("procstat: cgroup version %d: want 0, 1 or 2", cfg.Version)
	}
	c := &Cgroup{version: version}
	if err := c.makeDirs(parents, pid); err != nil {
		return nil, err
	}
	if version == 2 {
		c.cpu = c.dirs[0]
		avail, _ := os.ReadFile(filepath.Join(c.cpu, "cgroup.controllers"))
		ctrls := strings.Fields(string(avail))
		if slices.Contains(ctrls, "memory") {
			c.mem = c.cpu
		}
		return c, nil
	}
	for i, h := range parents {
		d := c.dirs[i]
		if slices.Contains(h.controllers, "cpuacct") {
			c.cpu = d
		}
		if slices.Contains(h.controllers, "memory") {
			c.mem = d
		}
	}
	return c, nil
}

// makeDirs creates forkbench-PID-N under each parent with the first N
// free in all of them, after removing the empty cgroups that processes
// no longer alive left behind (a run killed before it could clean up).
func (c *Cgroup) makeDirs(parents []hierarchy, pid int) error {
	for _, p := range parents {
		removeStale(p.dir, pid)
	}
	for n := 1; n <= maxCgroupTries; n++ {
		name := fmt.Sprintf("forkbench-%d-%d", pid, n)
		var made []string
		var err error
		for _, p := range parents {
			d := filepath.Join(p.dir, name)
			if err = os.Mkdir(d, 0o755); err != nil {
				break
			}
			made = append(made, d)
		}
		if err == nil {
			c.name, c.dirs = name, made
			return nil
		}
		for _, d := range made {
			_ = os.Remove(d)
		}
		if !errors.Is(err, os.ErrExist) {
			return fmt.Errorf("%w: %w", ErrCgroupUnavailable, err)
		}
	}
	return fmt.Errorf("procstat: cgroup: no free name after %d tries", maxCgroupTries)
}

// removeStale removes parent's forkbench-PID-N directories whose PID is
// not alive and is not self. rmdir fails on a cgroup that holds
// processes, so nothing running is touched.
func removeStale(parent string, self int) {
	ms, _ := filepath.Glob(filepath.Join(parent, "forkbench-*-*"))
	for _, d := range ms {
		f := strings.Split(filepath.Base(d), "-")
		if len(f) != 3 {
			continue
		}
		pid, err := strconv.Atoi(f[1])
		if err != nil || pid == self || pid <= 0 {
			continue
		}
		if unix.Kill(pid, 0) == unix.ESRCH {
			_ = os.Remove(d)
		}
	}
}

// Source is SourceCgroupV1 or SourceCgroupV2.
func (c *Cgroup) Source() string {
	if c.version == 2 {
		return SourceCgroupV2
	}
	return SourceCgroupV1
}

// Version is 1 or 2. With 2 a child can be started in the cgroup by the
// kernel (SysProcAttr.UseCgroupFD on the directory); with 1 it must join
// each of Dirs itself before it starts a child of its own.
func (c *Cgroup) Version() int { return c.version }

// Name is the cgroup's name, the same in every hierarchy.
func (c *Cgroup) Name() string { return c.name }

// Dirs are the cgroup's directories, one per hierarchy; a process joins
// the cgroup by writing its pid to cgroup.procs in each.
func (c *Cgroup) Dirs() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.dirs)
}

// HasMemory reports whether the cgroup measures memory.
func (c *Cgroup) HasMemory() bool { return c.mem != "" }

// Join moves process pid (all its threads) into the cgroup. Children it
// already has stay where they are: join before starting any.
func (c *Cgroup) Join(pid int) error {
	for _, d := range c.Dirs() {
		err := os.WriteFile(filepath.Join(d, "cgroup.procs"), []byte(strconv.Itoa(pid)), 0)
		if err != nil {
			return fmt.Errorf("procstat: cgroup: join %d: %w", pid, err)
		}
	}
	return nil
}

// joinScript is the v1 prelude of Start: the shell moves itself into each
// directory given before "--", then execs the command after it, which so
// starts (same pid) already in the cgroup.
const joinScript = `while [ "$1" != -- ]; do echo $$ >"$1/cgroup.procs" || exit 125; shift; done; shift; exec "$@"`

// Start starts cmd already inside the cgroup, so that no child it forks
// can escape being counted, using start (cmd.Start when nil; affinity's
// pinning start, say) for the fork itself. In a v2 cgroup the kernel
// places the child (clone3's CLONE_INTO_CGROUP, Linux 5.7); a v1 cgroup
// has no such thing, so cmd is run through /bin/sh, which joins and then
// execs it: the pid stays the same, and the command sees the shell's
// environment (cmd.Env, plus what /bin/sh exports: PWD, on some shells).
// A shell that cannot join exits with status 125 before running cmd.
func (c *Cgroup) Start(cmd *exec.Cmd, start func(*exec.Cmd) error) error {
	if start == nil {
		start = (*exec.Cmd).Start
	}
	if c.version == 1 {
		if cmd.Err != nil {
			return cmd.Err
		}
		args := append([]string{"/bin/sh", "-c", joinScript, "forkbench-cgroup-join"}, c.Dirs()...)
		args = append(args, "--", cmd.Path)
		cmd.Args = append(args, cmd.Args[1:]...)
		cmd.Path = "/bin/sh"
		return start(cmd)
	}
	dir, err := os.Open(c.cpu)
	if err != nil {
		return fmt.Errorf("procstat: cgroup: %w", err)
	}
	defer dir.Close()
	if cmd.SysProcAttr == nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{}
	}
	cmd.SysProcAttr.UseCgroupFD = true
	cmd.SysProcAttr.CgroupFD = int(dir.Fd())
	return start(cmd)
}

// PIDs lists the processes in the cgroup (those in its CPU hierarchy).
func (c *Cgroup) PIDs() ([]int, error) {
	return readPIDs(filepath.Join(c.cpu, "cgroup.procs"))
}

func readPIDs(file string) ([]int, error) {
	b, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("procstat: cgroup: %w", err)
	}
	var pids []int
	for _, f := range strings.Fields(string(b)) {
		pid, err := strconv.Atoi(f)
		if err != nil {
			return nil, fmt.Errorf("procstat: cgroup: %s: %q", file, f)
		}
		pids = append(pids, pid)
	}
	return pids, nil
}

// Remove kills what is left in the cgroup and deletes it. Only processes
// in the cgroup are signalled, and they are ours: the target and what it
// started, wherever they were re-parented (a daemon that double-forked out
// of the process tree is still in the cgroup). It waits for them to leave,
// within ctx or CgroupRemoveTimeout when ctx has no deadline. Remove may
// be called again after it succeeded.
func (c *Cgroup) Remove(ctx context.Context) error {
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, CgroupRemoveTimeout)
		defer cancel()
	}
	tk := time.NewTicker(cgroupPoll)
	defer tk.Stop()
	for {
		left := c.kill()
		if left == 0 {
			err := c.rmdirs()
			if err == nil {
				return nil
			}
			if !errors.Is(err, unix.EBUSY) {
				return err
			}
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("procstat: cgroup %s: %d processes left: %w", c.name, left, ctx.Err())
		case <-tk.C:
		}
	}
}

// kill sends SIGKILL to every process in the cgroup and returns how many
// there were. A v2 cgroup is killed whole by the kernel (cgroup.kill,
// Linux 5.14), which also catches processes forked meanwhile; otherwise
// each is signalled through a pidfd opened while it is seen in the
// cgroup, so a pid reused by an unrelated process is never signalled.
func (c *Cgroup) kill() int {
	n := 0
	for _, d := range c.Dirs() {
		procs := filepath.Join(d, "cgroup.procs")
		pids, err := readPIDs(procs)
		if err != nil || len(pids) == 0 {
			continue
		}
		n = max(n, len(pids))
		if c.version == 2 && os.WriteFile(filepath.Join(d, "cgroup.kill"), []byte("1"), 0) == nil {
			continue
		}
		for _, pid := range pids {
			killIfIn(pid, procs)
		}
	}
	return n
}

// killIfIn sends SIGKILL to pid if it is still listed in procs once a
// pidfd pins it.
func killIfIn(pid int, procs string) {
	fd, err := unix.PidfdOpen(pid, 0)
	if err != nil {
		return // gone
	}
	defer unix.Close(fd)
	if now, err := readPIDs(procs); err == nil && slices.Contains(now, pid) {
		_ = unix.PidfdSendSignal(fd, unix.SIGKILL, nil, 0)
	}
}

// rmdirs removes the cgroup's directories that are still there.
func (c *Cgroup) rmdirs() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	for len(c.dirs) > 0 {
		if err := unix.Rmdir(c.dirs[0]); err != nil && err != unix.ENOENT {
			return fmt.Errorf("procstat: cgroup: remove %s: %w", c.dirs[0], err)
		}
		c.dirs = c.dirs[1:]
	}
	return nil
}
