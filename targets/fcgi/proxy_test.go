package fcgi

// Tests of the promises the front keeps as an HTTP proxy and as a pool
// user (issue 13): each injects the fault for real, with a fake daemon
// speaking exact records or raw sockets on the client side.

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"forkbench/internal/testbin"
)

// keepDaemon is a fake daemon that serves several requests per
// connection: serve gets each request with its connection's number (from
// 1) and its index on that connection (from 1), and returns false to
// close the connection.
func keepDaemon(t testing.TB, serve func(c net.Conn, req *fakeRequest, conn, n int) bool) string {
	t.Helper()
	return serveUnix(t, "keep", func(c net.Conn, conn int) {
		for n := 1; ; n++ {
			req, err := readFakeRequest(c)
			if err != nil || !serve(c, req, conn, n) {
				return
			}
		}
	})
}

// rawRequest sends req as is on a new TCP connection to the front and
// returns the response read with the request's method.
func rawRequest(t *testing.T, url, method, req string) (*http.Response, []byte) {
	t.Helper()
	c, err := net.Dial("tcp", strings.TrimPrefix(url, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := io.WriteString(c, req); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(c), &http.Request{Method: method})
	if err != nil {
		t.Fatalf("%s: reading response: %v", method, err)
	}
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s: reading body: %v", method, err)
	}
	return resp, b
}

func TestProxyHTTPSemantics(t *testing.T) {
	ok := func(head, body string) []byte {
		return reply(stdoutRec(head+"\r\n"+body), stdoutRec(""), endRec(statusRequestComplete))
	}
	const absent = "<absent>"
	tests := []struct {
		desc       string
		method     string
		reply      []byte
		wantCode   int
		wantBody   string
		wantHeader map[string]string
		wantKept   bool // the daemon's connection is reused afterwards
	}{
		{"hop-by-hop fields dropped", "GET",
			ok("Content-Type: text/plain\r\nConnection: close, X-Private\r\nX-Private: 1\r\nKeep-Alive: timeout=1\r\nUpgrade: h2c\r\nTrailer: X-T\r\nProxy-Authenticate: Basic\r\nX-Public: 2\r\n", "body"),
			200, "body", map[string]string{"X-Private": absent, "Keep-Alive": absent, "Upgrade": absent, "Trailer": absent, "Proxy-Authenticate": absent, "X-Public": "2"}, true},
		{"transfer-encoding from the daemon not relayed", "GET",
			ok("Content-Length: 4\r\nTransfer-Encoding: chunked\r\n", "body"),
			200, "body", map[string]string{"Content-Length": "4", "Transfer-Encoding": absent}, true},
		{"two content-lengths", "GET", ok("Content-Length: 4\r\nContent-Length: 5\r\n", "body"), 502, "Bad Gateway\n", nil, false},
		{"bad content-length", "GET", ok("Content-Length: +4\r\n", "body"), 502, "Bad Gateway\n", nil, false},
		{"HEAD body dropped", "HEAD", ok("Content-Length: 4\r\nContent-Type: text/plain\r\n", "body"),
			200, "", map[string]string{"Content-Length": "4"}, true},
		{"204 body dropped", "GET", ok("Status: 204 No Content\r\nContent-Length: 4\r\n", "body"),
			204, "", map[string]string{"Content-Length": absent}, true},
		{"304 body dropped", "GET", ok("Status: 304 Not Modified\r\nEtag: \"x\"\r\n", "body"),
			304, "", map[string]string{"Etag": `"x"`}, true},
		{"overloaded", "GET", endRec(statusOverloaded), 503, "Service Unavailable\n", map[string]string{"Retry-After": "1"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			var served atomic.Int32
			addr := keepDaemon(t, func(c net.Conn, req *fakeRequest, conn, n int) bool {
				if served.Add(1) > 1 {
					c.Write(ok("Content-Type: text/plain\r\n", "again"))
					return true
				}
				c.Write(tt.reply)
				return true
			})
			f := newTestFront(t, "unix", addr, nil)
			req := fmt.Sprintf("%s /x HTTP/1.1\r\nHost: t\r\n\r\n", tt.method)
			resp, b := rawRequest(t, f.srv.URL, tt.method, req)
			if resp.StatusCode != tt.wantCode || string(b) != tt.wantBody {
				t.Errorf("%s = %d %q; want %d %q", tt.method, resp.StatusCode, b, tt.wantCode, tt.wantBody)
			}
			if len(resp.TransferEncoding) > 0 && tt.wantHeader["Transfer-Encoding"] == absent {
				t.Errorf("Transfer-Encoding = %q; want none", resp.TransferEncoding)
			}
			for k, want := range tt.wantHeader {
				got, present := resp.Header[k]
				switch {
				case k == "Transfer-Encoding":
				case want == absent && present:
					t.Errorf("header %s = %q; want it dropped", k, got)
				case want != absent && (len(got) != 1 || got[0] != want):
					t.Errorf("header %s = %q; want %q", k, got, want)
				}
			}
			if code, b := f.get(t, "/again"); code != 200 || string(b) != "again" {
				t.Errorf("next GET = %d %q; want 200 again", code, b)
			}
			if s := f.client.Pool.Stats(); (s.Dials == 1) != tt.wantKept {
				t.Errorf("pool %+v: connection kept = %v; want %v", s, s.Dials == 1, tt.wantKept)
			}
		})
	}
}

func TestProxyRequestParams(t *testing.T) {
	f, got := newOKFront(t)
	f.srv.Config.Handler.(*Proxy).Params = []string{
		"SCRIPT_FILENAME=/srv/www/index.php", "DOCUMENT_ROOT=/srv/www", "SERVER_SOFTWARE=mine", "EMPTY=",
	}
	resp, b := rawRequest(t, f.srv.URL, "GET", "GET /p HTTP/1.1\r\nHost: t\r\n"+
		"Connection: keep-alive, X-Hop\r\nX-Hop: 1\r\nKeep-Alive: 5\r\nTe: trailers\r\nUpgrade: websocket\r\n"+
		"Proxy-Authorization: Basic eDp5\r\nProxy-Connection: keep-alive\r\nX-End: 2\r\n\r\n")
	if resp.StatusCode != 200 || string(b) != "ok" {
		t.Fatalf("GET = %d %q; want 200 ok", resp.StatusCode, b)
	}
	req := <-got
	for k, want := range map[string]string{
		"SCRIPT_FILENAME": "/srv/www/index.php", "DOCUMENT_ROOT": "/srv/www", "SERVER_SOFTWARE": "mine", "EMPTY": "",
		"HTTP_X_END": "2", "REQUEST_METHOD": "GET",
	} {
		if v, ok := req.params[k]; !ok || v != want {
			t.Errorf("param %s = %q (set %v); want %q", k, v, ok, want)
		}
	}
	for _, k := range []string{"HTTP_CONNECTION", "HTTP_X_HOP", "HTTP_KEEP_ALIVE", "HTTP_TE", "HTTP_UPGRADE", "HTTP_PROXY_AUTHORIZATION", "HTTP_PROXY_CONNECTION"} {
		if v, ok := req.params[k]; ok {
			t.Errorf("param %s = %q; want it withheld (hop-by-hop)", k, v)
		}
	}
}

func TestParseParam(t *testing.T) {
	tests := []struct {
		in          string
		name, value string
		ok          bool
	}{
		{"SCRIPT_FILENAME=/a/b.php", "SCRIPT_FILENAME", "/a/b.php", true},
		{"K=a=b", "K", "a=b", true},
		{"K=", "K", "", true},
		{"=v", "", "", false},
		{"novalue", "", "", false},
		{"K=a\x00b", "", "", false},
	}
	for _, tt := range tests {
		name, value, err := ParseParam(tt.in)
		if name != tt.name || value != tt.value || (err == nil) != tt.ok {
			t.Errorf("ParseParam(%q) = %q, %q, %v; want %q, %q, ok %v", tt.in, name, value, err, tt.name, tt.value, tt.ok)
		}
	}
}

// TestFullDuplex: an application that answers before reading the body
// must still get all of it. Without full duplex, net/http reads and
// discards up to 256 KiB of the unread body once the reply starts: all of
// a chunked body, or the rest of a short one that socket buffers could not
// take.
func TestFullDuplex(t *testing.T) {
	ln := serveStd(t, "unix")
	f := newTestFront(t, "unix", ln.Addr().String(), nil)
	for _, n := range []int{10 << 10, 200 << 10, 1 << 20} {
		for _, chunked := range []bool{false, true} {
			t.Run(fmt.Sprintf("%d chunked=%v", n, chunked), func(t *testing.T) {
				var body io.Reader = bytes.NewReader(randomBody(n))
				if chunked {
					body = onlyReader{body}
				}
				code, _, b := f.do(t, "POST", "/bigfirst", body, nil)
				want := string(bigBody) + fmt.Sprintf("\n%d", n)
				if code != 200 || string(b) != want {
					tail := b[max(0, len(b)-10):]
					t.Errorf("POST /bigfirst (%d bytes) = %d, %d bytes ending %q; want 200, %d bytes ending %q", n, code, len(b), tail, len(want), want[len(want)-10:])
				}
			})
		}
	}
}

// holdDaemon answers each request only when told to, after reporting it.
func holdDaemon(t *testing.T) (addr string, received chan *fakeRequest, release chan struct{}) {
	received = make(chan *fakeRequest, 16)
	release = make(chan struct{})
	addr = keepDaemon(t, func(c net.Conn, req *fakeRequest, conn, n int) bool {
		received <- req
		<-release
		c.Write(reply(stdoutRec("Content-Type: text/plain\r\n\r\nheld"), stdoutRec(""), endRec(0)))
		return true
	})
	return addr, received, release
}

func TestPoolExhausted(t *testing.T) {
	tests := []struct {
		desc         string
		queueTimeout time.Duration
		timeout      time.Duration
	}{
		{"no queue", -1, 30 * time.Second},
		{"queue timeout", 50 * time.Millisecond, 30 * time.Second},
		{"request timeout ends the wait", time.Hour, 100 * time.Millisecond},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			addr, received, release := holdDaemon(t)
			f := newTestFront(t, "unix", addr, func(c *Client) {
				c.Pool.MaxOpen = 1
				c.Pool.QueueTimeout = tt.queueTimeout
			})
			first := make(chan string, 1)
			go func() {
				resp, err := f.srv.Client().Get(f.srv.URL + "/first")
				if err != nil {
					first <- err.Error()
					return
				}
				b, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				first <- fmt.Sprint(resp.StatusCode, " ", string(b))
			}()
			<-received // the only connection is busy now
			f.client.Timeout = tt.timeout
			code, h, b := f.do(t, "GET", "/second", nil, nil)
			if code != 503 || string(b) != "Service Unavailable\n" || h.Get("Retry-After") != "1" {
				t.Errorf("GET with the pool busy = %d %q Retry-After %q; want 503 \"Service Unavailable\\n\" 1", code, b, h.Get("Retry-After"))
			}
			close(release)
			if got := <-first; got != "200 held" {
				t.Errorf("first GET = %s; want 200 held", got)
			}
			if s := f.client.Pool.Stats(); s.Exhausted != 1 {
				t.Errorf("pool %+v; want Exhausted 1", s)
			}
		})
	}
}

// TestSlowReader: a client that stops reading must not hold the daemon's
// connection past the request's time. The pool has one connection; once
// the slow reader's time is up, the next request gets it.
func TestSlowReader(t *testing.T) {
	// An endless reply: STDOUT records until the front hangs up.
	addr := keepDaemon(t, func(c net.Conn, req *fakeRequest, conn, n int) bool {
		if req.params["PATH_INFO"] == "/quick" {
			c.Write(reply(stdoutRec("Content-Type: text/plain\r\n\r\nquick"), stdoutRec(""), endRec(0)))
			return true
		}
		chunk := stdoutRec(strings.Repeat("x", 60<<10))
		if _, err := c.Write(stdoutRec("Content-Type: application/octet-stream\r\n\r\n")); err != nil {
			return false
		}
		for {
			if _, err := c.Write(chunk); err != nil {
				return false
			}
		}
	})
	lb := &testbin.SyncBuffer{}
	bodyFailed := make(chan struct{})
	var once sync.Once
	logger := log.New(writerFunc(func(p []byte) (int, error) {
		if bytes.Contains(p, []byte("did not take the reply")) {
			once.Do(func() { close(bodyFailed) })
		}
		return lb.Write(p)
	}), "", 0)
	c := &Client{Pool: &Pool{Network: "unix", Address: addr, MaxOpen: 1, QueueTimeout: time.Hour}, Timeout: 300 * time.Millisecond, ErrorLog: logger}
	srv := httptest.NewServer(&Proxy{Client: c, ErrorLog: logger})
	t.Cleanup(func() {
		srv.Close()
		c.Pool.Close()
	})

	// The slow reader: a tiny receive window, one request, no reads.
	d := net.Dialer{Control: func(_, _ string, rc syscall.RawConn) error {
		return rc.Control(func(fd uintptr) {
			syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 4096)
		})
	}}
	slow, err := d.Dial("tcp", strings.TrimPrefix(srv.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer slow.Close()
	if _, err := io.WriteString(slow, "GET /endless HTTP/1.1\r\nHost: t\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	<-bodyFailed
	// The slow reader's time is up: its connection to the daemon is
	// closed, and the next request gets the pool's only connection.
	c.Timeout = 30 * time.Second
	resp, err := srv.Client().Get(srv.URL + "/quick")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || string(b) != "quick" {
		t.Errorf("GET /quick after the slow reader = %d %q; want 200 quick", resp.StatusCode, b)
	}
	if s := c.Pool.Stats(); s.Discarded != 1 || s.Dials != 2 {
		t.Errorf("pool %+v; want the slow reader's connection discarded and one new dial", s)
	}
	// The slow reader, reading at last, finds its reply cut off.
	slow.SetReadDeadline(time.Now().Add(30 * time.Second))
	sr, err := http.ReadResponse(bufio.NewReader(slow), nil)
	if err == nil {
		_, err = io.Copy(io.Discard, sr.Body)
	}
	if err == nil {
		t.Errorf("the slow reader got a complete response; want it cut off")
	}
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }

// TestRetryPolicy: a kept connection that the daemon closed gets the
// request sent again only when that is safe.
func TestRetryPolicy(t *testing.T) {
	tests := []struct {
		method   string
		body     string
		wantCode int
		wantSeen int // times the daemon saw the request
	}{
		{"GET", "", 200, 2},
		{"DELETE", "", 200, 2},
		{"POST", "", 502, 1},
		{"PATCH", "", 502, 1},
		{"PUT", "data", 502, 1}, // idempotent, but its body is gone
	}
	for _, tt := range tests {
		t.Run(tt.method, func(t *testing.T) {
			// Connection 1 serves one request, then takes the next and
			// closes without a word; later connections serve normally.
			var mu sync.Mutex
			seen := 0
			addr := keepDaemon(t, func(c net.Conn, req *fakeRequest, conn, n int) bool {
				if req.params["PATH_INFO"] == "/x" {
					mu.Lock()
					seen++
					mu.Unlock()
				}
				if conn == 1 && n == 2 {
					return false
				}
				c.Write(reply(stdoutRec("Content-Type: text/plain\r\n\r\n"+string(req.stdin)+"ok"), endRec(0)))
				return true
			})
			f := newTestFront(t, "unix", addr, nil)
			if code, b := f.get(t, "/warm"); code != 200 || string(b) != "ok" {
				t.Fatalf("GET /warm = %d %q", code, b)
			}
			var body io.Reader
			if tt.body != "" {
				body = strings.NewReader(tt.body)
			}
			code, _, b := f.do(t, tt.method, "/x", body, nil)
			wantBody := tt.body + "ok"
			if tt.wantCode != 200 {
				wantBody = "Bad Gateway\n"
			}
			if code != tt.wantCode || string(b) != wantBody {
				t.Errorf("%s on a connection the daemon drops = %d %q; want %d %q", tt.method, code, b, tt.wantCode, wantBody)
			}
			mu.Lock()
			defer mu.Unlock()
			if seen != tt.wantSeen {
				t.Errorf("the daemon saw the %s request %d times; want %d", tt.method, seen, tt.wantSeen)
			}
		})
	}
}

// TestRetryNothingSent: on a kept connection that is dead before one byte
// of the request goes out, any request, body and all, is sent again. A
// net.Pipe cannot be peeked at, so the client only learns it from the
// write.
func TestRetryNothingSent(t *testing.T) {
	var mu sync.Mutex
	var got []string
	conns := 0
	dial := func(context.Context) (net.Conn, error) {
		client, daemon := net.Pipe()
		mu.Lock()
		conns++
		first := conns == 1
		mu.Unlock()
		go func() {
			defer daemon.Close()
			for {
				req, err := readFakeRequest(daemon)
				if err != nil {
					return
				}
				mu.Lock()
				got = append(got, req.params["REQUEST_METHOD"]+" "+string(req.stdin))
				mu.Unlock()
				daemon.Write(reply(stdoutRec("Content-Type: text/plain\r\n\r\nok"), endRec(0)))
				if first {
					return // closes after one request despite FCGI_KEEP_CONN
				}
			}
		}()
		return client, nil
	}
	c := &Client{Pool: &Pool{Dial: dial}, ErrorLog: log.New(io.Discard, "", 0)}
	defer c.Pool.Close()
	for i, tt := range []struct {
		method string
		body   io.Reader
	}{{"GET", nil}, {"POST", strings.NewReader("payload")}} {
		resp, err := c.Do(t.Context(), []string{"REQUEST_METHOD=" + tt.method}, tt.body)
		if err != nil {
			t.Fatalf("request %d (%s): %v", i, tt.method, err)
		}
		b, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil || string(b) != "ok" {
			t.Fatalf("request %d (%s) body = %q, %v; want ok", i, tt.method, b, err)
		}
	}
	if want := []string{"GET ", "POST payload"}; !slices.Equal(got, want) {
		t.Errorf("the daemon saw %q; want %q (each once)", got, want)
	}
	if s := c.Pool.Stats(); s.PeerGone != 1 || s.Dials != 2 {
		t.Errorf("pool %+v; want one kept connection found gone and 2 dials", s)
	}
}

// TestStopKeepingOneShotDaemon: a daemon that closes every connection
// after one request, FCGI_KEEP_CONN or not (uWSGI's FastCGI socket), makes
// the pool stop keeping connections and stop asking for it; no request
// fails on the way.
func TestStopKeepingOneShotDaemon(t *testing.T) {
	var mu sync.Mutex
	var flags []uint8
	addr := fakeDaemon(t, func(c net.Conn, req *fakeRequest) {
		mu.Lock()
		flags = append(flags, req.flags)
		mu.Unlock()
		c.Write(reply(stdoutRec("Content-Type: text/plain\r\n\r\nok"), endRec(0)))
	})
	f := newTestFront(t, "unix", addr, nil)
	const n = 10
	for i := range n {
		// Whether the daemon's close has arrived when the next request
		// comes (found by the peek) or not (found by the write or read,
		// and the GET sent again), no request fails.
		if code, b := f.get(t, fmt.Sprint("/", i)); code != 200 || string(b) != "ok" {
			t.Fatalf("GET #%d = %d %q; want 200 ok", i, code, b)
		}
	}
	s := f.client.Pool.Stats()
	if !s.KeepStopped {
		t.Fatalf("pool %+v; want KeepStopped", s)
	}
	mu.Lock()
	defer mu.Unlock()
	if flags[0] != flagKeepConn || flags[n-1] != 0 {
		t.Errorf("BEGIN_REQUEST flags %v; want FCGI_KEEP_CONN first and none at the end", flags)
	}
	if !strings.Contains(f.log.String(), "no longer keeping connections") {
		t.Errorf("log %q; want the decision logged", f.log.String())
	}
	mu.Unlock()

	// Connections not kept still hand their slot on: 8 clients share
	// one connection slot and none waits forever.
	f.client.Pool.MaxOpen, f.client.Pool.QueueTimeout = 1, time.Hour
	codes, oddity := hammer(t, f.srv.URL+"/c", 8, 10, "ok")
	if codes[200] != 80 {
		t.Errorf("8×10 GETs on one slot: statuses %v, first odd %s; want 80 × 200", codes, oddity)
	}
	mu.Lock()
}

func TestDaemonRemoveSocket(t *testing.T) {
	t.Run("live socket left alone", func(t *testing.T) {
		ln := serveStd(t, "unix")
		d := &Daemon{Path: "/nonexistent", Network: "unix", Address: ln.Addr().String(), ErrorLog: log.New(io.Discard, "", 0)}
		err := d.Start(t.Context())
		if !errors.Is(err, ErrSocketInUse) {
			t.Errorf("Start on a live socket = %v; want ErrSocketInUse", err)
		}
		f := newTestFront(t, "unix", ln.Addr().String(), nil)
		if code, b := f.get(t, "/hello"); code != 200 || string(b) != "hello, world\n" {
			t.Errorf("the live daemon after Start = %d %q; want it still serving", code, b)
		}
	})
	t.Run("stale socket removed", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "stale")
		ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: path, Net: "unix"})
		if err != nil {
			t.Fatal(err)
		}
		ln.SetUnlinkOnClose(false)
		ln.Close() // the file stays; nobody listens
		cfg := testDaemonConfig()
		d := &Daemon{Path: cfg.Path, Env: append(cfg.Env[:len(cfg.Env)-1], envDaemon+"=unix:"+path), Network: "unix", Address: path,
			Output: io.Discard, ErrorLog: log.New(io.Discard, "", 0)}
		if err := d.Start(t.Context()); err != nil {
			t.Fatalf("Start over a stale socket: %v", err)
		}
		defer d.Stop(context.Background())
		f := newTestFront(t, "unix", path, nil)
		if code, b := f.get(t, "/hello"); code != 200 || string(b) != "hello, world\n" {
			t.Errorf("GET /hello = %d %q; want 200", code, b)
		}
	})
}
