package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/cgi"
	"net/http/httptest"
	"net/textproto"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"forkbench/app"
	"forkbench/internal/testbin"
)

// Set by TestMain: the built binary and a seeded database.
var (
	binPath string
	testDB  string
)

func TestMain(m *testing.M) {
	testbin.MainInTempDir(m, "sampleapp-test-", func(dir string) error {
		binPath = filepath.Join(dir, "sampleapp")
		build := exec.Command("go", "build", "-o", binPath, ".")
		build.Stdout, build.Stderr = os.Stderr, os.Stderr
		if err := build.Run(); err != nil {
			return fmt.Errorf("building sampleapp: %w", err)
		}
		testDB = filepath.Join(dir, "world.db")
		return app.Seed(context.Background(), testDB)
	})
}

// waitLimit guards every wait on a child so a broken child fails the test
// instead of hanging it. It bounds, never paces: nothing waits for it to pass.
const waitLimit = 60 * time.Second

// runBin runs the binary to completion with exactly env as its environment.
func runBin(t *testing.T, env []string, stdin []byte, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), waitLimit)
	defer cancel()
	cmd := exec.CommandContext(ctx, binPath, args...)
	cmd.Env = env
	if env == nil {
		cmd.Env = []string{}
	}
	cmd.Stdin = bytes.NewReader(stdin)
	var so, se bytes.Buffer
	cmd.Stdout, cmd.Stderr = &so, &se
	err := cmd.Run()
	var exit *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &exit):
		code = exit.ExitCode()
	default:
		t.Fatalf("running %v: %v", args, err)
	}
	return code, so.String(), se.String()
}

// oneLine asserts that stderr is exactly one line.
func oneLine(t *testing.T, stderr string) {
	t.Helper()
	if strings.Count(stderr, "\n") != 1 || !strings.HasSuffix(stderr, "\n") {
		t.Errorf("stderr = %q; want one line", stderr)
	}
}

func TestNoopDoesNoStartup(t *testing.T) {
	// The same missing database that makes -startup-only fail must not
	// matter to -noop: it exits before the app is started.
	missing := filepath.Join(t.TempDir(), "missing.db")
	if code, so, se := runBin(t, nil, nil, "-noop", "-db", missing); code != 0 || so != "" || se != "" {
		t.Errorf("-noop -db missing = %d %q %q; want 0 and no output", code, so, se)
	}
	code, so, se := runBin(t, nil, nil, "-startup-only", "-db", missing)
	if code != 1 || so != "" {
		t.Errorf("-startup-only -db missing = %d %q; want 1 and no stdout", code, so)
	}
	oneLine(t, se)
	if _, err := os.Stat(missing); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("-startup-only created %s", missing)
	}
}

func TestStartupOnly(t *testing.T) {
	tests := []struct {
		name     string
		env      []string
		args     []string
		wantCode int
	}{
		{"flag", nil, []string{"-startup-only", "-db", testDB}, 0},
		{"env", []string{"FORKBENCH_DB=" + testDB}, []string{"-startup-only"}, 0},
		{"flag wins over env", []string{"FORKBENCH_DB=/nonexistent"}, []string{"-startup-only", "-db", testDB}, 0},
		{"no database", nil, []string{"-startup-only"}, 1},
		{"not a database", nil, []string{"-startup-only", "-db", binPath}, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, so, se := runBin(t, tt.env, nil, tt.args...)
			if code != tt.wantCode || so != "" {
				t.Errorf("%v = %d, stdout %q, stderr %q; want %d", tt.args, code, so, se, tt.wantCode)
			}
			if tt.wantCode != 0 {
				oneLine(t, se)
			}
		})
	}
}

func TestUsage(t *testing.T) {
	tests := []struct {
		name     string
		args     []string
		wantCode int
	}{
		{"no mode", nil, 2},
		{"two modes", []string{"-startup-only", "-http", "127.0.0.1:0", "-db", testDB}, 2},
		{"stray argument", []string{"-startup-only", "-db", testDB, "extra"}, 2},
		{"unknown flag", []string{"-bogus"}, 2},
		{"help", []string{"-h"}, 0},
		{"bad fcgi address", []string{"-fcgi", "nowhere", "-db", testDB}, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, so, se := runBin(t, nil, nil, tt.args...)
			if code != tt.wantCode || so != "" {
				t.Errorf("%v = %d, stdout %q, stderr %q; want %d", tt.args, code, so, se, tt.wantCode)
			}
			if se == "" {
				t.Errorf("%v printed nothing on stderr", tt.args)
			}
		})
	}
}

func TestSeedMode(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "w.db")
	if code, so, se := runBin(t, nil, nil, "-seed", path); code != 0 || so != "" || se != "" {
		t.Fatalf("-seed = %d %q %q; want 0 and no output", code, so, se)
	}
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	want, err := os.ReadFile(testDB)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("-seed wrote a database different from app.Seed's")
	}
	if es, _ := os.ReadDir(dir); len(es) != 1 {
		t.Errorf("-seed left %d entries in its directory; want 1", len(es))
	}
	code, _, se := runBin(t, nil, nil, "-seed", filepath.Join(dir, "no", "w.db"))
	if code != 1 {
		t.Errorf("-seed into a missing directory = %d; want 1", code)
	}
	oneLine(t, se)
}

// cgiResponse is a parsed CGI or FastCGI response.
type cgiResponse struct {
	status int
	header http.Header
	body   []byte
}

// parseCGI parses the "Status:"-headed response net/http/cgi and
// net/http/fcgi children write.
func parseCGI(t *testing.T, out []byte) cgiResponse {
	t.Helper()
	br := bufio.NewReader(bytes.NewReader(out))
	mh, err := textproto.NewReader(br).ReadMIMEHeader()
	if err != nil {
		t.Fatalf("parsing CGI response %q: %v", out, err)
	}
	h := http.Header(mh)
	status, _, _ := strings.Cut(h.Get("Status"), " ")
	code, err := strconv.Atoi(status)
	if err != nil {
		t.Fatalf("CGI response status %q: %v", h.Get("Status"), err)
	}
	h.Del("Status")
	body, _ := io.ReadAll(br)
	return cgiResponse{code, h, body}
}

// inProcess answers r with the app in the test's own process: the reference
// every other deployment must match.
func inProcess(t *testing.T, method, target string, body []byte) cgiResponse {
	t.Helper()
	a, err := app.New(app.Config{DBPath: testDB})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	w := httptest.NewRecorder()
	a.ServeHTTP(w, httptest.NewRequest(method, target, bytes.NewReader(body)))
	return cgiResponse{w.Code, w.Header(), w.Body.Bytes()}
}

// sameResponse asserts got matches want in status, headers (all but the
// Date value) and body, byte for byte.
func sameResponse(t *testing.T, what string, got, want cgiResponse) {
	t.Helper()
	if got.status != want.status {
		t.Errorf("%s status = %d; want %d", what, got.status, want.status)
	}
	if got.header.Get("Date") == "" {
		t.Errorf("%s has no Date", what)
	}
	g, w := got.header.Clone(), want.header.Clone()
	g.Del("Date")
	w.Del("Date")
	if fmt.Sprint(g) != fmt.Sprint(w) {
		t.Errorf("%s headers = %v; want %v", what, g, w)
	}
	if !bytes.Equal(got.body, want.body) {
		t.Errorf("%s body = %.200q; want %.200q", what, got.body, want.body)
	}
}

// exchange is one request the deployment tests send everywhere.
type exchange struct {
	method, path, query string
	body                []byte
}

func (e exchange) target() string {
	if e.query == "" {
		return e.path
	}
	return e.path + "?" + e.query
}

var exchanges = []exchange{
	{"GET", "/plaintext", "", nil},
	{"GET", "/json", "", nil},
	{"GET", "/db", "id=1", nil},
	{"GET", "/queries", "n=5&seed=99", nil},
	{"GET", "/fortunes", "", nil},
	{"POST", "/echo", "", []byte("echo me\x00\xff")},
	{"POST", "/echo", "", nil},
	{"GET", "/work", "n=10", nil},
	{"GET", "/bytes", "n=70000", nil},
	{"GET", "/sleep", "ms=1", nil},
	{"HEAD", "/json", "", nil},
	{"GET", "/db", "id=0", nil},
	{"GET", "/nope", "", nil},
	{"DELETE", "/plaintext", "", nil},
}

// cgiEnv is the environment a CGI host gives a child for e.
func cgiEnv(e exchange) []string {
	env := []string{
		"GATEWAY_INTERFACE=CGI/1.1",
		"REQUEST_METHOD=" + e.method,
		"SERVER_PROTOCOL=HTTP/1.1",
		"SERVER_NAME=127.0.0.1",
		"SERVER_PORT=80",
		"SCRIPT_NAME=",
		"PATH_INFO=" + e.path,
		"QUERY_STRING=" + e.query,
		"REMOTE_ADDR=127.0.0.1",
		"HTTP_HOST=127.0.0.1",
	}
	if len(e.body) > 0 {
		env = append(env, "CONTENT_LENGTH="+strconv.Itoa(len(e.body)), "CONTENT_TYPE=application/octet-stream")
	}
	return env
}

func TestCGIChild(t *testing.T) {
	for _, e := range exchanges {
		t.Run(e.method+" "+e.target(), func(t *testing.T) {
			env := append(cgiEnv(e), "FORKBENCH_DB="+testDB)
			code, so, se := runBin(t, env, e.body)
			if code != 0 || se != "" {
				t.Fatalf("CGI child = %d, stderr %q; want 0 and no stderr", code, se)
			}
			sameResponse(t, "CGI "+e.method+" "+e.target(), parseCGI(t, []byte(so)), inProcess(t, e.method, e.target(), e.body))
		})
	}
}

func TestCGIDBFlag(t *testing.T) {
	e := exchange{"GET", "/db", "id=2", nil}
	code, so, se := runBin(t, cgiEnv(e), nil, "-db", testDB)
	if code != 0 {
		t.Fatalf("CGI child with -db = %d, stderr %q", code, se)
	}
	sameResponse(t, "CGI -db", parseCGI(t, []byte(so)), inProcess(t, "GET", "/db?id=2", nil))
}

func TestCGIStartupFailure(t *testing.T) {
	for _, db := range []string{"", "FORKBENCH_DB=" + filepath.Join(t.TempDir(), "missing.db")} {
		env := cgiEnv(exchange{"GET", "/plaintext", "", nil})
		if db != "" {
			env = append(env, db)
		}
		code, so, se := runBin(t, env, nil)
		if code != 1 || so != "" {
			t.Errorf("CGI child with %q = %d, stdout %q; want 1 and no stdout", db, code, so)
		}
		oneLine(t, se)
	}
}

// TestCGIHost runs the binary under net/http/cgi's own host, as targets/cgi
// does, and checks the front's response equals the in-process one.
func TestCGIHost(t *testing.T) {
	h := &cgi.Handler{Path: binPath, Env: []string{"FORKBENCH_DB=" + testDB}, Stderr: io.Discard}
	for _, e := range exchanges {
		t.Run(e.method+" "+e.target(), func(t *testing.T) {
			w := httptest.NewRecorder()
			h.ServeHTTP(w, httptest.NewRequest(e.method, e.target(), bytes.NewReader(e.body)))
			sameResponse(t, "CGI host "+e.method+" "+e.target(), cgiResponse{w.Code, w.Header(), w.Body.Bytes()},
				inProcess(t, e.method, e.target(), e.body))
		})
	}
}

// daemon is a running -fcgi or -http process.
type daemon struct {
	cmd    *exec.Cmd
	addr   string // what follows "listening on "
	stderr *bytes.Buffer
	done   chan error
}

// startDaemon starts the binary and returns once it has printed its
// listening line, which it does only once it accepts connections.
func startDaemon(t *testing.T, args ...string) *daemon {
	t.Helper()
	cmd := exec.Command(binPath, args...)
	cmd.Env = []string{}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	d := &daemon{cmd: cmd, stderr: new(bytes.Buffer), done: make(chan error, 1)}
	cmd.Stderr = d.stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	lines := make(chan string, 1)
	go func() {
		line, _ := bufio.NewReader(stdout).ReadString('\n')
		lines <- line
		io.Copy(io.Discard, stdout) // nothing more is expected; keep the pipe open
		d.done <- cmd.Wait()
	}()
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			cmd.Process.Kill()
			<-d.done
		}
	})
	select {
	case line := <-lines:
		addr, ok := strings.CutPrefix(line, "listening on ")
		if !ok || !strings.HasSuffix(addr, "\n") {
			t.Fatalf("%v: first stdout line %q; want \"listening on ADDR\\n\" (stderr %q)", args, line, d.stderr)
		}
		d.addr = strings.TrimSuffix(addr, "\n")
	case <-time.After(waitLimit):
		t.Fatalf("%v: no listening line within %v", args, waitLimit)
	}
	return d
}

// stop sends SIGTERM and asserts a clean exit.
func (d *daemon) stop(t *testing.T) {
	t.Helper()
	if err := d.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-d.done:
		if err != nil {
			t.Errorf("daemon exit after SIGTERM: %v (stderr %q)", err, d.stderr)
		}
	case <-time.After(waitLimit):
		t.Fatalf("daemon still running %v after SIGTERM", waitLimit)
	}
}

// fcgiParamsFor is what a FastCGI front sends for e.
func fcgiParamsFor(e exchange) map[string]string {
	p := map[string]string{}
	for _, kv := range cgiEnv(e) {
		k, v, _ := strings.Cut(kv, "=")
		p[k] = v
	}
	p["REQUEST_URI"] = e.target()
	return p
}

func TestFCGIUnix(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "app.sock")
	d := startDaemon(t, "-fcgi", "unix:"+sock, "-db", testDB)
	if d.addr != "unix:"+sock {
		t.Errorf("listening on %q; want %q", d.addr, "unix:"+sock)
	}
	for _, e := range exchanges {
		so, se, err := fcgiRequest("unix", sock, fcgiParamsFor(e), e.body)
		if err != nil {
			t.Fatalf("%s %s: %v", e.method, e.target(), err)
		}
		if len(se) > 0 {
			t.Errorf("%s %s: FastCGI stderr %q", e.method, e.target(), se)
		}
		sameResponse(t, "FastCGI "+e.method+" "+e.target(), parseCGI(t, so), inProcess(t, e.method, e.target(), e.body))
	}
	d.stop(t)
	if _, err := os.Lstat(sock); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("socket %s still there after SIGTERM (%v)", sock, err)
	}
	if d.stderr.Len() > 0 {
		t.Errorf("daemon stderr: %q", d.stderr)
	}
}

func TestFCGITCP(t *testing.T) {
	d := startDaemon(t, "-fcgi", "tcp:127.0.0.1:0", "-db", testDB)
	addr, ok := strings.CutPrefix(d.addr, "tcp:127.0.0.1:")
	if port, err := strconv.Atoi(addr); !ok || err != nil || port == 0 {
		t.Fatalf("listening on %q; want tcp:127.0.0.1:PORT", d.addr)
	}
	e := exchange{"GET", "/plaintext", "", nil}
	so, _, err := fcgiRequest("tcp", strings.TrimPrefix(d.addr, "tcp:"), fcgiParamsFor(e), nil)
	if err != nil {
		t.Fatal(err)
	}
	sameResponse(t, "FastCGI tcp", parseCGI(t, so), inProcess(t, "GET", "/plaintext", nil))
	d.stop(t)
}

func TestFCGIStaleSocket(t *testing.T) {
	dir := t.TempDir()
	sock := filepath.Join(dir, "stale.sock")
	ln, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	ln.(*net.UnixListener).SetUnlinkOnClose(false)
	ln.Close() // a socket file nobody listens on: what a killed daemon leaves

	d := startDaemon(t, "-fcgi", "unix:"+sock, "-db", testDB)
	if _, _, err := fcgiRequest("unix", sock, fcgiParamsFor(exchange{"GET", "/json", "", nil}), nil); err != nil {
		t.Fatalf("request after replacing a stale socket: %v", err)
	}

	// A second daemon on the live socket must refuse, not steal it.
	code, _, se := runBin(t, nil, nil, "-fcgi", "unix:"+sock, "-db", testDB)
	if code != 1 {
		t.Errorf("second daemon on a live socket = %d; want 1", code)
	}
	oneLine(t, se)
	d.stop(t)

	// Nor may it remove something that is not a socket.
	file := filepath.Join(dir, "file")
	if err := os.WriteFile(file, []byte("keep"), 0o644); err != nil {
		t.Fatal(err)
	}
	code, _, se = runBin(t, nil, nil, "-fcgi", "unix:"+file, "-db", testDB)
	if code != 1 {
		t.Errorf("daemon on a regular file = %d; want 1", code)
	}
	oneLine(t, se)
	if b, _ := os.ReadFile(file); string(b) != "keep" {
		t.Errorf("daemon touched the regular file at its socket path")
	}
}

func TestHTTP(t *testing.T) {
	d := startDaemon(t, "-http", "127.0.0.1:0", "-db", testDB)
	if !strings.HasPrefix(d.addr, "http://127.0.0.1:") {
		t.Fatalf("listening on %q; want http://127.0.0.1:PORT", d.addr)
	}
	for _, e := range exchanges {
		req, err := http.NewRequestWithContext(t.Context(), e.method, d.addr+e.target(), bytes.NewReader(e.body))
		if err != nil {
			t.Fatal(err)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			t.Fatal(err)
		}
		want := inProcess(t, e.method, e.target(), e.body)
		if resp.StatusCode != want.status || !bytes.Equal(body, want.body) ||
			resp.Header.Get("Content-Length") != want.header.Get("Content-Length") ||
			resp.Header.Get("Server") != app.ServerName {
			t.Errorf("HTTP %s %s = %d %v %.100q; want %d %v %.100q", e.method, e.target(),
				resp.StatusCode, resp.Header, body, want.status, want.header, want.body)
		}
	}
	d.stop(t)
}

// TestProcessesShareTheDatabase runs a daemon, CGI children and a re-seed
// against one database file at once: the read-only connections must not
// lock each other, or the seeder, out.
func TestProcessesShareTheDatabase(t *testing.T) {
	db := filepath.Join(t.TempDir(), "shared.db")
	if code, _, se := runBin(t, nil, nil, "-seed", db); code != 0 {
		t.Fatalf("-seed: %s", se)
	}
	d := startDaemon(t, "-http", "127.0.0.1:0", "-db", db)
	get := func() string {
		resp, err := http.Get(d.addr + "/db?id=7")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return string(b)
	}
	want := fmt.Sprintf(`{"id":7,"randomNumber":%d}`, app.RandomNumber(7))
	if got := get(); got != want {
		t.Fatalf("daemon /db?id=7 = %q; want %q", got, want)
	}
	e := exchange{"GET", "/db", "id=7", nil}
	code, so, se := runBin(t, append(cgiEnv(e), "FORKBENCH_DB="+db), nil)
	if code != 0 || !strings.HasSuffix(so, want) {
		t.Errorf("CGI child beside the daemon = %d %q %q", code, so, se)
	}
	if code, _, se := runBin(t, nil, nil, "-seed", db); code != 0 {
		t.Errorf("re-seed beside the daemon = %d %q", code, se)
	}
	if got := get(); got != want {
		t.Errorf("daemon after re-seed /db?id=7 = %q; want %q", got, want)
	}
	d.stop(t)
	if es, _ := os.ReadDir(filepath.Dir(db)); !slices.EqualFunc(es, []string{"shared.db"}, func(e os.DirEntry, n string) bool { return e.Name() == n }) {
		t.Errorf("directory holds %v; want only shared.db", es)
	}
}
