package targets

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

func TestProcess(t *testing.T) {
	dir := t.TempDir()
	pidFile := filepath.Join(dir, "grandchild")
	cases := []struct {
		name, script string
		wantErr      string
	}{
		// A server that starts a grandchild of its own (as a FastCGI
		// front starts its daemon) and ignores SIGTERM: Stop must still
		// leave nothing behind.
		{"ok", "sleep 300 & echo $! > " + pidFile + "\ntrap '' TERM\necho 'listening on http://127.0.0.1:9'\nwait", ""},
		// A server that dies by itself, leaving a process in its group:
		// the leftover goes when the server does, not at Stop.
		{"exits leaving a process", "sleep 300 & echo $! > " + pidFile + "\necho 'listening on http://127.0.0.1:9'\nexit 0", ""},
		{"bad first line", "echo 'hello'\nsleep 300", `first line "hello"`},
		{"exits at once", "exit 3", "did not start"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := &Process{Label: "test", Path: "/bin/sh", Args: []string{"-c", c.script}, StartTimeout: 20 * time.Second}
			err := p.Start(context.Background())
			if c.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), c.wantErr) {
					t.Fatalf("Start error = %v; want %q", err, c.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if p.URL() != "http://127.0.0.1:9" || len(p.PIDs()) != 1 {
				t.Fatalf("URL %q PIDs %v", p.URL(), p.PIDs())
			}
			pid := p.PIDs()[0]
			if c.name == "exits leaving a process" {
				<-p.done // the server is reaped: its group must be empty
				data, _ := os.ReadFile(pidFile)
				gc, _ := strconv.Atoi(strings.TrimSpace(string(data)))
				if gc <= 0 || !gone(gc) {
					t.Errorf("process %d left by the server still alive after it was reaped", gc)
				}
				if err := p.Stop(context.Background()); err != nil {
					t.Errorf("Stop after a clean exit = %v", err)
				}
				return
			}
			ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
			defer cancel()
			_ = p.Stop(ctx)
			data, _ := os.ReadFile(pidFile)
			gc, _ := strconv.Atoi(strings.TrimSpace(string(data)))
			for _, q := range []int{pid, gc} {
				if q > 0 && !gone(q) {
					t.Errorf("process %d still alive after Stop", q)
				}
			}
			if err := p.Stop(context.Background()); err != nil && !strings.Contains(err.Error(), "exited") {
				t.Errorf("second Stop = %v", err)
			}
		})
	}
}

// TestProcessLineThenExit starts, many times over, a child that prints
// its one line and exits at once, as a `bench serve` child whose server
// is missing does: the line must reach Start every time, never lost to
// the reaper closing the pipe before the reader got to it (this failed
// about once in a CI run before the reaper waited for the first line).
func TestProcessLineThenExit(t *testing.T) {
	for i := range 200 {
		p := &Process{Label: "test", Path: "/bin/sh", Args: []string{"-c", "echo 'unavailable: no server'; exit 1"}, NoCgroup: true}
		err := p.Start(context.Background())
		var u *UnavailableError
		if !errors.As(err, &u) || u.Reason != "no server" {
			t.Fatalf("start %d: Start = %v; want the child's reason \"no server\"", i, err)
		}
		<-p.done
	}
}

// gone waits a bounded time for a SIGKILLed process to die: the signal is
// delivered asynchronously. A zombie (its parent may be an init that does
// not reap) counts as gone.
func gone(pid int) bool {
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if syscall.Kill(pid, 0) != nil || zombie(pid) {
			return true
		}
		time.Sleep(10 * time.Millisecond)
	}
	return false
}

func zombie(pid int) bool {
	data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return true
	}
	i := strings.LastIndexByte(string(data), ')')
	return i > 0 && strings.HasPrefix(string(data[i+1:]), " Z")
}

// TestProcessCgroup checks that a Process runs in a cgroup of its own from
// its start, and that Stop kills what escaped its process group (a daemon
// in a session of its own) and removes the cgroup.
func TestProcessCgroup(t *testing.T) {
	for _, version := range []int{1, 2} {
		t.Run("v"+strconv.Itoa(version), func(t *testing.T) {
			pidFile := filepath.Join(t.TempDir(), "daemon")
			script := "setsid sleep 300 & echo $! > " + pidFile + "\necho 'listening on http://127.0.0.1:9'\nwait"
			p := &Process{Label: "test", Path: "/bin/sh", Args: []string{"-c", script}, CgroupVersion: version, StartTimeout: 20 * time.Second}
			if err := p.Start(context.Background()); err != nil {
				t.Fatal(err)
			}
			cg := p.Cgroup()
			if cg == nil {
				_ = p.Stop(context.Background())
				if os.Getenv("FORKBENCH_STRICT") == "1" && version == 1 {
					t.Fatal("FORKBENCH_STRICT=1: no cgroup v1 here")
				}
				t.Skipf("no cgroup v%d here", version)
			}
			dirs := cg.Dirs()
			in, err := cg.PIDs()
			if err != nil || !slices.Contains(in, p.PIDs()[0]) {
				t.Errorf("cgroup PIDs = %v, %v; want the process %d in them", in, err, p.PIDs()[0])
			}
			// The daemon holds the child's stdout: Stop waits for it
			// until ctx is done, then kills it with the cgroup.
			ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
			defer cancel()
			if err := p.Stop(ctx); err != nil {
				t.Errorf("Stop: %v", err)
			}
			data, _ := os.ReadFile(pidFile)
			daemon, _ := strconv.Atoi(strings.TrimSpace(string(data)))
			if daemon <= 0 || !slices.Contains(in, daemon) {
				t.Fatalf("daemon pid %q not in the cgroup's %v", data, in)
			}
			if !gone(daemon) {
				t.Errorf("daemon %d outside the process group still alive after Stop", daemon)
			}
			if p.Cgroup() != nil {
				t.Error("Cgroup() not nil after Stop")
			}
			for _, d := range dirs {
				if _, err := os.Stat(d); !os.IsNotExist(err) {
					t.Errorf("cgroup %s still there after Stop (%v)", d, err)
				}
			}
		})
	}
}
