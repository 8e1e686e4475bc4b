package cgi

// This file is the child side of the tests: TestMain re-runs the test binary
// as the CGI program, as net/http/cgi's host_test.go does, and childMain
// answers according to PATH_INFO.

import (
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

const (
	// childEnv makes the test binary a CGI child ("1") or the grandchild a
	// hanging child spawns ("grandchild").
	childEnv = "FORKBENCH_CGI_TEST_CHILD"
	// pidsEnv names the file (or FIFO) a hanging child reports
	// "pid grandchild-pid" to, since it never answers.
	pidsEnv = "FORKBENCH_CGI_TEST_PIDS"
	// gateEnv names the FIFO /stream waits on between its two writes.
	gateEnv = "FORKBENCH_CGI_TEST_GATE"
	// termEnv names the file /ignore-term writes when it gets SIGTERM.
	termEnv = "FORKBENCH_CGI_TEST_TERM"
)

func TestMain(m *testing.M) {
	switch os.Getenv(childEnv) {
	case "1":
		os.Exit(childMain())
	case "grandchild":
		sleepForever()
	}
	code := m.Run()
	if code == 0 {
		if z := zombieChildren(); len(z) > 0 {
			fmt.Fprintf(os.Stderr, "zombie children left: %v\n", z)
			code = 1
		}
	}
	os.Exit(code)
}

func sleepForever() {
	for {
		time.Sleep(time.Hour)
	}
}

// cannedChild is a child whose whole answer is fixed: what it writes to
// stdout and the code it exits with.
type cannedChild struct {
	out  string
	code int
}

// cannedChildren are the fixed answers by PATH_INFO: the well-formed, the
// malformed and the cut-short responses a host must cope with.
func cannedChildren() map[string]cannedChild {
	return map[string]cannedChild{
		"/status":        {"Status: 404 Not Found\nContent-Type: text/plain\n\nnope\n", 0},
		"/nocontent":     {"Status: 204 No Content\n\nthis body must not reach the client", 0},
		"/dup-cl":        {"Content-Type: text/plain\nContent-Length: 3\nContent-Length: 5\n\nabcde", 0},
		"/short-cl":      {"Content-Type: text/plain\nContent-Length: 10\n\nabc", 0},
		"/fail-after-cl": {"Content-Type: text/plain\nContent-Length: 10\n\n0123456789", 1},
		"/exact-cl":      {"Content-Type: text/plain\nContent-Length: 10\n\n0123456789", 0},
		"/toolong":       {"Content-Type: text/plain\nContent-Length: 3\n\nabcdef", 0},
		"/hop":           {"Content-Type: text/plain\nConnection: close\nTransfer-Encoding: gzip\nUpgrade: h2c\nX-Keep: 1\n\nbody\n", 0},
		"/crash":         {"", 3},
		"/garbage":       {"this is not a header\n\nbody\n", 0},
		"/partial":       {"Content-Type: text/plain\n", 1},
		"/fail-after":    {"Content-Type: text/plain\n\nall of it\n", 1},
	}
}

// startGrandchild starts a grandchild that holds this child's stdout (the
// response pipe) and sleeps, and reports both pids to pidsEnv's file.
func startGrandchild() error {
	gc := exec.Command(os.Args[0])
	gc.Env = []string{childEnv + "=grandchild"}
	gc.Stdout = os.Stdout // the grandchild holds the response pipe too
	if err := gc.Start(); err != nil {
		return err
	}
	return reportPids(os.Getpid(), gc.Process.Pid)
}

func childMain() int {
	out := os.Stdout
	pid := strconv.Itoa(os.Getpid())
	path := os.Getenv("PATH_INFO")
	if c, ok := cannedChildren()[path]; ok {
		io.WriteString(out, c.out)
		return c.code
	}
	switch path {
	case "/ok":
		fmt.Fprintf(out, "Content-Type: text/plain\r\nX-Pid: %s\r\n\r\nok\n", pid)
	case "/hang":
		if err := startGrandchild(); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		sleepForever()
	case "/detach":
		fmt.Fprintf(out, "Content-Type: text/plain\nX-Pid: %s\n\ndone\n", pid)
		out.Close()
		sleepForever()
	case "/background", "/background-nohead":
		// Leaves a process holding stdout and exits at once.
		if err := startGrandchild(); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		if path == "/background" {
			io.WriteString(out, "Content-Type: text/plain\n\nforeground done\n")
		}
	case "/ignore-term":
		// Reports SIGTERM to termEnv's file, then carries on regardless.
		term := make(chan os.Signal, 1)
		signal.Notify(term, syscall.SIGTERM)
		if err := reportPids(os.Getpid(), 0); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		<-term
		os.WriteFile(os.Getenv(termEnv), []byte("SIGTERM"), 0o644)
		sleepForever()
	case "/big":
		// 64 MiB: far more than the socket buffers between a front and a
		// client that does not read.
		io.WriteString(out, "Content-Type: application/octet-stream\n\n")
		chunk := []byte(strings.Repeat("b", 64<<10))
		for range 1024 {
			if _, err := out.Write(chunk); err != nil {
				return 1
			}
		}
	case "/env":
		env := os.Environ()
		sort.Strings(env)
		io.WriteString(out, "Content-Type: text/plain\n\n"+strings.Join(env, "\n")+"\n")
	case "/echo":
		n, err := strconv.ParseInt(os.Getenv("CONTENT_LENGTH"), 10, 64)
		if err != nil {
			n = 0
		}
		io.WriteString(out, "Content-Type: application/octet-stream\n\n")
		if _, err := io.Copy(out, io.LimitReader(os.Stdin, n)); err != nil {
			return 1
		}
	case "/stderr":
		os.Stderr.Write([]byte(strings.Repeat("e", 100<<10)))
		fmt.Fprintf(out, "Content-Type: text/plain\n\nok\n")
	case "/stream":
		io.WriteString(out, "Content-Type: text/plain\n\nfirst\n")
		gate, err := os.ReadFile(os.Getenv(gateEnv)) // blocks until the test opens it
		if err != nil {
			return 1
		}
		io.WriteString(out, "second "+string(gate)+"\n")
	default:
		io.WriteString(out, "Status: 400 Bad Request\nContent-Type: text/plain\n\nunknown child path\n")
	}
	return 0
}

// reportPids writes "pid gpid" to the file named by pidsEnv: atomically for
// a regular file, so a reader never sees half of it; a FIFO blocks until the
// test reads it.
func reportPids(pid, gpid int) error {
	path := os.Getenv(pidsEnv)
	data := []byte(fmt.Sprintf("%d %d", pid, gpid))
	if fi, err := os.Stat(path); err == nil && fi.Mode()&os.ModeNamedPipe != 0 {
		f, err := os.OpenFile(path, os.O_WRONLY, 0)
		if err != nil {
			return err
		}
		if _, err := f.Write(data); err != nil {
			return err
		}
		return f.Close()
	}
	tmp := filepath.Join(filepath.Dir(path), ".tmp-"+filepath.Base(path))
	if err := os.WriteFile(tmp, data, 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}
