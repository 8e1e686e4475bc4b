package main

// What the tests of the bench binary share: running it, reading what it
// wrote, talking to the server it started and checking it left no
// process behind.

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"forkbench/agent"
	"forkbench/internal/testbin"
	"forkbench/results"
)

// bench runs the real bench binary with the test's data directory and
// without the developer's agent token, so that an agent started by a
// test requires none.
func bench(t *testing.T, ctx context.Context, args ...string) *exec.Cmd {
	t.Helper()
	cmd := exec.CommandContext(ctx, bins.Bench, args...)
	cmd.Env = slices.DeleteFunc(os.Environ(), func(e string) bool { return strings.HasPrefix(e, agent.TokenEnv+"=") })
	cmd.Env = append(cmd.Env, "XDG_CACHE_HOME="+t.TempDir())
	return cmd
}

// mustRun runs `bench ARGS…` to the end and returns its stdout; any exit
// but 0 fails the test with its stderr.
func mustRun(t *testing.T, ctx context.Context, args ...string) string {
	t.Helper()
	cmd := bench(t, ctx, args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("bench %v: %v\nstderr:\n%s", args, err, stderr.String())
	}
	return stdout.String()
}

// refusedRun runs `bench run --app-bin SAMPLEAPP --out OUT ARGS…`, which
// must fail, and returns its stderr.
func refusedRun(t *testing.T, out string, args []string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := bench(t, ctx, append([]string{"run", "--app-bin", bins.SampleApp, "--out", out}, args...)...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err == nil {
		t.Fatalf("bench run %v succeeded; want an error", args)
	}
	return stderr.String()
}

// exitStatus is the exit status of a command that ran to its end with
// err; a command that could not be run fails the test.
func exitStatus(t *testing.T, err error) int {
	t.Helper()
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return ee.ExitCode()
	}
	if err != nil {
		t.Fatal(err)
	}
	return 0
}

// readResults reads the result file dir/results.json.
func readResults(t *testing.T, dir string) *results.File {
	t.Helper()
	f, err := results.Read(filepath.Join(dir, "results.json"))
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// listening is a long-running bench command (serve, agent) and the URL
// it announced as the first line of its stdout, "listening on URL".
type listening struct {
	cmd     *exec.Cmd
	url     string
	stderr  bytes.Buffer
	cancel  context.CancelFunc
	stopped bool
}

// startListening starts `bench ARGS…` and waits for its URL. Unless the
// test stops it first, it is stopped when the test ends, where anything
// but exit 0 after SIGTERM is an error.
func startListening(t *testing.T, args ...string) *listening {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	l := &listening{cmd: bench(t, ctx, args...), cancel: cancel}
	l.cmd.Stderr = &l.stderr
	out, err := l.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := l.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := l.stop(); err != nil {
			t.Error(err)
		}
	})
	line, err := bufio.NewReader(out).ReadString('\n')
	url, ok := strings.CutPrefix(strings.TrimSpace(line), "listening on ")
	if err != nil || !ok {
		_ = l.cmd.Process.Kill()
		_ = l.cmd.Wait() // the stderr shown is then complete
		l.stopped = true
		t.Fatalf("bench %s: first line %q, %v; want \"listening on URL\"; stderr:\n%s", args[0], line, err, l.stderr.String())
	}
	l.url = url
	return l
}

// stop sends SIGTERM and waits for the command to exit, which must be
// with status 0. Only the first call stops it.
func (l *listening) stop() error {
	if l.stopped {
		return nil
	}
	l.stopped = true
	defer l.cancel()
	if err := l.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		return err
	}
	if err := l.cmd.Wait(); err != nil {
		return fmt.Errorf("bench %s exited with %v after SIGTERM; want 0; stderr:\n%s", l.cmd.Args[1], err, l.stderr.String())
	}
	return nil
}

// get sends method path with body to url and returns status and body.
func get(t *testing.T, method, url, body string, header http.Header) (int, string) {
	t.Helper()
	got, err := testbin.Fetch(t, context.Background(), nil, method, url, strings.NewReader(body), header)
	if got.Status == 0 {
		t.Fatal(err)
	}
	return got.Status, got.Body // a body broken off shows as a wrong body
}

// writeFile writes content to dir/name with mode and returns its path.
func writeFile(t *testing.T, dir, name, content string, mode os.FileMode) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(content), mode); err != nil {
		t.Fatal(err)
	}
	return p
}

// children lists pid's child processes: each thread keeps its own list.
func children(pid int) []int {
	tasks, _ := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/children", pid))
	var out []int
	for _, task := range tasks {
		data, _ := os.ReadFile(task)
		for _, f := range strings.Fields(string(data)) {
			n, _ := strconv.Atoi(f)
			out = append(out, n)
		}
	}
	return out
}

// checkGone fails the test for each of pids still in /proc after what
// should have ended them, showing its /proc/PID/stat.
func checkGone(t *testing.T, pids []int, after string) {
	t.Helper()
	for _, pid := range pids {
		if _, err := os.Stat(fmt.Sprintf("/proc/%d", pid)); err == nil {
			st, _ := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
			t.Errorf("process %d still exists after %s: %s", pid, after, st)
		}
	}
}
