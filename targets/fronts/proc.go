package fronts

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"time"

	"forkbench/internal/affinity"
	"forkbench/targets"
)

// procSpec is one process of a deployment: a server master, a FastCGI
// wrapper, a daemon of the app.
type procSpec struct {
	name string
	path string
	args []string
	env  []string
	// stop is the signal that asks the process to stop gracefully
	// (SIGTERM unless the server wants another: SIGWINCH is Apache's
	// graceful-stop).
	stop syscall.Signal
	// asWorker runs the process as the unprivileged worker user when the
	// suite runs as root, as a web server's own workers would run.
	asWorker bool
	// announce means the process prints "listening on ADDR" first on
	// stdout; Start returns ADDR.
	announce bool
	// readyUnix, if set, is a unix socket the process listens on: start
	// returns once it accepts.
	readyUnix string
}

// proc is a started process, the leader of its own process group: every
// process it forks stays in the group unless it leaves on purpose, so Stop
// can end them all.
type proc struct {
	spec procSpec
	cmd  *exec.Cmd
	done chan struct{}
	err  error // the exit, valid once done is closed
}

// stopGrace is how long a process has to stop after its stop signal
// before its group is killed: longer than Apache's GracefulShutdownTimeout
// in the templates.
const stopGrace = 10 * time.Second

// start runs the process with its stdout and stderr in logf, pinned to
// cpus (inherited when empty), and waits for the readiness it declares.
func startProc(ctx context.Context, s procSpec, logf *os.File, cpus []int, cred *syscall.Credential) (*proc, string, error) {
	cmd := exec.Command(s.path, s.args...)
	cmd.Env = s.env
	cmd.Stderr = logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if s.asWorker && cred != nil {
		cmd.SysProcAttr.Credential = cred
	}
	var out io.ReadCloser
	if s.announce {
		var err error
		if out, err = cmd.StdoutPipe(); err != nil {
			return nil, "", fmt.Errorf("fronts: %s: %w", s.name, err)
		}
	} else {
		cmd.Stdout = logf
	}
	if err := affinity.Start(cmd, cpus); err != nil {
		return nil, "", fmt.Errorf("fronts: start %s: %w", s.name, err)
	}
	p := &proc{spec: s, cmd: cmd, done: make(chan struct{})}
	lines := make(chan string, 1)
	go func() {
		if out != nil {
			br := bufio.NewReader(out)
			line, _ := br.ReadString('\n')
			lines <- line
			_, _ = io.Copy(logf, br)
		}
		p.err = cmd.Wait()
		close(p.done)
	}()
	var addr string
	if s.announce {
		select {
		case line := <-lines:
			var ok bool
			if addr, ok = strings.CutPrefix(strings.TrimSpace(line), "listening on "); !ok {
				return p, "", fmt.Errorf("fronts: %s did not start: first line %q", s.name, strings.TrimSpace(line))
			}
		case <-ctx.Done():
			return p, "", fmt.Errorf("fronts: start %s: %w", s.name, ctx.Err())
		}
	}
	if s.readyUnix != "" {
		if err := p.waitDial(ctx, "unix", s.readyUnix); err != nil {
			return p, "", err
		}
	}
	return p, addr, nil
}

// exited reports, without blocking, whether the process has ended.
func (p *proc) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// waitDial polls address with a growing back-off until it accepts, the
// process exits, or ctx ends.
func (p *proc) waitDial(ctx context.Context, network, address string) error {
	dead := func() error {
		if p.exited() {
			return fmt.Errorf("fronts: %s exited during start-up: %v", p.spec.name, p.err)
		}
		return nil
	}
	return poll(ctx, dead, func(ctx context.Context) error {
		c, err := dialer.DialContext(ctx, network, address)
		if err == nil {
			c.Close()
		}
		return err
	}, p.spec.name)
}

// stop asks the process to stop with its stop signal, waits up to
// stopGrace (less if ctx ends first), then kills what is left of its
// group, reaps the leader and waits until no member of the group runs.
// It reports a process that had died before it was asked to stop, or that
// had to be killed; how a process exits once asked (uWSGI exits 22 when
// stopped while a lazy worker is still importing the app) is its own.
func (p *proc) stop(ctx context.Context) error {
	pid := p.cmd.Process.Pid
	var err error
	if p.exited() {
		err = fmt.Errorf("fronts: %s had exited before Stop: %v", p.spec.name, p.err)
	} else {
		sig := p.spec.stop
		if sig == 0 {
			sig = syscall.SIGTERM
		}
		_ = syscall.Kill(pid, sig)
		t := time.NewTimer(stopGrace)
		select {
		case <-p.done:
		case <-t.C:
			err = fmt.Errorf("fronts: %s did not stop within %v of %v; killed", p.spec.name, stopGrace, sig)
		case <-ctx.Done():
			err = fmt.Errorf("fronts: %s: stop: %w; killed", p.spec.name, ctx.Err())
		}
		t.Stop()
	}
	// Whatever is left in the group (a worker that outlived its master,
	// a CGI child) is ours and goes now.
	_ = syscall.Kill(-pid, syscall.SIGKILL)
	<-p.done
	targets.WaitGroupGone(pid, 5*time.Second)
	return err
}
