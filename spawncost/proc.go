package spawncost

// This file starts and reaps processes and reads what they cost: wall time
// around os/exec's Start and Wait, CPU time from the rusage wait4 returns.

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// childEnv is the environment of every spawned child unless a row adds to
// it: as clean as a CGI child's, so that no row measures the parent's
// environment being copied.
func childEnv(extra ...string) []string {
	return append([]string{"PATH=/usr/bin:/bin"}, extra...)
}

// spawner runs a program to completion once per call. Its stdin, stdout
// and stderr are /dev/null, opened once, so os/exec starts no copying
// goroutine and opens no file per spawn.
type spawner struct {
	devNull *os.File
}

func newSpawner() (*spawner, error) {
	f, err := os.OpenFile(os.DevNull, os.O_RDWR, 0)
	if err != nil {
		return nil, fmt.Errorf("spawncost: %w", err)
	}
	return &spawner{devNull: f}, nil
}

func (s *spawner) close() error { return s.devNull.Close() }

// run starts path with args and env, waits for it and returns the wall
// time from before Start to after Wait (clone, exec, the program's whole
// life, exit and reaping) and the child's own user and system time. A
// non-zero exit is an error: a row must never time a failure.
func (s *spawner) run(ctx context.Context, path string, args, env []string) (sample, int, error) {
	cmd := exec.CommandContext(ctx, path, args...)
	cmd.Env = env
	cmd.Stdin, cmd.Stdout, cmd.Stderr = s.devNull, s.devNull, s.devNull
	t0 := time.Now()
	err := cmd.Run()
	wall := time.Since(t0)
	if err != nil {
		return sample{}, 0, fmt.Errorf("spawncost: %s %v: %w", path, args, err)
	}
	u, sy := childCPU(cmd.ProcessState)
	return sample{wall: wall, user: u, sys: sy}, cmd.ProcessState.Pid(), nil
}

// childCPU is the user and system time of a reaped child, from the rusage
// wait4 returned.
func childCPU(ps *os.ProcessState) (user, sys time.Duration) {
	if ru, ok := ps.SysUsage().(*syscall.Rusage); ok {
		return time.Duration(ru.Utime.Nano()), time.Duration(ru.Stime.Nano())
	}
	return 0, 0
}

// rusage reads getrusage(who).
func rusage(who int) (user, sys time.Duration, err error) {
	var ru unix.Rusage
	if err := unix.Getrusage(who, &ru); err != nil {
		return 0, 0, fmt.Errorf("spawncost: getrusage: %w", err)
	}
	return time.Duration(ru.Utime.Nano()), time.Duration(ru.Stime.Nano()), nil
}

// plan is how many times a row is measured.
type plan struct {
	// warmup samples are taken and discarded: the first spawns of a
	// binary fault its pages into the page cache, the first requests
	// fill pools and caches.
	warmup int
	// reps is the number of samples wanted.
	reps int
	// minReps is the number kept even when budget runs out.
	minReps int
	// budget bounds the measuring time of the row once minReps samples
	// are in; 0 means no bound. Rows stopped by it say so in a note.
	budget time.Duration
}

// collect runs fn p.warmup times, discarding the results, then until it
// has p.reps samples or, with at least p.minReps, p.budget has passed. It
// returns the samples and whether the budget cut them short.
func collect(ctx context.Context, p plan, fn func(context.Context) (sample, error)) ([]sample, bool, error) {
	for range p.warmup {
		if err := ctx.Err(); err != nil {
			return nil, false, fmt.Errorf("spawncost: %w", err)
		}
		if _, err := fn(ctx); err != nil {
			return nil, false, err
		}
	}
	ss := make([]sample, 0, p.reps)
	t0 := time.Now()
	for len(ss) < p.reps {
		if err := ctx.Err(); err != nil {
			return nil, false, fmt.Errorf("spawncost: %w", err)
		}
		if p.budget > 0 && len(ss) >= max(p.minReps, 1) && time.Since(t0) > p.budget {
			return ss, true, nil
		}
		s, err := fn(ctx)
		if err != nil {
			return nil, false, err
		}
		ss = append(ss, s)
	}
	return ss, false, nil
}
