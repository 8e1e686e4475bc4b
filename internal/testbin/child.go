package testbin

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"syscall"
	"testing"
)

// This file is for tests whose test binary doubles as its own helper
// processes, as net/http/cgi's host_test.go does: TestMain runs a helper
// mode when an environment variable names one, and tests re-run
// os.Args[0] with it set and talk to the helper over its stdin and stdout.

// ChildMain is TestMain for such a package: with env set to a mode it runs
// child(mode) and exits with its code instead of running the tests.
func ChildMain(m *testing.M, env string, child func(mode string) int) {
	if mode := os.Getenv(env); mode != "" {
		os.Exit(child(mode))
	}
	os.Exit(m.Run())
}

// ChildCommand re-runs the test binary, running no tests, with env set to
// mode: the helper process ChildMain runs for mode.
func ChildCommand(env, mode string) *exec.Cmd {
	c := exec.Command(os.Args[0], "-test.run=^$")
	c.Env = append(os.Environ(), env+"="+mode)
	return c
}

// Child is a started helper process that a test drives line by line: it
// writes lines to Stdin and reads the helper's answers from Stdout.
type Child struct {
	Name   string // in failure messages
	Cmd    *exec.Cmd
	Stdin  io.WriteCloser
	Stdout *bufio.Reader
}

// StartChild starts cmd with its stdin and stdout piped to the test and,
// if unset, its stderr to the test's, so a helper's complaints are seen.
// start starts it (nil means cmd.Start): a cgroup's Start, say, to place
// it in the cgroup. Any error ends the test.
func StartChild(t testing.TB, name string, cmd *exec.Cmd, start func(*exec.Cmd) error) *Child {
	t.Helper()
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	return &Child{Name: name, Cmd: cmd, Stdin: stdin, Stdout: startPiped(t, cmd, start)}
}

// StartDaemon starts cmd, a helper that runs until it is killed (a server,
// a spinning target), with its stdout piped to the test, read from the
// reader returned, and, if unset, its stderr to the test's. Its stdin is
// left alone (a server may look at it). It is killed and reaped when the
// test ends; any error starting it ends the test.
func StartDaemon(t testing.TB, cmd *exec.Cmd) *bufio.Reader {
	t.Helper()
	out := startPiped(t, cmd, nil)
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	return out
}

// startPiped starts cmd by start (nil: cmd.Start) with its stdout piped
// to the test and its stderr, if unset, to the test's.
func startPiped(t testing.TB, cmd *exec.Cmd, start func(*exec.Cmd) error) *bufio.Reader {
	t.Helper()
	if cmd.Stderr == nil {
		cmd.Stderr = os.Stderr
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if start == nil {
		start = (*exec.Cmd).Start
	}
	if err := start(cmd); err != nil {
		t.Fatal(err)
	}
	return bufio.NewReader(out)
}

// Expect reads the helper's next line and ends the test unless it is want
// (without its newline): how a test waits for a helper to be ready, or
// done, without sleeping.
func (c *Child) Expect(t testing.TB, want string) {
	t.Helper()
	if line, err := c.Stdout.ReadString('\n'); err != nil || line != want+"\n" {
		t.Fatalf("%s said %q, %v; want %s", c.Name, line, err, want)
	}
}

// Send writes line and a newline to the helper's stdin; an error ends the
// test.
func (c *Child) Send(t testing.TB, line string) {
	t.Helper()
	if _, err := io.WriteString(c.Stdin, line+"\n"); err != nil {
		t.Fatal(err)
	}
}

// CloseAtCleanup closes the helper's stdin when the test ends, which tells
// the helpers here to exit, and reaps it: the test fails unless it exits
// with status 0.
func (c *Child) CloseAtCleanup(t testing.TB) {
	t.Cleanup(func() {
		_ = c.Stdin.Close()
		if err := c.Cmd.Wait(); err != nil {
			t.Errorf("%s: %v", c.Name, err)
		}
	})
}

// AutoReapingParent is a helper mode: a parent that never waits for its
// children, as Apache's mod_cgid daemon and fcgiwrap. With SIGCHLD ignored
// the kernel reaps them itself and their CPU reaches no parent's cutime,
// so /proc's accounting misses it and only a cgroup sees it. It says
// "ready"; on a line from stdin it starts n children made by child, says
// "done" once they have exited, and returns 0 when stdin closes.
func AutoReapingParent(n int, child func() *exec.Cmd) int {
	// os/exec probes for CLONE_PIDFD with a throw-away child on its
	// first use in a process: do that before SIGCHLD is ignored and the
	// window opens.
	if err := exec.Command("/bin/sh", "-c", ":").Run(); err != nil {
		return 1
	}
	signal.Ignore(syscall.SIGCHLD)
	fmt.Println("ready")
	in := bufio.NewReader(os.Stdin)
	if _, err := in.ReadString('\n'); err != nil {
		return 1
	}
	// Each child holds the write end of a pipe: EOF on the read end
	// means all have exited (there is no wait to do).
	r, w, err := os.Pipe()
	if err != nil {
		return 1
	}
	for range n {
		c := child()
		c.Stdout = w
		if err := c.Start(); err != nil {
			return 1
		}
	}
	_ = w.Close()
	_, _ = io.Copy(io.Discard, r)
	fmt.Println("done")
	_, _ = io.Copy(io.Discard, in)
	return 0
}
