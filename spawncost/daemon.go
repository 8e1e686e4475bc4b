package spawncost

// This file measures the FastCGI daemon over time: its cold start (exec
// until its socket accepts), its first request against later ones, and
// how long the supervisor takes to bring it back after SIGKILL.

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"forkbench/internal/fcgiaddr"
	"forkbench/results"
	"forkbench/targets/fcgi"
)

// steadyAfter is how many requests a daemon has served before its
// requests count as steady state.
const steadyAfter = 10

// restartPoll is the interval at which the socket is tried while the
// daemon restarts: the resolution of the restart figure.
const restartPoll = 200 * time.Microsecond

func (m *measurer) daemonLives(ctx context.Context) error {
	reps := m.cfg.daemonReps()
	want, err := m.reference(m.cfg.Path)
	if err != nil {
		return err
	}
	var cold, first, steady []sample
	for i := range reps + 1 { // the first life is a warm-up
		c, f, s, err := m.oneLife(ctx, i, want)
		if err != nil {
			return err
		}
		if i > 0 {
			cold, first, steady = append(cold, c), append(first, f), append(steady, s...)
		}
	}
	row := func(name, what string, path bool) results.ForkRow {
		r := results.ForkRow{Group: results.ForkGroupDaemon, Name: name, NoCPU: true, Params: map[string]string{results.ForkParamWhat: what}}
		if path {
			r.Params["path"] = m.cfg.Path
		}
		return r
	}
	m.add(forkRow(row("cold-start", "exec of sampleapp -fcgi until it prints 'listening on' (socket bound and listening)", false), cold), false, 0)
	m.add(forkRow(row("first-request", "first request on a fresh daemon, fresh connection", true), first), false, 0)
	m.add(forkRow(row("steady-request", fmt.Sprintf("requests after the first %d of each daemon life, one pooled connection", steadyAfter), true), steady), false, 0)
	if len(first) > 0 && len(steady) > 0 {
		med := func(ss []sample) float64 { return forkRow(results.ForkRow{}, ss).Wall.MedianNs }
		fs, ss := med(first), med(steady)
		m.note(results.Note{Kind: results.ForkNoteDaemon, Figures: map[string]float64{"cold_ns": med(cold), "first_ns": fs, "steady_ns": ss, "ratio": fs / ss}})
	}

	restart, err := m.restarts(ctx, reps)
	if err != nil {
		return err
	}
	m.add(restart, false, 0)
	return nil
}

// oneLife starts a daemon itself (not through fcgi.Daemon, whose readiness
// poll backs off too coarsely to time a start), times its start until it
// announces its socket, sends requests, and stops it.
func (m *measurer) oneLife(ctx context.Context, i int, want []byte) (cold, first sample, steady []sample, err error) {
	sock := filepath.Join(m.tmp, fmt.Sprintf("life-%d.sock", i))
	cmd := exec.CommandContext(ctx, m.cfg.AppBin, m.daemonArgs(fcgiaddr.Format("unix", sock))...)
	cmd.Env = childEnv()
	cmd.Stderr = m.cfg.Log
	cmd.WaitDelay = time.Second
	out, err := cmd.StdoutPipe()
	if err != nil {
		return cold, first, nil, fmt.Errorf("spawncost: %w", err)
	}
	t0 := time.Now()
	if err := cmd.Start(); err != nil {
		return cold, first, nil, fmt.Errorf("spawncost: start daemon: %w", err)
	}
	defer func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		werr := cmd.Wait()
		if err == nil && werr != nil {
			err = fmt.Errorf("spawncost: daemon exit: %w", werr)
		}
	}()
	line, rerr := bufio.NewReader(out).ReadString('\n')
	cold = sample{wall: time.Since(t0)}
	if rerr != nil || !strings.HasPrefix(line, "listening on ") {
		return cold, first, nil, fmt.Errorf("spawncost: daemon did not announce its socket: %q %v", line, rerr)
	}
	// The front to the daemon started here: the deployment's, with the
	// daemon as an external one.
	cfg := m.fcgiConfig()
	cfg.Daemon = fcgi.DaemonConfig{Network: "unix", Address: sock}
	dep, err := fcgi.Deploy(ctx, cfg)
	if err != nil {
		return cold, first, nil, fmt.Errorf("spawncost: %w", err)
	}
	defer dep.Close(context.Background())
	req := requestFn("fcgi", dep.Handler, m.cfg.Path, want, nil)
	if first, err = req(ctx); err != nil {
		return cold, first, nil, err
	}
	for j := 1; j < 2*steadyAfter; j++ {
		s, err := req(ctx)
		if err != nil {
			return cold, first, nil, err
		}
		if j >= steadyAfter {
			steady = append(steady, s)
		}
	}
	return cold, first, steady, nil
}

// restarts kills the daemon under fcgi.Daemon with SIGKILL reps times and
// times each kill until the restarted daemon's socket accepts.
func (m *measurer) restarts(ctx context.Context, reps int) (results.ForkRow, error) {
	cfg := m.fcgiConfig()
	cfg.Daemon.MinBackoff, cfg.Daemon.MaxBackoff = time.Nanosecond, time.Nanosecond // measure the restart, not a back-off
	dep, err := fcgi.Deploy(ctx, cfg)
	if err != nil {
		return results.ForkRow{}, fmt.Errorf("spawncost: %w", err)
	}
	defer dep.Close(context.Background())
	d := dep.Daemon
	var ss []sample
	for range reps {
		old := d.PID()
		t0 := time.Now()
		if err := syscall.Kill(old, syscall.SIGKILL); err != nil {
			return results.ForkRow{}, fmt.Errorf("spawncost: kill daemon: %w", err)
		}
		for {
			if err := ctx.Err(); err != nil {
				return results.ForkRow{}, fmt.Errorf("spawncost: %w", err)
			}
			if pid := d.PID(); pid != 0 && pid != old && dialOK(ctx, dep.Network, dep.Address) {
				break
			}
			if time.Since(t0) > 30*time.Second {
				return results.ForkRow{}, errors.New("spawncost: the FastCGI daemon did not come back within 30s of SIGKILL")
			}
			time.Sleep(restartPoll)
		}
		ss = append(ss, sample{wall: time.Since(t0)})
	}
	r := forkRow(results.ForkRow{Group: results.ForkGroupDaemon, Name: "restart-after-kill", NoCPU: true, Params: map[string]string{
		"restarts": fmt.Sprint(d.Restarts()), "poll": restartPoll.String(),
		results.ForkParamWhat: "SIGKILL to the daemon until fcgi.Daemon's restarted daemon accepts on its socket (back-off 1ns)",
	}}, ss)
	if d.Restarts() != reps {
		return r, fmt.Errorf("spawncost: supervisor reports %d restarts after %d kills", d.Restarts(), reps)
	}
	return r, nil
}

// dialOK reports whether a connection to network and address succeeds.
func dialOK(ctx context.Context, network, address string) bool {
	var dl net.Dialer
	c, err := dl.DialContext(ctx, network, address)
	if err != nil {
		return false
	}
	c.Close()
	return true
}
