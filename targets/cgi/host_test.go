package cgi

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"forkbench/internal/testbin"
	"forkbench/targets"
)

// newHost returns a Host running the test binary as its child, logging to
// the returned buffer, and closes it and checks its bookkeeping at the end
// of the test.
func newHost(t *testing.T, mod func(*Host)) (*Host, *testbin.SyncBuffer) {
	t.Helper()
	logs := &testbin.SyncBuffer{}
	h := &Host{
		Path:    os.Args[0],
		Env:     []string{childEnv + "=1"},
		Timeout: time.Minute,
		Logger:  slog.New(slog.NewTextHandler(logs, nil)),
	}
	if mod != nil {
		mod(h)
	}
	t.Cleanup(func() {
		if err := h.Close(); err != nil {
			t.Errorf("Close() = %v", err)
		}
		st := h.Stats()
		if st.Running != 0 || st.Spawned != st.Reaped {
			t.Errorf("after Close: Stats() = %+v; want Running 0 and Reaped == Spawned", st)
		}
		if z := zombieChildren(); len(z) > 0 {
			t.Errorf("zombie children left: %v", z)
		}
		if t.Failed() {
			t.Logf("host log:\n%s", logs)
		}
	})
	return h, logs
}

// serve starts an HTTP server for h, closed (waiting for every handler) at
// the end of the test.
func serve(t *testing.T, h http.Handler) *httptest.Server {
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv
}

func get(t *testing.T, url string) testbin.Response {
	t.Helper()
	return do(t, context.Background(), "GET", url, nil, nil)
}

func do(t *testing.T, ctx context.Context, method, url string, body io.Reader, hdr http.Header) testbin.Response {
	t.Helper()
	got, err := testbin.Fetch(t, ctx, nil, method, url, body, hdr)
	if err != nil {
		t.Fatalf("%s %s: reading body: %v", method, url, err)
	}
	return got
}

func TestResponses(t *testing.T) {
	tests := []struct {
		method     string // "" means GET
		path       string
		wantStatus int
		wantBody   string
		wantLog    []string // substrings of the log
		wantBad    uint64   // Stats.BadGateway
		wantBroken bool     // the body ends in an error, not EOF (Stats.Failed 1)
	}{
		{path: "/ok", wantStatus: 200, wantBody: "ok\n"},
		{path: "/status", wantStatus: 404, wantBody: "nope\n"},
		{path: "/nocontent", wantStatus: 204, wantBody: ""},
		{method: "HEAD", path: "/ok", wantStatus: 200, wantBody: ""},
		{path: "/crash", wantStatus: 502, wantBody: "Bad Gateway\n", wantBad: 1,
			wantLog: []string{"status=502", "exit status 3", "unexpected EOF"}},
		{path: "/garbage", wantStatus: 502, wantBody: "Bad Gateway\n", wantBad: 1,
			wantLog: []string{"status=502", "line without a colon"}},
		{path: "/partial", wantStatus: 502, wantBody: "Bad Gateway\n", wantBad: 1,
			wantLog: []string{"status=502", "exit status 1"}},
		// A script that fails after its head has not answered: the client
		// must see a broken response, not a complete 200.
		{path: "/fail-after", wantStatus: 200, wantBody: "all of it\n", wantBroken: true,
			wantLog: []string{"child failed after sending its head", "status=200", "exit status 1"}},
		{path: "/fail-after-cl", wantStatus: 200, wantBody: "012345678", wantBroken: true,
			wantLog: []string{"child failed after sending its head", "status=200", "exit status 1"}},
		{path: "/short-cl", wantStatus: 200, wantBody: "abc", wantBroken: true,
			wantLog: []string{"child wrote less than its Content-Length"}},
		{path: "/exact-cl", wantStatus: 200, wantBody: "0123456789"},
		{path: "/dup-cl", wantStatus: 502, wantBody: "Bad Gateway\n", wantBad: 1,
			wantLog: []string{"status=502", "conflicting Content-Length"}},
		{path: "/stderr", wantStatus: 200, wantBody: "ok\n",
			wantLog: []string{"child wrote to stderr", "stderr_truncated=" + strconv.Itoa(100<<10-DefaultMaxStderr)}},
	}
	for _, tt := range tests {
		if tt.method == "" {
			tt.method = "GET"
		}
		t.Run(tt.method+strings.ReplaceAll(tt.path, "/", "_"), func(t *testing.T) {
			h, logs := newHost(t, nil)
			srv := serve(t, h)
			got, err := testbin.Fetch(t, context.Background(), nil, tt.method, srv.URL+tt.path, nil, nil)
			if tt.wantBroken && got.Status == 0 && err != nil {
				// The connection was dropped before the buffered head
				// was flushed: broken, as wanted.
				got.Status, got.Body = tt.wantStatus, tt.wantBody
			}
			if got.Status != tt.wantStatus || got.Body != tt.wantBody || (err != nil) != tt.wantBroken {
				t.Errorf("%s %s = %d %q, read error %v; want %d %q, broken %v", tt.method, tt.path, got.Status, got.Body, err, tt.wantStatus, tt.wantBody, tt.wantBroken)
			}
			srv.Close()
			st := h.Stats()
			wantFailed := uint64(0)
			if tt.wantBroken {
				wantFailed = 1
			}
			if st.Spawned != 1 || st.Reaped != 1 || st.BadGateway != tt.wantBad || st.Failed != wantFailed || st.Timeouts != 0 || st.Aborted != 0 {
				t.Errorf("Stats() = %+v; want 1 spawned and reaped, BadGateway %d, Failed %d, no timeouts or aborts", st, tt.wantBad, wantFailed)
			}
			log := logs.String()
			for _, s := range tt.wantLog {
				if !strings.Contains(log, s) {
					t.Errorf("log %q does not contain %q", log, s)
				}
			}
			if len(tt.wantLog) == 0 && log != "" {
				t.Errorf("log = %q; want nothing for a clean request", log)
			}
			if n := strings.Count(log, "\n"); len(tt.wantLog) > 0 && n != 1 {
				t.Errorf("log has %d lines; want exactly 1:\n%s", n, log)
			}
		})
	}
}

// TestContentLengthOverrun checks that a child writing more than the
// Content-Length it declared gets the connection dropped, so the client
// sees a broken response rather than a quietly cut one.
func TestContentLengthOverrun(t *testing.T) {
	h, logs := newHost(t, nil)
	srv := serve(t, h)
	// Depending on whether the head was flushed before the overrun, the
	// drop shows in the response or in its body.
	if resp, err := http.Get(srv.URL + "/toolong"); err == nil {
		b, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err == nil {
			t.Errorf("GET /toolong = %d %q without error; want the connection dropped", resp.StatusCode, b)
		}
	}
	srv.Close()
	if log := logs.String(); !strings.Contains(log, "child wrote more than its Content-Length") {
		t.Errorf("log = %q; want the overrun", log)
	}
}

// TestConcurrent runs more requests than slots at once, reusing pooled
// exchanges, and checks every one is answered by its own reaped child.
func TestConcurrent(t *testing.T) {
	h, _ := newHost(t, func(h *Host) {
		h.MaxChildren = 2
		h.QueueTimeout = time.Minute // every request waits its turn
	})
	srv := serve(t, h)
	const n = 12
	var wg sync.WaitGroup
	results := make(chan testbin.Response, n)
	for i := range n {
		wg.Go(func() {
			if i%2 == 0 {
				results <- get(t, srv.URL+"/ok")
				return
			}
			body := strings.Repeat(strconv.Itoa(i), 1000)
			got := do(t, context.Background(), "POST", srv.URL+"/echo", strings.NewReader(body), nil)
			if got.Body != body {
				t.Errorf("POST /echo %d echoed %d bytes; want %d", i, len(got.Body), len(body))
			}
			results <- got
		})
	}
	wg.Wait()
	close(results)
	pids := map[string]bool{}
	for got := range results {
		if got.Status != 200 {
			t.Errorf("status %d; want 200", got.Status)
		}
		if pid := got.Header.Get("X-Pid"); pid != "" {
			if pids[pid] {
				t.Errorf("pid %s answered twice", pid)
			}
			pids[pid] = true
		}
	}
	srv.Close()
	if st := h.Stats(); st.Spawned != n || st.Reaped != n || st.Rejected != 0 {
		t.Errorf("Stats() = %+v; want %d spawned and reaped, none rejected", st, n)
	}
}

// TestHopByHopDropped checks that the fields describing a connection are
// the front's to decide, not the script's.
func TestHopByHopDropped(t *testing.T) {
	h, _ := newHost(t, nil)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/hop", nil))
	want := http.Header{"Content-Type": {"text/plain"}, "X-Keep": {"1"}}
	if rec.Code != 200 || rec.Body.String() != "body\n" || !reflect.DeepEqual(rec.Header(), want) {
		t.Errorf("GET /hop = %d %q %v; want 200 %q %v", rec.Code, rec.Body, rec.Header(), "body\n", want)
	}
}

func TestNewProcessPerRequest(t *testing.T) {
	h, _ := newHost(t, nil)
	srv := serve(t, h)
	seen := map[string]bool{strconv.Itoa(os.Getpid()): true}
	for range 3 {
		got := get(t, srv.URL+"/ok")
		pid := got.Header.Get("X-Pid")
		if got.Status != 200 || pid == "" {
			t.Fatalf("GET /ok = %d, X-Pid %q; want 200 and a pid", got.Status, pid)
		}
		if seen[pid] {
			t.Errorf("pid %s answered twice (or is the host's own)", pid)
		}
		seen[pid] = true
	}
	srv.Close()
	if st := h.Stats(); st.Spawned != 3 || st.Reaped != 3 {
		t.Errorf("Stats() = %+v; want 3 spawned and reaped", st)
	}
}

func TestEnvironment(t *testing.T) {
	t.Setenv("FORKBENCH_CANARY", "leaked")
	t.Setenv("FORKBENCH_INHERIT_ME", "passed")
	h, _ := newHost(t, func(h *Host) {
		h.InheritEnv = []string{"FORKBENCH_INHERIT_ME", "FORKBENCH_UNSET_VARIABLE"}
		h.Env = append(h.Env, "EXTRA=1")
		h.Gateway.ScriptName = "/app.cgi"
	})
	srv := serve(t, h)
	got := do(t, context.Background(), "GET", srv.URL+"/app.cgi/env?q=1", nil, http.Header{
		"Proxy":               {"http://evil.example:1"},
		"Authorization":       {"Basic dXNlcjpwYXNz"},
		"Proxy-Authorization": {"Basic cHJveHk6cGFzcw=="},
		"X-Test":              {"yes"},
	})
	if got.Status != 200 {
		t.Fatalf("GET /app.cgi/env = %d %q; want 200", got.Status, got.Body)
	}
	env := map[string]string{}
	for _, kv := range strings.Split(strings.TrimSpace(got.Body), "\n") {
		k, v, _ := strings.Cut(kv, "=")
		env[k] = v
	}
	want := map[string]string{
		"GATEWAY_INTERFACE":    "CGI/1.1",
		"SCRIPT_NAME":          "/app.cgi",
		"PATH_INFO":            "/env",
		"QUERY_STRING":         "q=1",
		"REQUEST_METHOD":       "GET",
		"HTTP_X_TEST":          "yes",
		"FORKBENCH_INHERIT_ME": "passed",
		"EXTRA":                "1",
		childEnv:               "1",
	}
	for k, w := range want {
		if env[k] != w {
			t.Errorf("child's %s = %q; want %q", k, env[k], w)
		}
	}
	for _, k := range []string{"FORKBENCH_CANARY", "PATH", "HOME", "HTTP_PROXY", "HTTP_AUTHORIZATION", "HTTP_PROXY_AUTHORIZATION", "FORKBENCH_UNSET_VARIABLE", "PWD"} {
		if v, ok := env[k]; ok {
			t.Errorf("child has %s=%q; want it absent", k, v)
		}
	}
	// Nothing but meta-variables, request headers and what was configured.
	meta := "GATEWAY_INTERFACE SERVER_SOFTWARE SERVER_NAME SERVER_PORT SERVER_PROTOCOL REQUEST_METHOD " +
		"QUERY_STRING REQUEST_URI SCRIPT_NAME PATH_INFO REMOTE_ADDR REMOTE_HOST REMOTE_PORT"
	for k := range env {
		if !strings.HasPrefix(k, "HTTP_") && !strings.Contains(" "+meta+" ", " "+k+" ") && want[k] == "" {
			t.Errorf("child has unexpected variable %s=%q", k, env[k])
		}
	}
}

func TestRequestBody(t *testing.T) {
	h, _ := newHost(t, nil)
	srv := serve(t, h)
	body := strings.Repeat("0123456789abcdef", 20000) // 320 KB: more than a pipe holds
	got := do(t, context.Background(), "POST", srv.URL+"/echo", strings.NewReader(body), nil)
	if got.Status != 200 || got.Body != body {
		t.Errorf("POST /echo = %d, %d bytes; want 200 and the %d bytes sent back", got.Status, len(got.Body), len(body))
	}

	// A body of unknown length is spooled and given to the script with
	// its length, as FastCGI and embedded get it (it used to be 411).
	got = do(t, context.Background(), "POST", srv.URL+"/echo", io.MultiReader(strings.NewReader(body)), nil)
	if got.Status != 200 || got.Body != body {
		t.Errorf("chunked POST /echo = %d, %d bytes; want 200 and the %d bytes sent back", got.Status, len(got.Body), len(body))
	}
}

// TestPassAuth checks that Authorization reaches the script only when
// opted in (Apache's CGIPassAuth).
func TestPassAuth(t *testing.T) {
	h, _ := newHost(t, func(h *Host) { h.Gateway.PassAuth = true })
	srv := serve(t, h)
	got := do(t, context.Background(), "GET", srv.URL+"/env", nil, http.Header{"Authorization": {"Bearer t0k3n"}})
	if !strings.Contains(got.Body, "\nHTTP_AUTHORIZATION=Bearer t0k3n\n") {
		t.Errorf("GET /env with PassAuth: environment %q lacks HTTP_AUTHORIZATION", got.Body)
	}
}

// TestRefusedBeforeFork checks that a request no script could be given is
// refused with its own status and that no child is started for it.
func TestRefusedBeforeFork(t *testing.T) {
	tests := []struct {
		name       string
		path       string
		header     http.Header
		body       io.Reader
		wantStatus int
	}{
		{name: "NUL in PATH_INFO", path: "/app.cgi/a%00b", wantStatus: 400},
		{name: "200 KB header", path: "/app.cgi/ok", header: http.Header{"X-Big": {strings.Repeat("b", 200<<10)}}, wantStatus: 431},
		{name: "prefix off a segment boundary", path: "/app.cgiX/ok", wantStatus: 404},
		{name: "declared body over the limit", path: "/app.cgi/echo", body: strings.NewReader(strings.Repeat("d", 2000)), wantStatus: 413},
		{name: "chunked body over the limit", path: "/app.cgi/echo", body: io.MultiReader(strings.NewReader(strings.Repeat("c", 2000))), wantStatus: 413},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h, logs := newHost(t, func(h *Host) {
				h.Gateway.ScriptName = "/app.cgi"
				h.Body.MaxBytes = 1000
			})
			srv := serve(t, h)
			method := "GET"
			if tt.body != nil {
				method = "POST"
			}
			got := do(t, context.Background(), method, srv.URL+tt.path, tt.body, tt.header)
			if got.Status != tt.wantStatus {
				t.Errorf("%s %s = %d %q; want %d", method, tt.path, got.Status, got.Body, tt.wantStatus)
			}
			srv.Close()
			if st := h.Stats(); st.Spawned != 0 || st.Refused != 1 {
				t.Errorf("Stats() = %+v; want nothing spawned, 1 refused", st)
			}
			if !strings.Contains(logs.String(), "status="+strconv.Itoa(tt.wantStatus)) {
				t.Errorf("log = %q; want the refusal", logs)
			}
		})
	}
}

// TestForkEAGAIN checks that a fork refused for want of processes is a
// prompt 503 the client may retry, not a 500.
func TestForkEAGAIN(t *testing.T) {
	h, logs := newHost(t, func(h *Host) {
		h.testHookStart = func(c *exec.Cmd) error {
			// What exec.Cmd.Start returns when clone fails under
			// RLIMIT_NPROC or a pids cgroup limit.
			return &os.PathError{Op: "fork/exec", Path: c.Path, Err: syscall.EAGAIN}
		}
	})
	srv := serve(t, h)
	got := get(t, srv.URL+"/ok")
	if got.Status != http.StatusServiceUnavailable || got.Header.Get("Retry-After") != "1" {
		t.Errorf("GET /ok with fork failing = %d, Retry-After %q; want 503, 1", got.Status, got.Header.Get("Retry-After"))
	}
	srv.Close()
	if st := h.Stats(); st.StartErrors != 1 || st.Spawned != 0 {
		t.Errorf("Stats() = %+v; want 1 start error, nothing spawned", st)
	}
	if !strings.Contains(logs.String(), "resource temporarily unavailable") {
		t.Errorf("log = %q; want the EAGAIN", logs)
	}
}

// TestStreaming checks that what the child has written reaches the client
// while the child is still running: /stream writes its second line only
// after the test has read the first.
func TestStreaming(t *testing.T) {
	gate := filepath.Join(t.TempDir(), "gate")
	if err := syscall.Mkfifo(gate, 0o600); err != nil {
		t.Fatal(err)
	}
	h, _ := newHost(t, func(h *Host) { h.Env = append(h.Env, gateEnv+"="+gate) })
	srv := serve(t, h)
	client := &http.Client{Timeout: 30 * time.Second} // fails rather than hangs without the flush
	resp, err := client.Get(srv.URL + "/stream")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	br := bufio.NewReader(resp.Body)
	first, err := br.ReadString('\n')
	if err != nil || first != "first\n" {
		t.Fatalf("first line = %q, %v; want %q", first, err, "first\n")
	}
	if err := os.WriteFile(gate, []byte("go"), 0); err != nil {
		t.Fatal(err)
	}
	rest, err := io.ReadAll(br)
	if err != nil || string(rest) != "second go\n" {
		t.Errorf("rest = %q, %v; want %q", rest, err, "second go\n")
	}
}

// readPids reads "pid gpid" from a file written by a hanging child.
func readPids(t *testing.T, path string) (pid, gpid int, ok bool) {
	t.Helper()
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return 0, 0, false
	}
	if err != nil {
		t.Fatal(err)
	}
	if _, err := fmt.Sscanf(string(b), "%d %d", &pid, &gpid); err != nil {
		t.Fatalf("pids file %q: %v", b, err)
	}
	return pid, gpid, true
}

// assertGone checks that pid has exited: it must not be running, either
// because it is gone or because it is a zombie of some other parent (the
// grandchild is reparented). A process just sent SIGKILL may take a moment
// to die, so this waits for its exit through a pidfd.
func assertGone(t *testing.T, what string, pid int) {
	t.Helper()
	fd, err := unix.PidfdOpen(pid, 0)
	if errors.Is(err, unix.ESRCH) {
		return
	}
	if err != nil {
		t.Fatalf("pidfd_open(%d): %v", pid, err)
	}
	defer unix.Close(fd)
	fds := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}
	for {
		n, err := unix.Poll(fds, 30_000)
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if err != nil {
			t.Fatalf("poll pidfd: %v", err)
		}
		if n == 0 {
			t.Errorf("%s (pid %d) still running 30s after its group was killed", what, pid)
		}
		return
	}
}

// TestTimeoutKillsGroup checks that a child that never answers gets the
// client a 504 and that it and its grandchild are killed. The child must
// report its pids before the timeout, which a loaded machine may not
// allow, so the timeout grows until it has.
func TestTimeoutKillsGroup(t *testing.T) {
	for timeout := 250 * time.Millisecond; ; timeout *= 2 {
		if timeout > 30*time.Second {
			t.Fatal("the hanging child never reported its pids")
		}
		pidsFile := filepath.Join(t.TempDir(), "pids")
		ok := t.Run(timeout.String(), func(t *testing.T) {
			h, logs := newHost(t, func(h *Host) {
				h.Timeout = timeout
				h.Env = append(h.Env, pidsEnv+"="+pidsFile)
			})
			srv := serve(t, h)
			got := get(t, srv.URL+"/hang")
			if got.Status != http.StatusGatewayTimeout || got.Body != "Gateway Timeout\n" {
				t.Errorf("GET /hang = %d %q; want 504 %q", got.Status, got.Body, "Gateway Timeout\n")
			}
			srv.Close()
			if st := h.Stats(); st.Timeouts != 1 || st.Spawned != 1 || st.Reaped != 1 || st.BadGateway != 0 {
				t.Errorf("Stats() = %+v; want 1 timeout, 1 spawned and reaped", st)
			}
			if log := logs.String(); !strings.Contains(log, "status=504") || !strings.Contains(log, "signal: terminated") {
				t.Errorf("log = %q; want the 504 and the SIGTERM", log)
			}
		})
		if !ok {
			return
		}
		pid, gpid, reported := readPids(t, pidsFile)
		if !reported {
			continue // killed before it could report: try a longer timeout
		}
		assertGone(t, "child", pid)
		assertGone(t, "grandchild", gpid)
		return
	}
}

// TestChildOutlivesStdout checks that a child that closes stdout after a
// complete response but does not exit does not hold the response until
// Timeout (it used to): after ExitDrain its group is killed and the client
// has the whole response.
func TestChildOutlivesStdout(t *testing.T) {
	h, logs := newHost(t, nil) // Timeout is a minute
	srv := serve(t, h)
	got := get(t, srv.URL+"/detach")
	srv.Close()
	if got.Status != 200 || got.Body != "done\n" {
		t.Fatalf("GET /detach = %d %q; want 200 %q", got.Status, got.Body, "done\n")
	}
	if st := h.Stats(); st.Timeouts != 0 || st.Reaped != 1 || st.Failed != 0 {
		t.Errorf("Stats() = %+v; want no timeout, 1 reaped, none failed", st)
	}
	if log := logs.String(); !strings.Contains(log, "kept running after closing its stdout") {
		t.Errorf("log = %q; want the lingering child", log)
	}
	pid, err := strconv.Atoi(got.Header.Get("X-Pid"))
	if err != nil {
		t.Fatal(err)
	}
	assertGone(t, "child", pid)
}

// TestBackgroundHoldsStdout checks that a child that exits at once but
// leaves a background process holding its stdout ends the response after
// ExitDrain, not at Timeout (it used to hang for the whole timeout), and
// that the background process is killed.
func TestBackgroundHoldsStdout(t *testing.T) {
	tests := []struct {
		path       string
		wantStatus int
		wantBody   string
		wantLog    string
	}{
		{"/background", 200, "foreground done\n", "another process kept its stdout open"},
		{"/background-nohead", 502, "Bad Gateway\n", "another process kept its stdout open"},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			pidsFile := filepath.Join(t.TempDir(), "pids")
			h, logs := newHost(t, func(h *Host) { h.Env = append(h.Env, pidsEnv+"="+pidsFile) })
			srv := serve(t, h)
			got := get(t, srv.URL+tt.path)
			srv.Close()
			if got.Status != tt.wantStatus || got.Body != tt.wantBody {
				t.Errorf("GET %s = %d %q; want %d %q", tt.path, got.Status, got.Body, tt.wantStatus, tt.wantBody)
			}
			if st := h.Stats(); st.Timeouts != 0 || st.Reaped != 1 {
				t.Errorf("Stats() = %+v; want no timeout, 1 reaped", st)
			}
			if log := logs.String(); !strings.Contains(log, tt.wantLog) {
				t.Errorf("log = %q; want %q", log, tt.wantLog)
			}
			pid, gpid, ok := readPids(t, pidsFile)
			if !ok {
				t.Fatal("the child did not report its pids")
			}
			assertGone(t, "child", pid)
			assertGone(t, "background process", gpid)
		})
	}
}

// TestSIGTERMThenSIGKILL checks that a child is asked to stop first and
// killed when it does not: /ignore-term records the SIGTERM and carries on.
func TestSIGTERMThenSIGKILL(t *testing.T) {
	fifo := mkfifo(t)
	termFile := filepath.Join(t.TempDir(), "term")
	h, logs := newHost(t, func(h *Host) {
		h.Env = append(h.Env, pidsEnv+"="+fifo, termEnv+"="+termFile)
		h.KillGrace = 100 * time.Millisecond
	})
	srv := serve(t, h)
	pid, _, cancel, done := hangPath(t, srv.URL+"/ignore-term", fifo)
	cancel() // the client goes away
	<-done
	srv.Close() // waits for the handler, hence for the child's reaping
	if b, err := os.ReadFile(termFile); err != nil || string(b) != "SIGTERM" {
		t.Errorf("the child's SIGTERM record = %q, %v; want SIGTERM", b, err)
	}
	if st := h.Stats(); st.Aborted != 1 || st.Reaped != 1 {
		t.Errorf("Stats() = %+v; want 1 aborted and reaped", st)
	}
	if log := logs.String(); !strings.Contains(log, "signal: killed") {
		t.Errorf("log = %q; want the SIGKILL", log)
	}
	assertGone(t, "child", pid)
}

// hang starts GET /hang on srv and returns once the child has reported its
// pids through a FIFO, so the child is certainly running and holds a slot.
// cancel makes the client go away; done delivers the client's result.
func hang(t *testing.T, h *Host, srvURL, fifo string) (pid, gpid int, cancel context.CancelFunc, done <-chan error) {
	t.Helper()
	return hangPath(t, srvURL+"/hang", fifo)
}

// hangPath is hang for any child path that reports its pids to the FIFO.
func hangPath(t *testing.T, url, fifo string) (pid, gpid int, cancel context.CancelFunc, done <-chan error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() {
		req, _ := http.NewRequestWithContext(ctx, "GET", url, nil)
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			resp.Body.Close()
			err = fmt.Errorf("GET /hang answered %d", resp.StatusCode)
		}
		errc <- err
	}()
	pidc := make(chan string, 1)
	go func() {
		b, _ := os.ReadFile(fifo) // blocks until the child writes
		pidc <- string(b)
	}()
	select {
	case s := <-pidc:
		if _, err := fmt.Sscanf(s, "%d %d", &pid, &gpid); err != nil {
			t.Fatalf("pids %q: %v", s, err)
		}
	case err := <-errc:
		t.Fatalf("GET %s ended before the child reported: %v", url, err)
	case <-time.After(time.Minute):
		t.Fatal("the hanging child never reported its pids")
	}
	return pid, gpid, cancel, errc
}

func mkfifo(t *testing.T) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "pids")
	if err := syscall.Mkfifo(p, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestClientDisconnectKillsGroup(t *testing.T) {
	fifo := mkfifo(t)
	h, _ := newHost(t, func(h *Host) { h.Env = append(h.Env, pidsEnv+"="+fifo) })
	srv := serve(t, h)
	pid, gpid, cancel, done := hang(t, h, srv.URL, fifo)
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Errorf("client error = %v; want context.Canceled", err)
	}
	srv.Close() // waits for the handler, which must not wait for the child
	if st := h.Stats(); st.Aborted != 1 || st.Reaped != 1 || st.Timeouts != 0 {
		t.Errorf("Stats() = %+v; want 1 aborted and reaped, no timeout", st)
	}
	assertGone(t, "child", pid)
	assertGone(t, "grandchild", gpid)
}

func TestMaxChildren(t *testing.T) {
	tests := []struct {
		name         string
		queueTimeout time.Duration
	}{
		{"reject at once", -1},
		{"reject after queueing", 10 * time.Millisecond},
		{"reject after the default queue wait", 0}, // it used to wait for Timeout, then 504
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fifo := mkfifo(t)
			h, _ := newHost(t, func(h *Host) {
				h.MaxChildren = 1
				h.QueueTimeout = tt.queueTimeout
				h.Env = append(h.Env, pidsEnv+"="+fifo)
			})
			srv := serve(t, h)
			_, _, cancel, done := hang(t, h, srv.URL, fifo)
			got := get(t, srv.URL+"/ok")
			if got.Status != http.StatusServiceUnavailable || got.Header.Get("Retry-After") != "1" {
				t.Errorf("GET /ok with no free slot = %d, Retry-After %q; want 503 and 1", got.Status, got.Header.Get("Retry-After"))
			}
			cancel()
			<-done
			srv.Close()
			if st := h.Stats(); st.Rejected != 1 || st.Timeouts != 0 || st.Spawned != 1 || st.Reaped != 1 || st.Aborted != 1 {
				t.Errorf("Stats() = %+v; want 1 rejected, 1 spawned, reaped and aborted", st)
			}
		})
	}
}

// TestQueueWaits checks that within QueueTimeout an excess request waits
// for a slot rather than being refused.
// TestQueueWaits: with one slot taken, a second request waits in the
// queue and is served once the slot frees. Everything it waits for has a
// deadline, and only the test's goroutine fails the test.
func TestQueueWaits(t *testing.T) {
	ctx, stop := context.WithTimeout(context.Background(), 60*time.Second)
	defer stop()
	fifo := mkfifo(t)
	h, _ := newHost(t, func(h *Host) {
		h.QueueTimeout = time.Minute // 0 now means DefaultQueueTimeout
		h.MaxChildren = 1
		h.Env = append(h.Env, pidsEnv+"="+fifo)
	})
	srv := serve(t, h)
	_, _, cancel, done := hang(t, h, srv.URL, fifo)
	type result struct {
		status int
		body   string
		err    error
	}
	okc := make(chan result, 1)
	go func() {
		var r result
		req, err := http.NewRequestWithContext(ctx, "GET", srv.URL+"/ok", nil)
		if err == nil {
			var resp *http.Response
			if resp, err = http.DefaultClient.Do(req); err == nil {
				var b []byte
				b, err = io.ReadAll(resp.Body)
				resp.Body.Close()
				r.status, r.body = resp.StatusCode, string(b)
			}
		}
		r.err = err
		okc <- r
	}()
	for h.Stats().Queued == 0 { // the /ok request is waiting for the slot
		if ctx.Err() != nil {
			t.Fatal("the second request never queued")
		}
		runtime.Gosched()
	}
	cancel() // frees the slot
	select {
	case <-done:
	case <-ctx.Done():
		t.Fatal("the hanging request did not end after its cancellation")
	}
	select {
	case got := <-okc:
		if got.err != nil || got.status != 200 || got.body != "ok\n" {
			t.Errorf("queued GET /ok = %d %q, %v; want 200 %q", got.status, got.body, got.err, "ok\n")
		}
	case <-ctx.Done():
		t.Fatal("the queued request was not served")
	}
	srv.Close()
	if st := h.Stats(); st.Queued != 1 || st.Rejected != 0 || st.Spawned != 2 || st.Reaped != 2 {
		t.Errorf("Stats() = %+v; want 1 queued, none rejected, 2 spawned and reaped", st)
	}
}

func TestClose(t *testing.T) {
	fifo := mkfifo(t)
	h, _ := newHost(t, func(h *Host) { h.Env = append(h.Env, pidsEnv+"="+fifo) })
	srv := serve(t, h)
	pid, gpid, _, done := hang(t, h, srv.URL, fifo)
	if err := h.Close(); err != nil {
		t.Fatalf("Close() = %v", err)
	}
	if st := h.Stats(); st.Running != 0 || st.Reaped != 1 {
		t.Errorf("Stats() after Close = %+v; want nothing running, 1 reaped", st)
	}
	if err := <-done; err == nil || !strings.Contains(err.Error(), "503") {
		t.Errorf("the running request got %v; want a 503", err)
	}
	assertGone(t, "child", pid)
	assertGone(t, "grandchild", gpid)
	if got := get(t, srv.URL+"/ok"); got.Status != http.StatusServiceUnavailable {
		t.Errorf("GET /ok after Close = %d; want 503", got.Status)
	}
	if st := h.Stats(); st.Spawned != 1 {
		t.Errorf("Stats().Spawned = %d after Close; want no new child", st.Spawned)
	}
}

func TestBadPath(t *testing.T) {
	h, logs := newHost(t, func(h *Host) { h.Path = filepath.Join(t.TempDir(), "missing") })
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/ok", nil))
	if rec.Code != 500 {
		t.Errorf("status = %d; want 500", rec.Code)
	}
	if st := h.Stats(); st.StartErrors != 1 || st.Spawned != 0 {
		t.Errorf("Stats() = %+v; want 1 start error, nothing spawned", st)
	}
	if !strings.Contains(logs.String(), "cannot start child") {
		t.Errorf("log = %q; want the start error", logs)
	}
}

// zombieChildren lists this process's children that have exited and not
// been reaped.
func zombieChildren() []int {
	procs, _ := targets.Procs()
	var zombies []int
	for _, p := range procs {
		if p.State == 'Z' && p.PPID == os.Getpid() {
			zombies = append(zombies, p.PID)
		}
	}
	return zombies
}

func BenchmarkHost(b *testing.B) {
	h := &Host{
		Path:   os.Args[0],
		Env:    []string{childEnv + "=1"},
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
	}
	defer h.Close()
	req := httptest.NewRequest("GET", "/ok", nil)
	rec := httptest.NewRecorder()
	b.ReportAllocs()
	for b.Loop() {
		rec.Body.Reset()
		h.ServeHTTP(rec, req)
		if rec.Code != 200 {
			b.Fatalf("status %d", rec.Code)
		}
	}
	b.ReportMetric(float64(h.Stats().Spawned)/float64(b.N), "spawns/op")
}
