package fcgi

// This file supervises the FastCGI daemon process: start it, wait until its
// socket accepts, restart it when it dies, and stop it without leaving a
// process or a socket file behind.

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"os"
	"os/exec"
	"sync"
	"syscall"
	"time"

	"forkbench/targets"
)

// ErrDaemonExited is wrapped by Start's error when the daemon exits before
// its socket accepts connections.
var ErrDaemonExited = errors.New("fcgi: daemon exited before accepting connections")

// Daemon supervision defaults; each applies where the matching field is
// zero.
const (
	// DefaultMinBackoff is the first delay before restarting a daemon that
	// died.
	DefaultMinBackoff = 50 * time.Millisecond
	// DefaultMaxBackoff caps the delay, which doubles with each crash that
	// follows a short life (see Daemon.MaxBackoff).
	DefaultMaxBackoff = 5 * time.Second
	// DefaultStopGrace is how long Stop waits after SIGTERM before SIGKILL.
	DefaultStopGrace = 5 * time.Second
)

// Daemon starts a persistent FastCGI application and keeps it running: when
// the process dies it is started again after an exponential back-off. It
// runs in its own process group, which Stop kills whole and reaps, so no
// process or zombie outlives it; a unix socket file is removed before each
// start and after Stop.
//
// Daemon does not tell the application where to listen: Args or Env must,
// and Network and Address must name the same socket, which Start polls
// until it accepts.
type Daemon struct {
	// Path is the executable; Args its arguments, not including the
	// program name.
	Path string
	Args []string
	// Env is the daemon's environment; nil means the front's own.
	Env []string
	// Network ("unix" or "tcp") and Address are where the daemon listens.
	Network, Address string
	// Output receives the daemon's stdout and stderr; nil means os.Stderr.
	Output io.Writer
	// MinBackoff and MaxBackoff bound the delay before a restart; zero
	// means DefaultMinBackoff and DefaultMaxBackoff. The delay doubles
	// after each crash of a daemon that lived less than MaxBackoff and
	// falls back to MinBackoff after one that lived longer.
	MinBackoff, MaxBackoff time.Duration
	// StopGrace is how long Stop lets the daemon exit on SIGTERM before it
	// sends SIGKILL; 0 means DefaultStopGrace.
	StopGrace time.Duration
	// ErrorLog receives exits and restarts; nil means the log package's
	// standard logger.
	ErrorLog *log.Logger

	mu       sync.Mutex
	pid      int // the current process, 0 while down
	restarts int
	started  bool
	stopping bool
	stopCtx  context.Context // cancelled by Stop
	stop     context.CancelFunc
	done     chan struct{} // closed when the supervisor has reaped the last process

	// testHookRestart, if set, runs after a crash has been reaped and
	// before the back-off, so tests can observe the daemon down;
	// testHookReady runs when a restarted daemon accepts connections.
	testHookRestart func()
	testHookReady   func()
}

// PID is the current daemon's process id, 0 while it is down.
func (d *Daemon) PID() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.pid
}

// Restarts counts the times the daemon was started again after dying.
func (d *Daemon) Restarts() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.restarts
}

// Start starts the daemon and returns once its socket accepts a
// connection, or with an error if ctx ends or the daemon exits first.
// Supervision (restarts) continues in the background until Stop.
func (d *Daemon) Start(ctx context.Context) error {
	d.mu.Lock()
	if d.started {
		d.mu.Unlock()
		return errors.New("fcgi: daemon already started")
	}
	d.started = true
	d.stopCtx, d.stop = context.WithCancel(context.Background())
	d.done = make(chan struct{})
	exited, err := d.spawnLocked()
	d.mu.Unlock()
	if err != nil {
		close(d.done)
		return err
	}
	if err := d.waitReady(ctx, exited); err != nil {
		d.mu.Lock()
		d.stopping = true
		d.stop()
		d.mu.Unlock()
		go d.supervise(exited, time.Now()) // reaps and cleans up, nothing more
		<-d.done
		return err
	}
	go d.supervise(exited, time.Now())
	return nil
}

// exit is what the supervisor learns when a process ends.
type exit struct {
	pid int // 0 if the process never started
	err error
}

// spawnLocked starts a process; d.mu is held. The returned channel
// receives the process's exit once it has been reaped.
func (d *Daemon) spawnLocked() (chan exit, error) {
	if err := d.removeSocket(); err != nil {
		return nil, err
	}
	cmd := exec.Command(d.Path, d.Args...)
	cmd.Env = d.Env
	out := d.Output
	if out == nil {
		out = os.Stderr
	}
	cmd.Stdout, cmd.Stderr = out, out
	// When Output is not a file, a copier feeds it until every holder of
	// the pipe (workers the daemon forked, too) closes it; don't let one
	// that outlives the daemon hide the exit from the supervisor.
	cmd.WaitDelay = time.Second
	cmd.SysProcAttr = sysProcAttr()
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("fcgi: start daemon: %w", err)
	}
	d.pid = cmd.Process.Pid
	exited := make(chan exit, 1)
	go func() { exited <- exit{cmd.Process.Pid, cmd.Wait()} }()
	return exited, nil
}

// waitReady polls the socket with a short, growing back-off until it
// accepts, the process exits, or ctx ends.
func (d *Daemon) waitReady(ctx context.Context, exited chan exit) error {
	delay := time.Millisecond
	for {
		var dl net.Dialer
		dctx, cancel := context.WithTimeout(ctx, time.Second)
		c, err := dl.DialContext(dctx, d.Network, d.Address)
		cancel()
		if err == nil {
			return c.Close()
		}
		t := time.NewTimer(delay)
		select {
		case e := <-exited:
			t.Stop()
			exited <- e // the supervisor reaps it and records the exit
			return fmt.Errorf("%w: %v", ErrDaemonExited, e.err)
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("fcgi: waiting for daemon at %s %s: %w (last dial: %v)", d.Network, d.Address, ctx.Err(), err)
		case <-t.C:
		}
		delay = min(2*delay, 100*time.Millisecond)
	}
}

// supervise restarts the daemon each time it exits until Stop.
func (d *Daemon) supervise(exited chan exit, started time.Time) {
	defer close(d.done)
	backoff := time.Duration(0)
	for {
		var e exit
		select {
		case e = <-exited:
		case <-d.stopCtx.Done():
			e = d.terminate(exited)
		}
		killGroup(e.pid, syscall.SIGKILL) // whatever the daemon left behind
		d.mu.Lock()
		d.pid = 0
		stopping := d.stopping
		d.mu.Unlock()
		if stopping {
			targets.WaitGroupGone(e.pid, groupReapLimit)
			if err := d.removeSocket(); err != nil {
				d.logf("%v", err)
			}
			return
		}

		if lived := time.Since(started); lived >= d.maxBackoff() || backoff == 0 {
			backoff = d.minBackoff()
		} else {
			backoff = min(2*backoff, d.maxBackoff())
		}
		if d.testHookRestart != nil {
			d.testHookRestart()
		}
		d.logf("fcgi: daemon pid %d exited (%v) after %v; restarting in %v", e.pid, e.err, time.Since(started).Round(time.Millisecond), backoff)
		t := time.NewTimer(backoff)
		select {
		case <-t.C:
		case <-d.stopCtx.Done():
			t.Stop()
			if err := d.removeSocket(); err != nil {
				d.logf("%v", err)
			}
			return
		}

		d.mu.Lock()
		if d.stopping {
			d.mu.Unlock()
			if err := d.removeSocket(); err != nil { // Stop raced the timer
				d.logf("%v", err)
			}
			return
		}
		var err error
		exited, err = d.spawnLocked()
		if err == nil {
			d.restarts++
		}
		d.mu.Unlock()
		started = time.Now()
		if err != nil {
			d.logf("%v", err)
			exited = make(chan exit, 1)
			exited <- exit{err: err}
			continue
		}
		// Log when it is back, so the outage shows in the log; a daemon
		// that dies first is handled at the top of the loop.
		if err := d.waitReady(d.stopCtx, exited); err == nil {
			d.logf("fcgi: daemon pid %d accepting again after %v", d.PID(), time.Since(started).Round(time.Millisecond))
			if d.testHookReady != nil {
				d.testHookReady()
			}
		}
	}
}

// terminate sends SIGTERM to the daemon's group, then SIGKILL if it has
// not exited within StopGrace or when Stop's context ends, and returns the
// reaped exit.
func (d *Daemon) terminate(exited chan exit) exit {
	pid := d.PID()
	killGroup(pid, syscall.SIGTERM)
	grace := d.StopGrace
	if grace <= 0 {
		grace = DefaultStopGrace
	}
	t := time.NewTimer(grace)
	defer t.Stop()
	select {
	case e := <-exited:
		return e
	case <-t.C:
	}
	killGroup(pid, syscall.SIGKILL)
	return <-exited
}

// killGroup signals the process group led by pid, which is the daemon's
// own (Setpgid). Nothing is sent for pid 0, a process that never started.
func killGroup(pid int, sig syscall.Signal) {
	if pid <= 0 {
		return
	}
	_ = syscall.Kill(-pid, sig)
}

// groupReapLimit bounds how long Stop waits for the daemon's own children,
// sent SIGKILL with it, to die.
const groupReapLimit = 2 * time.Second

// Stop terminates the daemon (SIGTERM, then SIGKILL after StopGrace or
// when ctx ends), reaps it, ends supervision and removes the socket file.
// It is safe to call more than once and before Start.
func (d *Daemon) Stop(ctx context.Context) error {
	d.mu.Lock()
	if !d.started {
		d.mu.Unlock()
		return nil
	}
	if !d.stopping {
		d.stopping = true
		d.stop()
	}
	d.mu.Unlock()
	select {
	case <-d.done:
		return nil
	case <-ctx.Done():
	}
	// Out of patience: kill now, and still reap before returning.
	killGroup(d.PID(), syscall.SIGKILL)
	<-d.done
	return nil
}

// ErrSocketInUse is returned by Start when the unix socket file at Address
// accepts connections: another daemon is serving there, and unlinking its
// socket would silently take it off the air.
var ErrSocketInUse = errors.New("fcgi: socket in use by a running daemon")

// removeSocket removes a unix socket file at Address, left by a daemon
// that died or about to be recreated. It dials the socket first and leaves
// it alone if anything accepts (ErrSocketInUse): only a socket nobody
// listens on (ECONNREFUSED) is stale. Anything other than a socket is left
// alone too.
func (d *Daemon) removeSocket() error {
	if d.Network != "unix" || d.Address == "" || d.Address[0] == '@' {
		return nil
	}
	fi, err := os.Lstat(d.Address)
	if err != nil || fi.Mode()&os.ModeSocket == 0 {
		return nil
	}
	dl := net.Dialer{Timeout: time.Second}
	c, err := dl.Dial("unix", d.Address)
	if err == nil {
		_ = c.Close()
		return fmt.Errorf("%w: %s", ErrSocketInUse, d.Address)
	}
	if !errors.Is(err, syscall.ECONNREFUSED) {
		// Not provably stale (e.g. EACCES, or a backlog so full the dial
		// timed out): someone may still be serving on it.
		return fmt.Errorf("%w: %s: dial: %w", ErrSocketInUse, d.Address, err)
	}
	if err := os.Remove(d.Address); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("fcgi: remove stale socket: %w", err)
	}
	return nil
}

func (d *Daemon) minBackoff() time.Duration {
	if d.MinBackoff > 0 {
		return d.MinBackoff
	}
	return DefaultMinBackoff
}

func (d *Daemon) maxBackoff() time.Duration {
	if d.MaxBackoff > 0 {
		return max(d.MaxBackoff, d.minBackoff())
	}
	return max(DefaultMaxBackoff, d.minBackoff())
}

func (d *Daemon) logf(format string, args ...any) {
	if d.ErrorLog != nil {
		d.ErrorLog.Printf(format, args...)
		return
	}
	log.Printf(format, args...)
}
