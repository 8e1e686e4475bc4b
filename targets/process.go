package targets

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"forkbench/internal/affinity"
	"forkbench/internal/procstat"
)

// Process is a target that runs as a separate process: `bench serve` for
// the suite's own deployments, or a real front (Apache, nginx) started by
// the suite. Running the server out of the measuring process is what makes
// its CPU time observable and lets it be pinned to other CPUs than the
// load generator.
//
// The command must print its base URL on the first line of stdout as
// "listening on http://HOST:PORT" once it accepts connections (the contract
// of `bench serve`), or "unavailable: REASON" and exit when what it needs is
// not installed (Start then returns an UnavailableError).
type Process struct {
	// Label is the target's name in results.
	Label string
	// Path and Args are the command to run.
	Path string
	Args []string
	// Env is the child's environment; nil means this process's.
	Env []string
	// CPUs pins the process (and everything it starts) to these CPUs;
	// empty means no pinning.
	CPUs []int
	// Stderr receives the child's stderr; nil discards it.
	Stderr io.Writer
	// StartTimeout bounds how long the child may take to print its URL;
	// 0 means 30 s.
	StartTimeout time.Duration
	// NoCgroup runs the process without a cgroup of its own. By default
	// it is started inside a new one (when this machine allows: root,
	// a writable cgroup filesystem), whose counters include children
	// that no process in the tree waits for; without one its cost is
	// read from /proc, which misses those.
	NoCgroup bool
	// CgroupVersion forces cgroup v1 or v2; 0 lets procstat choose.
	CgroupVersion int
	// LogDirFlag is the child's flag that names a directory to keep its
	// server's logs in (`bench serve --log-dir`); KeepLogs appends it with
	// the directory to Args. Empty: the child keeps no logs for the caller.
	LogDirFlag string

	cmd    *exec.Cmd
	cg     *procstat.Cgroup // nil without a cgroup, and once removed
	url    string
	done   chan struct{}
	mu     sync.Mutex // guards cg, reaped and werr
	reaped bool       // the child is being reaped: its pid may be reused
	werr   error
}

var _ Target = (*Process)(nil)

// Name is the label.
func (p *Process) Name() string { return p.Label }

// KeepLogs asks the child to keep its server's logs in dir, through
// LogDirFlag (nothing without one). Call it before Start.
func (p *Process) KeepLogs(dir string) {
	if p.LogDirFlag != "" {
		p.Args = append(p.Args, p.LogDirFlag, dir)
	}
}

// URL is the base URL the child printed.
func (p *Process) URL() string { return p.url }

// PIDs is the child's pid: the root of the tree whose cost is the target's.
func (p *Process) PIDs() []int {
	if p.cmd == nil || p.cmd.Process == nil {
		return nil
	}
	return []int{p.cmd.Process.Pid}
}

// Cgroup is the process's own cgroup, from which loadgen reads its cost;
// nil when it runs without one (NoCgroup, or cgroups unavailable here).
func (p *Process) Cgroup() *procstat.Cgroup {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.cg
}

// Start runs the command and waits for its "listening on" line.
func (p *Process) Start(ctx context.Context) error {
	cmd := exec.Command(p.Path, p.Args...)
	cmd.Env = p.Env
	cmd.Stderr = p.Stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	// Our own pipe, not StdoutPipe: the reaper must not wait for, nor
	// close under, the reader, and a process the server left behind may
	// hold the write end.
	out, pw, err := os.Pipe()
	if err != nil {
		return fmt.Errorf("targets: %s: %w", p.Label, err)
	}
	cmd.Stdout = pw
	err = p.startCmd(cmd)
	_ = pw.Close()
	if err != nil {
		_ = out.Close()
		return fmt.Errorf("targets: start %s: %w", p.Label, err)
	}
	p.cmd = cmd
	p.done = make(chan struct{})

	lines := make(chan string, 1)
	firstRead := make(chan struct{})
	go func() {
		br := bufio.NewReader(out)
		line, _ := br.ReadString('\n')
		lines <- line
		close(firstRead)
		_, _ = io.Copy(io.Discard, br) // keep the pipe drained until reaped
	}()
	go p.reap(out, firstRead)

	timeout := p.StartTimeout
	if timeout == 0 {
		timeout = 30 * time.Second
	}
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	select {
	case line := <-lines:
		if reason, ok := strings.CutPrefix(strings.TrimSpace(line), UnavailablePrefix); ok {
			_ = p.Stop(context.Background())
			return &UnavailableError{Target: p.Label, Reason: reason}
		}
		rest, ok := strings.CutPrefix(strings.TrimSpace(line), "listening on ")
		if !ok || !strings.HasPrefix(rest, "http://") {
			_ = p.Stop(context.Background())
			return fmt.Errorf("targets: %s did not start: first line %q, want \"listening on http://…\" (see its stderr)", p.Label, strings.TrimSpace(line))
		}
		p.url = rest
		return nil
	case <-timer.C:
		_ = p.Stop(context.Background())
		return fmt.Errorf("targets: %s did not print its URL within %v", p.Label, timeout)
	case <-ctx.Done():
		_ = p.Stop(context.Background())
		return fmt.Errorf("targets: start %s: %w", p.Label, ctx.Err())
	}
}

// lineGrace bounds how long reap waits for the first line to be read
// from a child that has exited before it closes the pipe.
const lineGrace = 5 * time.Second

// reap waits for the child to exit, kills what is left of its process
// group while the unreaped child still holds the group id (so the signal
// cannot reach a group that reused it), then reaps it. It closes out, to
// free a reader blocked by a process that left the group holding the
// write end, only once the first line has been read (or lineGrace has
// passed): a child that prints one line and exits at once must not lose
// that line to a close that beats the reader to it.
func (p *Process) reap(out *os.File, firstRead <-chan struct{}) {
	pid := p.cmd.Process.Pid
	var info unix.Siginfo
	for {
		err := unix.Waitid(unix.P_PID, pid, &info, unix.WEXITED|unix.WNOWAIT, nil)
		if err != syscall.EINTR {
			break // on any other error cmd.Wait reports it
		}
	}
	p.mu.Lock()
	_ = syscall.Kill(-pid, syscall.SIGKILL)
	p.reaped = true
	p.mu.Unlock()
	werr := p.cmd.Wait()
	select {
	case <-firstRead:
	case <-time.After(lineGrace):
	}
	_ = out.Close()
	p.mu.Lock()
	p.werr = werr
	p.mu.Unlock()
	close(p.done)
}

// signal sends sig to the child (pid > 0) or its group (pid < 0) unless
// it has been reaped, after which its pid and group id may be reused.
func (p *Process) signal(pid int, sig syscall.Signal) {
	p.mu.Lock()
	if !p.reaped {
		_ = syscall.Kill(pid, sig)
	}
	p.mu.Unlock()
}

// startCmd starts cmd pinned to p.CPUs, inside a new cgroup unless
// NoCgroup or cgroups are unavailable.
func (p *Process) startCmd(cmd *exec.Cmd) error {
	start := func(cmd *exec.Cmd) error { return affinity.Start(cmd, p.CPUs) }
	if p.NoCgroup {
		return start(cmd)
	}
	cg, err := procstat.NewCgroup(procstat.CgroupConfig{Version: p.CgroupVersion})
	if errors.Is(err, procstat.ErrCgroupUnavailable) {
		return start(cmd) // accounted from /proc
	}
	if err != nil {
		return err
	}
	if err := cg.Start(cmd, start); err != nil {
		return errors.Join(err, cg.Remove(context.Background()))
	}
	p.mu.Lock()
	p.cg = cg
	p.mu.Unlock()
	return nil
}

// removeCgroup kills what is left in the process's cgroup (it is all
// ours, wherever it was re-parented) and removes the cgroup. It is given
// its own time: ctx may have run out waiting for the process.
func (p *Process) removeCgroup(ctx context.Context) error {
	p.mu.Lock()
	cg := p.cg
	p.mu.Unlock()
	if cg == nil {
		return nil
	}
	if err := cg.Remove(context.WithoutCancel(ctx)); err != nil {
		return fmt.Errorf("targets: %s: %w", p.Label, err)
	}
	p.mu.Lock()
	p.cg = nil
	p.mu.Unlock()
	return nil
}

// Stop sends SIGTERM to the child, waits for it within ctx (or 10 s), then
// kills its whole process group and what is left in its cgroup. Only the
// processes this target started are signalled, and never after the child
// has been reaped. Whatever the child leaves in its group when it exits is
// killed then.
func (p *Process) Stop(ctx context.Context) error {
	if p.cmd == nil || p.cmd.Process == nil {
		return nil
	}
	pid := p.cmd.Process.Pid
	select {
	case <-p.done:
		return errors.Join(p.exitErr(), p.removeCgroup(ctx))
	default:
	}
	p.signal(pid, syscall.SIGTERM)
	grace := time.NewTimer(10 * time.Second)
	defer grace.Stop()
	select {
	case <-p.done:
	case <-ctx.Done():
	case <-grace.C:
	}
	p.signal(-pid, syscall.SIGKILL)
	// Then what left the group: it may hold the child's stdout open,
	// which done waits for.
	rerr := p.removeCgroup(ctx)
	<-p.done
	return errors.Join(p.exitErr(), rerr)
}

// exitErr reports an abnormal exit; exiting on our SIGTERM is normal.
func (p *Process) exitErr() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	var ee *exec.ExitError
	if p.werr == nil {
		return nil
	}
	if errors.As(p.werr, &ee) {
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			return nil
		}
	}
	return fmt.Errorf("targets: %s exited: %w", p.Label, p.werr)
}
