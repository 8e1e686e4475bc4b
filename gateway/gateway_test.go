package gateway_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"forkbench/gateway"
	"forkbench/internal/testbin"
	"forkbench/targets/fcgi"
)

// The test binary doubles as the deployed program: with GATEWAY_TEST_CHILD
// set it serves handler through gateway and exits, so each mode is tested
// as a real process started the way a web server or process manager
// starts it.
func TestMain(m *testing.M) {
	if os.Getenv("GATEWAY_TEST_CHILD") == "" {
		os.Exit(m.Run())
	}
	var err error
	if os.Getenv("GATEWAY_TEST_ONELINE") != "" {
		err = gateway.Serve(handler)
	} else {
		ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
		err = gateway.Config{FastCGI: os.Getenv("GATEWAY_TEST_FCGI"), HTTP: os.Getenv("GATEWAY_TEST_HTTP")}.Serve(ctx, handler)
		stop()
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	os.Exit(0)
}

// handler answers "METHOD PATH?QUERY" so each mode's mapping of the request
// shows in the body.
var handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/plain")
	fmt.Fprintf(w, "%s %s", r.Method, r.URL.RequestURI())
})

// waitLimit bounds every wait on a child so a broken one fails the test
// instead of hanging it; nothing waits for it to pass.
const waitLimit = 60 * time.Second

func child(t *testing.T, env ...string) *exec.Cmd {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(exe, "-test.run=^$")
	cmd.Env = append([]string{"GATEWAY_TEST_CHILD=1"}, env...)
	return cmd
}

func TestMode(t *testing.T) {
	env := func(m map[string]string) func(string) string { return func(k string) string { return m[k] } }
	cgiEnv := env(map[string]string{"GATEWAY_INTERFACE": "CGI/1.1"})
	tests := []struct {
		name string
		cfg  gateway.Config
		want gateway.Mode
	}{
		{"nothing", gateway.Config{Getenv: env(nil)}, gateway.HTTP},
		{"cgi", gateway.Config{Getenv: cgiEnv}, gateway.CGI},
		{"fastcgi address beats cgi", gateway.Config{FastCGI: "unix:/x", Getenv: cgiEnv}, gateway.FastCGI},
		{"http address beats cgi", gateway.Config{HTTP: "127.0.0.1:0", Getenv: cgiEnv}, gateway.HTTP},
	}
	for _, tt := range tests {
		if got := tt.cfg.Mode(); got != tt.want {
			t.Errorf("%s: Mode() = %v; want %v", tt.name, got, tt.want)
		}
	}
}

func TestConflict(t *testing.T) {
	err := gateway.Config{FastCGI: "unix:/x", HTTP: "127.0.0.1:0"}.Serve(t.Context(), handler)
	if !errors.Is(err, gateway.ErrConflict) {
		t.Errorf("Serve with both addresses = %v; want ErrConflict", err)
	}
}

func TestCGI(t *testing.T) {
	cmd := child(t, "GATEWAY_TEST_ONELINE=1", "GATEWAY_INTERFACE=CGI/1.1", "REQUEST_METHOD=GET",
		"SERVER_PROTOCOL=HTTP/1.1", "REQUEST_URI=/hello?x=1", "SCRIPT_NAME=", "PATH_INFO=/hello",
		"QUERY_STRING=x=1", "HTTP_HOST=example.test", "SERVER_NAME=example.test", "SERVER_PORT=80")
	cmd.Stdin = strings.NewReader("")
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("CGI child: %v", err)
	}
	want := "Status: 200 OK\r\nContent-Type: text/plain\r\n\r\nGET /hello?x=1"
	if string(out) != want {
		t.Errorf("CGI output %q; want %q", out, want)
	}
}

// startDaemon starts cmd and, when announce, returns the address it
// printed; the process is stopped by SIGTERM in stopDaemon.
func startDaemon(t *testing.T, cmd *exec.Cmd, announce bool) string {
	t.Helper()
	out := testbin.StartDaemon(t, cmd)
	if !announce {
		go io.Copy(io.Discard, out)
		return ""
	}
	line, err := out.ReadString('\n')
	addr, ok := strings.CutPrefix(strings.TrimSpace(line), "listening on ")
	if err != nil || !ok {
		t.Fatalf("first line %q, %v; want \"listening on ADDR\"", line, err)
	}
	return addr
}

// stopDaemon sends SIGTERM and wants a clean exit.
func stopDaemon(t *testing.T, cmd *exec.Cmd) {
	t.Helper()
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("daemon exit after SIGTERM: %v; want status 0", err)
		}
	case <-time.After(waitLimit):
		t.Fatal("daemon did not exit after SIGTERM")
	}
}

// fcgiGet sends GET target over FastCGI to network/address and returns the
// body.
func fcgiGet(t *testing.T, network, address, target string) string {
	t.Helper()
	path, query, _ := strings.Cut(target, "?")
	c := &fcgi.Client{Pool: &fcgi.Pool{Network: network, Address: address}, DisableKeepConn: true}
	defer c.Pool.Close()
	ctx, cancel := context.WithTimeout(t.Context(), waitLimit)
	defer cancel()
	resp, err := c.Do(ctx, []string{"GATEWAY_INTERFACE=CGI/1.1", "REQUEST_METHOD=GET", "SERVER_PROTOCOL=HTTP/1.1",
		"REQUEST_URI=" + target, "SCRIPT_NAME=", "PATH_INFO=" + path, "QUERY_STRING=" + query,
		"HTTP_HOST=example.test", "SERVER_NAME=example.test", "SERVER_PORT=80"}, nil)
	if err != nil {
		t.Fatalf("FastCGI GET %s: %v", target, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil || resp.Status != 200 {
		t.Fatalf("FastCGI GET %s: status %d, %v", target, resp.Status, err)
	}
	return string(b)
}

func TestFastCGIAddress(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "app.sock")
	cmd := child(t, "GATEWAY_TEST_FCGI=unix:"+sock)
	if addr := startDaemon(t, cmd, true); addr != "unix:"+sock {
		t.Fatalf("listening on %q; want %q", addr, "unix:"+sock)
	}
	if got := fcgiGet(t, "unix", sock, "/a?b=c"); got != "GET /a?b=c" {
		t.Errorf("body %q; want %q", got, "GET /a?b=c")
	}
	stopDaemon(t, cmd)
	if _, err := os.Lstat(sock); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("socket still there after SIGTERM: %v", err)
	}
}

// TestFastCGIListenerFD0 starts the program as mod_fcgid and spawn-fcgi
// do: a listening socket as fd 0, no address, and (as some managers set
// it) GATEWAY_INTERFACE in the environment.
func TestFastCGIListenerFD0(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "fd0.sock")
	ln, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	f, err := ln.(*net.UnixListener).File()
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	cmd := child(t, "GATEWAY_TEST_ONELINE=1", "GATEWAY_INTERFACE=CGI/1.1")
	cmd.Stdin = f
	startDaemon(t, cmd, false)
	for _, target := range []string{"/one", "/two?x=y"} {
		if got := fcgiGet(t, "unix", sock, target); got != "GET "+target {
			t.Errorf("body %q; want %q", got, "GET "+target)
		}
	}
	stopDaemon(t, cmd)
}

func TestHTTP(t *testing.T) {
	cmd := child(t, "GATEWAY_TEST_HTTP=127.0.0.1:0")
	url := startDaemon(t, cmd, true)
	if !strings.HasPrefix(url, "http://127.0.0.1:") {
		t.Fatalf("listening on %q; want http://127.0.0.1:PORT", url)
	}
	resp, err := http.Get(url + "/h?i=j")
	if err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil || string(b) != "GET /h?i=j" {
		t.Errorf("body %q, %v; want %q", b, err, "GET /h?i=j")
	}
	stopDaemon(t, cmd)
}
