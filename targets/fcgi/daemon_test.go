package fcgi

import (
	"bufio"
	"context"
	"errors"
	"io"
	"log"
	"net/http"
	"os"
	"slices"
	"strconv"
	"syscall"
	"testing"
	"time"

	"forkbench/internal/testbin"
	"forkbench/targets"
)

// testDaemonConfig runs this test binary as the daemon (see TestMain).
func testDaemonConfig() DaemonConfig {
	return DaemonConfig{
		Path:   os.Args[0],
		Env:    append(os.Environ(), envDaemon+"="+AddrPlaceholder),
		Output: io.Discard,
	}
}

// startTarget starts a Target and stops it at the end of the test.
func startTarget(t *testing.T, cfg Config) *Target {
	t.Helper()
	if cfg.ErrorLog == nil {
		cfg.ErrorLog = log.New(&testbin.SyncBuffer{}, "", 0)
	}
	tg := New(cfg)
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	if err := tg.Start(ctx); err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(func() { tg.Stop(context.Background()) })
	return tg
}

func getURL(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	return resp.StatusCode, string(b)
}

// alive reports whether pid names a process, zombies included: only a
// reaped process is gone.
func alive(pid int) bool {
	return syscall.Kill(pid, 0) == nil
}

func TestTargetDaemonLifecycle(t *testing.T) {
	down := make(chan struct{})
	resume := make(chan struct{})
	cfg := Config{Daemon: testDaemonConfig(), KeepConn: true, Timeout: 30 * time.Second}
	cfg.Daemon.MinBackoff = time.Millisecond
	tg := New(cfg)
	tg.cfg.ErrorLog = log.New(&testbin.SyncBuffer{}, "", 0)
	ready := make(chan struct{})
	tg.testHookDaemon = func(d *Daemon) {
		d.testHookRestart = func() {
			close(down)
			<-resume
		}
		d.testHookReady = func() { close(ready) }
	}
	if err := tg.Start(t.Context()); err != nil {
		t.Fatalf("Start: %v", err)
	}
	stopped := false
	defer func() {
		if !stopped {
			tg.Stop(context.Background())
		}
	}()

	if tg.Name() != "fcgi" {
		t.Errorf("Name() = %q; want fcgi", tg.Name())
	}
	pid := tg.Daemon().PID()
	if pid == 0 || pid == os.Getpid() {
		t.Fatalf("Daemon().PID() = %d; want a child's pid", pid)
	}
	if got, want := tg.PIDs(), []int{os.Getpid(), pid}; !slices.Equal(got, want) {
		t.Errorf("PIDs() = %v; want %v", got, want)
	}
	socket := tg.daemon.Address

	// One long-lived daemon answers every request.
	for i := range 20 {
		code, body := getURL(t, tg.URL()+"/pid")
		if code != 200 || body != strconv.Itoa(pid) {
			t.Fatalf("GET /pid #%d = %d %q; want 200 %d", i, code, body, pid)
		}
	}
	if code, body := getURL(t, tg.URL()+"/panic"); code != 500 || body != "internal server error\n" {
		t.Errorf("GET /panic = %d %q; want 500", code, body)
	}
	if code, body := getURL(t, tg.URL()+"/pid"); code != 200 || body != strconv.Itoa(pid) {
		t.Errorf("GET /pid after a panic = %d %q; want 200 %d (same daemon)", code, body, pid)
	}
	if s := tg.PoolStats(); s.Dials != 1 {
		t.Errorf("PoolStats().Dials = %d; want 1 (one kept connection)", s.Dials)
	}

	// Kill it: the front answers 502 while it is down.
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	<-down
	if got := tg.Daemon().PID(); got != 0 {
		t.Errorf("PID() while down = %d; want 0", got)
	}
	if alive(pid) {
		t.Errorf("killed daemon %d not reaped", pid)
	}
	if code, body := getURL(t, tg.URL()+"/pid"); code != 502 || body != "Bad Gateway\n" {
		t.Errorf("GET /pid while down = %d %q; want 502", code, body)
	}
	close(resume)

	// It comes back as a new process and the front recovers.
	<-ready
	code, body := getURL(t, tg.URL()+"/pid")
	newPID := tg.Daemon().PID()
	if code != 200 || body != strconv.Itoa(newPID) || newPID == pid || newPID == 0 {
		t.Fatalf("GET /pid after restart = %d %q; want 200 and a new pid (was %d, now %d)", code, body, pid, newPID)
	}
	if n := tg.Daemon().Restarts(); n != 1 {
		t.Errorf("Restarts() = %d; want 1", n)
	}
	for range 10 {
		if code, body := getURL(t, tg.URL()+"/pid"); code != 200 || body != strconv.Itoa(newPID) {
			t.Fatalf("GET /pid = %d %q; want 200 %d", code, body, newPID)
		}
	}

	// Stop leaves no process and no socket.
	if err := tg.Stop(t.Context()); err != nil {
		t.Errorf("Stop: %v", err)
	}
	stopped = true
	if alive(newPID) {
		t.Errorf("daemon %d still exists after Stop", newPID)
	}
	if _, err := os.Stat(socket); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("socket %s after Stop: %v; want it removed", socket, err)
	}
	if err := tg.Stop(t.Context()); err != nil {
		t.Errorf("second Stop: %v", err)
	}
}

func TestTargetExternalDaemon(t *testing.T) {
	for _, network := range []string{"unix", "tcp"} {
		t.Run(network, func(t *testing.T) {
			ln := serveStd(t, network)
			tg := startTarget(t, Config{
				Daemon:   DaemonConfig{Network: network, Address: ln.Addr().String()},
				KeepConn: true,
			})
			if code, body := getURL(t, tg.URL()+"/hello"); code != 200 || body != "hello, world\n" {
				t.Errorf("GET /hello = %d %q; want 200", code, body)
			}
			if got := tg.PIDs(); !slices.Equal(got, []int{os.Getpid()}) {
				t.Errorf("PIDs() = %v; want just this process", got)
			}
			if tg.Daemon() != nil {
				t.Errorf("Daemon() = %v; want nil for an external daemon", tg.Daemon())
			}
		})
	}
}

func TestTargetStartErrors(t *testing.T) {
	exits := testDaemonConfig()
	exits.Env = append(os.Environ(), envDaemonExit+"=3")
	tests := []struct {
		desc string
		cfg  Config
		want error
	}{
		{"daemon exits at once", Config{Daemon: exits}, ErrDaemonExited},
		{"no such program", Config{Daemon: DaemonConfig{Path: "/nonexistent/daemon"}}, os.ErrNotExist},
		{"external without address", Config{}, nil},
		{"bad network", Config{Daemon: DaemonConfig{Network: "udp", Address: "x"}}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			tt.cfg.ErrorLog = log.New(io.Discard, "", 0)
			tg := New(tt.cfg)
			err := tg.Start(t.Context())
			if err == nil || (tt.want != nil && !errors.Is(err, tt.want)) {
				t.Errorf("Start = %v; want an error wrapping %v", err, tt.want)
			}
			if tg.dir != "" {
				if _, err := os.Stat(tg.dir); !errors.Is(err, os.ErrNotExist) {
					t.Errorf("socket directory %s left after failed Start", tg.dir)
				}
			}
			if err := tg.Stop(t.Context()); err != nil {
				t.Errorf("Stop after failed Start: %v", err)
			}
		})
	}
}

func TestDaemonStartCancelled(t *testing.T) {
	// A daemon that never listens where it is expected.
	cfg := testDaemonConfig()
	d := &Daemon{
		Path:     cfg.Path,
		Env:      append(os.Environ(), envDaemon+"=unix:"+t.TempDir()+"/elsewhere"),
		Network:  "unix",
		Address:  t.TempDir() + "/here",
		Output:   io.Discard,
		ErrorLog: log.New(io.Discard, "", 0),
	}
	ctx, cancel := context.WithTimeout(t.Context(), 200*time.Millisecond)
	defer cancel()
	err := d.Start(ctx)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Start = %v; want context.DeadlineExceeded", err)
	}
	if pid := d.PID(); pid != 0 {
		t.Errorf("PID() after failed Start = %d; want 0", pid)
	}
	if err := d.Stop(t.Context()); err != nil {
		t.Errorf("Stop: %v", err)
	}
}

func TestDaemonStopKillsStubborn(t *testing.T) {
	if _, err := os.Stat("/bin/sh"); err != nil {
		t.Skip("no /bin/sh")
	}
	// sh ignores SIGTERM once it has said "ready", so Stop must escalate
	// to SIGKILL.
	ln := serveStd(t, "tcp") // something to accept, so Start returns
	pr, pw := io.Pipe()
	d := &Daemon{
		Path:      "/bin/sh",
		Args:      []string{"-c", "trap '' TERM; echo ready; while :; do sleep 100; done"},
		Network:   "tcp",
		Address:   ln.Addr().String(),
		StopGrace: 50 * time.Millisecond,
		Output:    pw,
		ErrorLog:  log.New(io.Discard, "", 0),
	}
	if err := d.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	line, err := bufio.NewReader(pr).ReadString('\n')
	if line != "ready\n" {
		t.Fatalf("daemon said %q, %v; want ready", line, err)
	}
	pid := d.PID()
	go io.Copy(io.Discard, pr)
	if err := d.Stop(t.Context()); err != nil {
		t.Errorf("Stop: %v", err)
	}
	if alive(pid) {
		t.Errorf("daemon %d survives Stop", pid)
	}
	if targets.GroupRunning(pid) {
		t.Errorf("process group %d still has running processes after Stop", pid)
	}
}
