package gateway

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/cgi"
	"net/http/httptest"
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"
)

// childEnvVar marks the test binary re-run as a CGI script by the stdlib
// cgi.Handler, so Env can be compared with what the standard library sets.
const childEnvVar = "FORKBENCH_GATEWAY_TEST_CHILD"

func TestMain(m *testing.M) {
	if os.Getenv(childEnvVar) == "1" {
		// Child: dump the environment, one "K=V" per line.
		var b strings.Builder
		b.WriteString("Content-Type: text/plain\r\n\r\n")
		for _, kv := range os.Environ() {
			b.WriteString(kv)
			b.WriteByte('\n')
		}
		_, _ = os.Stdout.WriteString(b.String())
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// envMap turns "K=V" pairs into a map, failing on duplicates.
func envMap(t *testing.T, env []string) map[string]string {
	t.Helper()
	m := make(map[string]string, len(env))
	for _, kv := range env {
		k, v, ok := strings.Cut(kv, "=")
		if !ok {
			t.Fatalf("pair without '=': %q", kv)
		}
		if _, dup := m[k]; dup {
			t.Errorf("duplicate variable %s", k)
		}
		m[k] = v
	}
	return m
}

// request returns a maker of fresh requests (a test may need two, one
// for the stdlib and one for Env) of method and target with body, changed
// by edit (nil: none).
func request(method, target, body string, edit func(r *http.Request)) func() *http.Request {
	return func() *http.Request {
		var rd io.Reader
		if body != "" {
			rd = strings.NewReader(body)
		}
		r := httptest.NewRequest(method, target, rd)
		if edit != nil {
			edit(r)
		}
		return r
	}
}

func TestEnvMatchesStdlib(t *testing.T) {
	tests := []struct {
		name       string
		scriptName string
		req        func() *http.Request
	}{
		{"get with query", "", request("GET", "http://example.com:8080/a/b?x=1&y=%20z", "", func(r *http.Request) {
			r.Header.Set("User-Agent", "forkbench-test")
			r.Header.Add("Accept", "text/html")
			r.Header.Add("Accept", "text/plain")
		})},
		{"mounted script", "/app.cgi/", request("GET", "http://example.com/app.cgi/extra/path", "", nil)},
		{"post with body", "/app.cgi", request("POST", "http://127.0.0.1:9/app.cgi", "a=1&b=2", func(r *http.Request) {
			r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			r.RemoteAddr = "[::1]:4567"
		})},
		{"cookies and proxy", "", request("GET", "http://example.com/", "", func(r *http.Request) {
			r.Header.Add("Cookie", "a=1")
			r.Header.Add("Cookie", "b=2")
			r.Header.Set("Proxy", "http://evil.example:1")
		})},
		{"tls default port", "", request("GET", "https://example.com/secure", "", func(r *http.Request) {
			r.TLS = &tls.ConnectionState{}
		})},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			marker := childEnvVar + "=1"
			h := &cgi.Handler{Path: os.Args[0], Root: tt.scriptName, Env: []string{marker}}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, tt.req())
			if rec.Code != http.StatusOK {
				t.Fatalf("stdlib cgi.Handler status = %d; want 200 (body %q)", rec.Code, rec.Body)
			}
			want := envMap(t, strings.Split(strings.TrimSuffix(rec.Body.String(), "\n"), "\n"))
			// The host, not the gateway, decides what the child inherits.
			delete(want, "PATH")
			delete(want, "LD_LIBRARY_PATH")

			got := envMap(t, Env(tt.req(), Config{
				ScriptName:     tt.scriptName,
				ScriptFilename: os.Args[0],
				ServerSoftware: "go",
				Extra:          []string{marker},
			}))
			for k, w := range want {
				if g, ok := got[k]; !ok || g != w {
					t.Errorf("Env()[%s] = %q (present %v); want %q", k, g, ok, w)
				}
			}
			for k, g := range got {
				if _, ok := want[k]; !ok {
					t.Errorf("Env() has %s=%q; stdlib does not set it", k, g)
				}
			}
		})
	}
}

// localAddrCtx is what net/http's server puts in every request's context.
func localAddrCtx(addr string) context.Context {
	a, err := net.ResolveTCPAddr("tcp", addr)
	if err != nil {
		panic(err)
	}
	return context.WithValue(context.Background(), http.LocalAddrContextKey, a)
}

func TestEnv(t *testing.T) {
	withCredentials := func(r *http.Request) {
		r.Header.Set("Authorization", "Basic dXNlcjpwYXNz")
		r.Header.Set("Proxy-Authorization", "Basic cHJveHk6cGFzcw==")
	}
	tests := []struct {
		name   string
		req    func() *http.Request
		cfg    Config
		want   map[string]string // exact values
		absent []string
	}{
		{
			name: "httpoxy",
			req: request("GET", "http://example.com/", "", func(r *http.Request) {
				r.Header.Set("Proxy", "http://evil.example:1")
				r.Header["proxy"] = []string{"http://evil.example:2"} // a non-canonical key
			}),
			absent: []string{"HTTP_PROXY"},
		},
		{
			name:   "credentials withheld by default (RFC 3875 §4.1.18)",
			req:    request("GET", "http://example.com/", "", withCredentials),
			absent: []string{"HTTP_AUTHORIZATION", "HTTP_PROXY_AUTHORIZATION"},
		},
		{
			name: "credentials passed when opted in",
			req:  request("GET", "http://example.com/", "", withCredentials),
			cfg:  Config{PassAuth: true},
			want: map[string]string{"HTTP_AUTHORIZATION": "Basic dXNlcjpwYXNz", "HTTP_PROXY_AUTHORIZATION": "Basic cHJveHk6cGFzcw=="},
		},
		{
			name: "underscore header names are withheld",
			req: request("GET", "http://example.com/", "", func(r *http.Request) {
				r.Header.Set("X-Real-Ip", "10.0.0.1")
				r.Header["X_real_ip"] = []string{"6.6.6.6"}
				r.Header["X=y"] = []string{"z"}
			}),
			want:   map[string]string{"HTTP_X_REAL_IP": "10.0.0.1"},
			absent: []string{"HTTP_X=Y", "HTTP_X_Y"},
		},
		{
			name: "defaults",
			req:  request("GET", "http://example.com/p/q", "", nil),
			want: map[string]string{
				"GATEWAY_INTERFACE": "CGI/1.1",
				"SERVER_SOFTWARE":   "forkbench",
				"SERVER_NAME":       "example.com",
				"SERVER_PORT":       "80",
				"SERVER_PROTOCOL":   "HTTP/1.1",
				"SCRIPT_NAME":       "",
				"PATH_INFO":         "/p/q",
				"REQUEST_URI":       "/p/q",
				"QUERY_STRING":      "",
				"REMOTE_ADDR":       "192.0.2.1",
				"REMOTE_PORT":       "1234",
				"HTTP_HOST":         "example.com",
			},
			absent: []string{"SCRIPT_FILENAME", "CONTENT_LENGTH", "CONTENT_TYPE", "HTTPS"},
		},
		{
			name: "port from the local address when Host has none",
			req: func() *http.Request {
				r := httptest.NewRequestWithContext(localAddrCtx("127.0.0.1:4321"), "GET", "/", nil)
				r.Host = ""
				return r
			},
			want:   map[string]string{"SERVER_NAME": "127.0.0.1", "SERVER_PORT": "4321"},
			absent: []string{"HTTP_HOST"},
		},
		{
			name: "unix socket peer",
			req: request("GET", "http://example.com/", "", func(r *http.Request) {
				r.RemoteAddr = "@"
			}),
			want:   map[string]string{"REMOTE_ADDR": "@", "REMOTE_HOST": "@"},
			absent: []string{"REMOTE_PORT"},
		},
		{
			name: "body of unknown length",
			req: request("POST", "http://example.com/", "x", func(r *http.Request) {
				r.ContentLength = -1
			}),
			absent: []string{"CONTENT_LENGTH"},
		},
		{
			name: "http2 and extra last",
			req: request("GET", "http://example.com/", "", func(r *http.Request) {
				r.Proto = "HTTP/2.0"
			}),
			cfg:  Config{ServerSoftware: "x", ScriptFilename: "/srv/app.php", Extra: []string{"FORKBENCH_DB=/tmp/db"}},
			want: map[string]string{"SERVER_PROTOCOL": "HTTP/2.0", "SERVER_SOFTWARE": "x", "SCRIPT_FILENAME": "/srv/app.php", "FORKBENCH_DB": "/tmp/db"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := Env(tt.req(), tt.cfg)
			got := envMap(t, env)
			for k, w := range tt.want {
				if g, ok := got[k]; !ok || g != w {
					t.Errorf("Env()[%s] = %q (present %v); want %q", k, g, ok, w)
				}
			}
			for _, k := range tt.absent {
				if g, ok := got[k]; ok {
					t.Errorf("Env()[%s] = %q; want it absent", k, g)
				}
			}
			if n := len(tt.cfg.Extra); n > 0 && !slices.Equal(env[len(env)-n:], tt.cfg.Extra) {
				t.Errorf("Env() ends %q; want Extra %q last", env[len(env)-n:], tt.cfg.Extra)
			}
		})
	}
}

func TestEnvFor(t *testing.T) {
	big := strings.Repeat("a", DefaultMaxEnvBytes)
	tests := []struct {
		name       string
		target     string
		header     http.Header
		cfg        Config
		wantErr    error
		wantStatus int
		wantPath   string // PATH_INFO when there is no error
	}{
		{name: "mounted exactly", target: "/app", cfg: Config{ScriptName: "/app"}, wantPath: ""},
		{name: "below the mount", target: "/app/x/y", cfg: Config{ScriptName: "/app/"}, wantPath: "/x/y"},
		{name: "root mount", target: "/anything", wantPath: "/anything"},
		{name: "prefix but not a segment", target: "/application/x", cfg: Config{ScriptName: "/app"},
			wantErr: ErrNotMounted, wantStatus: 404},
		{name: "outside the mount", target: "/other", cfg: Config{ScriptName: "/app"},
			wantErr: ErrNotMounted, wantStatus: 404},
		{name: "NUL in the path", target: "/a%00b", wantErr: ErrNULByte, wantStatus: 400},
		{name: "NUL in Extra", target: "/", cfg: Config{Extra: []string{"X=a\x00b"}}, wantErr: ErrNULByte, wantStatus: 400},
		{name: "header over the limit", target: "/", header: http.Header{"X-Big": {big}},
			wantErr: ErrEnvTooLarge, wantStatus: 431},
		{name: "configured limit", target: "/", header: http.Header{"X-Big": {strings.Repeat("a", 100)}},
			cfg: Config{MaxEnvBytes: 200}, wantErr: ErrEnvTooLarge, wantStatus: 431},
		{name: "header under the limit", target: "/", header: http.Header{"X-Big": {big[:DefaultMaxEnvBytes/2]}}, wantPath: "/"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest("GET", "http://example.com"+tt.target, nil)
			for k, v := range tt.header {
				r.Header[k] = v
			}
			env, err := EnvFor(r, tt.cfg)
			if !errors.Is(err, tt.wantErr) || (err == nil) != (tt.wantErr == nil) {
				t.Fatalf("EnvFor(%s) = %v; want %v", tt.target, err, tt.wantErr)
			}
			if err != nil {
				if env != nil {
					t.Errorf("EnvFor(%s) returned an environment with its error", tt.target)
				}
				if got := Status(err); got != tt.wantStatus {
					t.Errorf("Status(%v) = %d; want %d", err, got, tt.wantStatus)
				}
				return
			}
			if got := envMap(t, env)["PATH_INFO"]; got != tt.wantPath {
				t.Errorf("PATH_INFO = %q; want %q", got, tt.wantPath)
			}
		})
	}
}

// TestEnvForExecs checks that what EnvFor accepts at its limit can really
// be passed to a child, and that the limit sits below what exec refuses.
func TestEnvForExecs(t *testing.T) {
	r := httptest.NewRequest("GET", "http://example.com/", nil)
	base := len(strings.Join(Env(r, Config{}), "\x00")) + 1
	pad := DefaultMaxEnvBytes - base - len("HTTP_X_PAD=") - 1
	r.Header.Set("X-Pad", strings.Repeat("p", pad))
	env, err := EnvFor(r, Config{})
	if err != nil {
		t.Fatalf("EnvFor at the limit: %v", err)
	}
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = env
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("exec with %d bytes of environment: %v\n%s", DefaultMaxEnvBytes, err, out)
	}
	r.Header.Set("X-Pad", strings.Repeat("p", pad+1))
	if _, err := EnvFor(r, Config{}); !errors.Is(err, ErrEnvTooLarge) {
		t.Errorf("EnvFor one byte over the limit = %v; want ErrEnvTooLarge", err)
	}
}

func BenchmarkEnv(b *testing.B) {
	r := httptest.NewRequest("GET", "http://127.0.0.1:8080/hello?name=x", nil)
	r.Header.Set("User-Agent", "vegeta")
	r.Header.Set("Accept", "*/*")
	r.Header.Set("Accept-Encoding", "gzip")
	b.ReportAllocs()
	for b.Loop() {
		_ = Env(r, Config{})
	}
}

func ExampleEnv() {
	r := httptest.NewRequest("GET", "http://example.com/app.cgi/hello?name=gopher", nil)
	env := Env(r, Config{ScriptName: "/app.cgi"})
	for _, kv := range env {
		if strings.HasPrefix(kv, "SCRIPT_NAME=") || strings.HasPrefix(kv, "PATH_INFO=") || strings.HasPrefix(kv, "QUERY_STRING=") {
			fmt.Println(kv)
		}
	}
	// Output:
	// QUERY_STRING=name=gopher
	// SCRIPT_NAME=/app.cgi
	// PATH_INFO=/hello
}
