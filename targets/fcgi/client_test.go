package fcgi

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"forkbench/internal/testbin"
)

// testFront is a Proxy in front of a daemon, served by httptest.
type testFront struct {
	srv    *httptest.Server
	client *Client
	log    *testbin.SyncBuffer
}

// newTestFront puts a Proxy in front of the daemon at network, address.
// configure, if non-nil, adjusts the client before use.
func newTestFront(t testing.TB, network, address string, configure func(*Client)) *testFront {
	t.Helper()
	lb := &testbin.SyncBuffer{}
	logger := log.New(lb, "", 0)
	c := &Client{
		Pool:     &Pool{Network: network, Address: address, ErrorLog: logger},
		Timeout:  30 * time.Second, // a backstop: no test should get near it
		ErrorLog: logger,
	}
	if configure != nil {
		configure(c)
	}
	srv := httptest.NewServer(&Proxy{Client: c, ErrorLog: logger})
	t.Cleanup(func() {
		srv.Close()
		c.Pool.Close()
	})
	return &testFront{srv: srv, client: c, log: lb}
}

// get fetches path and returns the status, header and whole body.
func (f *testFront) do(t testing.TB, method, path string, body io.Reader, header http.Header) (int, http.Header, []byte) {
	t.Helper()
	got, err := testbin.Fetch(t, context.Background(), f.srv.Client(), method, f.srv.URL+path, body, header)
	switch {
	case got.Status == 0:
		t.Fatalf("%s %s: %v", method, path, err)
	case err != nil:
		t.Fatalf("%s %s: reading body: %v", method, path, err)
	}
	return got.Status, got.Header, []byte(got.Body)
}

func (f *testFront) get(t testing.TB, path string) (int, []byte) {
	t.Helper()
	code, _, b := f.do(t, "GET", path, nil, nil)
	return code, b
}

// randomBody is n seeded pseudo-random bytes.
func randomBody(n int) []byte {
	r := rand.New(rand.NewPCG(1, uint64(n)))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

// onlyReader hides a reader's type so that net/http cannot learn the
// body's length and sends it chunked.
type onlyReader struct{ io.Reader }

func TestProxyStdlibDaemon(t *testing.T) {
	for _, network := range []string{"unix", "tcp"} {
		t.Run(network, func(t *testing.T) {
			ln := serveStd(t, network)
			f := newTestFront(t, network, ln.Addr().String(), nil)

			t.Run("get", func(t *testing.T) {
				code, h, b := f.do(t, "GET", "/hello", nil, nil)
				if code != 200 || string(b) != "hello, world\n" || h.Get("Content-Type") != "text/plain; charset=utf-8" {
					t.Errorf("GET /hello = %d %q %q; want 200 \"hello, world\\n\" text/plain", code, h.Get("Content-Type"), b)
				}
			})
			t.Run("status and header", func(t *testing.T) {
				code, h, b := f.do(t, "GET", "/status", nil, nil)
				if code != 404 || h.Get("X-Custom") != "yes" || string(b) != "not here\n" {
					t.Errorf("GET /status = %d X-Custom=%q %q; want 404 yes \"not here\\n\"", code, h.Get("X-Custom"), b)
				}
			})
			t.Run("request headers and query", func(t *testing.T) {
				code, h, b := f.do(t, "GET", "/echo?a=1&b=%202", nil, http.Header{"X-Test": {"v1"}})
				if code != 200 || h.Get("X-Method") != "GET" || h.Get("X-Query") != "a=1&b=%202" || h.Get("X-Echo-Test") != "v1" || len(b) != 0 {
					t.Errorf("GET /echo = %d method %q query %q x-test %q body %q; want 200 GET a=1&b=%%202 v1 \"\"",
						code, h.Get("X-Method"), h.Get("X-Query"), h.Get("X-Echo-Test"), b)
				}
			})
			t.Run("large post", func(t *testing.T) {
				body := randomBody(300 << 10)
				code, h, b := f.do(t, "POST", "/echo", bytes.NewReader(body), nil)
				if code != 200 || !bytes.Equal(b, body) || h.Get("X-Content-Length") != fmt.Sprint(len(body)) {
					t.Errorf("POST /echo (%d bytes) = %d, %d bytes back, equal %v, length %q", len(body), code, len(b), bytes.Equal(b, body), h.Get("X-Content-Length"))
				}
			})
			t.Run("chunked post", func(t *testing.T) {
				body := randomBody(100 << 10)
				code, _, b := f.do(t, "PUT", "/echo", onlyReader{bytes.NewReader(body)}, nil)
				if code != 200 || !bytes.Equal(b, body) {
					t.Errorf("PUT /echo chunked = %d, %d bytes back, equal %v", code, len(b), bytes.Equal(b, body))
				}
			})
			t.Run("big response", func(t *testing.T) {
				code, b := f.get(t, "/big")
				if code != 200 || !bytes.Equal(b, bigBody) {
					t.Errorf("GET /big = %d, %d bytes, equal %v; want 200, %d bytes", code, len(b), bytes.Equal(b, bigBody), len(bigBody))
				}
			})
			t.Run("answer before reading body", func(t *testing.T) {
				body := randomBody(1 << 20)
				code, _, b := f.do(t, "POST", "/bigfirst", bytes.NewReader(body), nil)
				want := string(bigBody) + "\n1048576"
				if code != 200 || string(b) != want {
					t.Errorf("POST /bigfirst = %d, %d bytes; want 200, %d bytes", code, len(b), len(want))
				}
			})
			t.Run("handler panic", func(t *testing.T) {
				code, b := f.get(t, "/panic")
				if code != 500 || string(b) != "internal server error\n" {
					t.Errorf("GET /panic = %d %q; want 500 \"internal server error\\n\"", code, b)
				}
			})
		})
	}
}

func TestKeepConn(t *testing.T) {
	tests := []struct {
		desc      string
		keep      bool
		workers   int
		requests  int
		maxOpen   int
		wantConns func(n int64) bool
		want      string
	}{
		{"sequential reuse one conn", true, 1, 50, 0, func(n int64) bool { return n == 1 }, "1"},
		{"concurrent bounded by MaxOpen", true, 16, 400, 4, func(n int64) bool { return n >= 1 && n <= 4 }, "1..4"},
		{"no keep conn dials per request", false, 4, 40, 0, func(n int64) bool { return n == 40 }, "40"},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			ln := serveStd(t, "unix")
			f := newTestFront(t, "unix", ln.Addr().String(), func(c *Client) {
				c.DisableKeepConn = !tt.keep
				c.Pool.MaxOpen = tt.maxOpen
			})
			var wg sync.WaitGroup
			errs := make(chan error, tt.requests)
			next := make(chan int, tt.requests)
			for i := range tt.requests {
				next <- i
			}
			close(next)
			for range tt.workers {
				wg.Go(func() {
					for i := range next {
						path := "/hello"
						want := "hello, world\n"
						if i%5 == 0 {
							path = fmt.Sprintf("/echo?i=%d", i)
							want = ""
						}
						resp, err := f.srv.Client().Get(f.srv.URL + path)
						if err != nil {
							errs <- err
							continue
						}
						b, err := io.ReadAll(resp.Body)
						resp.Body.Close()
						if err != nil || resp.StatusCode != 200 || string(b) != want {
							errs <- fmt.Errorf("GET %s = %d %q, %v; want 200 %q", path, resp.StatusCode, b, err, want)
						}
					}
				})
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				t.Error(err)
			}
			if n := ln.accepted.Load(); !tt.wantConns(n) {
				t.Errorf("%d requests used %d connections; want %s", tt.requests, n, tt.want)
			}
			s := f.client.Pool.Stats()
			if int64(s.Dials) != ln.accepted.Load() {
				t.Errorf("Stats().Dials = %d; want %d (accepted)", s.Dials, ln.accepted.Load())
			}
			if s.Reuses+s.Dials != tt.requests {
				t.Errorf("Stats() Reuses %d + Dials %d; want %d requests", s.Reuses, s.Dials, tt.requests)
			}
		})
	}
}

// TestRetryDeadConn cuts the daemon side of a kept connection, as a daemon
// restart does: the next request must be sent again on a new connection,
// not answered 502.
func TestRetryDeadConn(t *testing.T) {
	ln := serveStd(t, "unix")
	f := newTestFront(t, "unix", ln.Addr().String(), nil)
	if code, b := f.get(t, "/hello"); code != 200 {
		t.Fatalf("GET /hello = %d %q", code, b)
	}
	ln.closeConns()
	if code, b := f.get(t, "/hello"); code != 200 || string(b) != "hello, world\n" {
		t.Errorf("GET /hello on a dead kept conn = %d %q; want 200", code, b)
	}
	if n := ln.accepted.Load(); n != 2 {
		t.Errorf("accepted %d connections; want 2", n)
	}
}

func TestDaemonUnreachable(t *testing.T) {
	f := newTestFront(t, "unix", filepath.Join(t.TempDir(), "nobody"), nil)
	code, b := f.get(t, "/hello")
	if code != 502 || string(b) != "Bad Gateway\n" {
		t.Errorf("GET with no daemon = %d %q; want 502 \"Bad Gateway\\n\"", code, b)
	}
}

// serveUnix listens on a fresh unix socket called name in the test's
// temporary directory and serves each connection with handle, in its own
// goroutine, with the connection's number (from 1); the connection is
// closed when handle returns. The test's cleanup closes the listener and
// waits for every handler, so none outlives the test.
func serveUnix(t testing.TB, name string, handle func(c net.Conn, conn int)) string {
	t.Helper()
	addr := filepath.Join(t.TempDir(), name)
	ln, err := net.Listen("unix", addr)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	t.Cleanup(func() {
		ln.Close()
		wg.Wait()
	})
	wg.Go(func() {
		for conn := 1; ; conn++ {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Go(func() {
				defer c.Close()
				handle(c, conn)
			})
		}
	})
	return addr
}

// fakeDaemon serves each connection on a unix socket with serve, which
// gets the request already read (params and stdin).
func fakeDaemon(t testing.TB, serve func(c net.Conn, req *fakeRequest)) string {
	t.Helper()
	return serveUnix(t, "fake", func(c net.Conn, _ int) {
		req, err := readFakeRequest(c)
		if err != nil {
			t.Errorf("fake daemon: %v", err)
			return
		}
		serve(c, req)
	})
}

// newOKFront puts a front before a fake daemon that answers each request
// "ok" and hands it, as the daemon read it, to the test on got.
func newOKFront(t testing.TB) (f *testFront, got <-chan *fakeRequest) {
	t.Helper()
	reqs := make(chan *fakeRequest, 1)
	addr := fakeDaemon(t, func(c net.Conn, req *fakeRequest) {
		reqs <- req
		c.Write(reply(stdoutRec("Content-Type: text/plain\r\n\r\nok"), endRec(0)))
	})
	return newTestFront(t, "unix", addr, nil), reqs
}

type fakeRequest struct {
	id     uint16
	flags  uint8
	params map[string]string
	stdin  []byte
}

// readFakeRequest reads one request up to its empty STDIN record.
func readFakeRequest(r io.Reader) (*fakeRequest, error) {
	buf := make([]byte, maxRecord)
	req := &fakeRequest{params: map[string]string{}}
	var params []byte
	for {
		h, content, err := readRecord(r, buf)
		if err != nil {
			return nil, err
		}
		switch h.Type {
		case typeBeginRequest:
			req.id = h.ID
			_, req.flags, err = parseBeginRequest(content)
			if err != nil {
				return nil, err
			}
		case typeParams:
			if len(content) == 0 {
				if err := parsePairs(params, func(n, v []byte) { req.params[string(n)] = string(v) }); err != nil {
					return nil, err
				}
			}
			params = append(params, content...)
		case typeStdin:
			if len(content) == 0 {
				return req, nil
			}
			req.stdin = append(req.stdin, content...)
		default:
			return nil, fmt.Errorf("unexpected record type %d", h.Type)
		}
	}
}

// reply concatenates records.
func reply(parts ...[]byte) []byte { return bytes.Join(parts, nil) }

func stdoutRec(s string) []byte { return appendRecords(nil, typeStdout, 1, []byte(s)) }
func stderrRec(s string) []byte { return appendRecords(nil, typeStderr, 1, []byte(s)) }
func endRec(proto uint8) []byte { return appendEndRequest(nil, 1, 0, proto) }

func TestProxyFakeDaemon(t *testing.T) {
	const head = "Status: 201 Created\r\nX-A: b\r\nContent-Type: text/plain\r\n\r\n"
	tests := []struct {
		desc     string
		reply    []byte
		wantCode int
		wantBody string
	}{
		{"well formed", reply(stdoutRec(head+"body"), stdoutRec(""), endRec(statusRequestComplete)), 201, "body"},
		{"body across records", reply(stdoutRec(head+"bo"), stderrRec("warn"), stdoutRec("dy"), stdoutRec(""), endRec(statusRequestComplete)), 201, "body"},
		{"no empty STDOUT", reply(stdoutRec(head), endRec(statusRequestComplete)), 201, ""},
		{"closed without reply", nil, 502, "Bad Gateway\n"},
		{"bad version", []byte{2, 6, 0, 1, 0, 0, 0, 0}, 502, "Bad Gateway\n"},
		{"unknown type", []byte{1, 12, 0, 1, 0, 0, 0, 0}, 502, "Bad Gateway\n"},
		{"other request id", appendRecords(nil, typeStdout, 2, []byte(head)), 502, "Bad Gateway\n"},
		{"management record", appendRecords(nil, typeGetValuesResult, 0, nil), 502, "Bad Gateway\n"},
		{"unknown type record", appendRecords(nil, typeUnknownType, 0, make([]byte, 8)), 502, "Bad Gateway\n"},
		{"END_REQUEST without STDOUT", endRec(statusRequestComplete), 502, "Bad Gateway\n"},
		{"overloaded", endRec(statusOverloaded), 503, "Service Unavailable\n"},
		{"cannot multiplex", endRec(statusCantMultiplex), 502, "Bad Gateway\n"},
		{"not a CGI head", reply(stdoutRec("no colon here\r\n\r\n"), endRec(0)), 502, "Bad Gateway\n"},
		{"head never ends", reply(stdoutRec("A: b\r\n"), stdoutRec(""), endRec(0)), 502, "Bad Gateway\n"},
		{"truncated inside a record", stdoutRec(head + "body")[:20], 502, "Bad Gateway\n"},
		{"truncated header", []byte{1, 6, 0}, 502, "Bad Gateway\n"},
		{"huge record cut short", []byte{1, 6, 0, 1, 0xFF, 0xFF, 0xFF, 0, 'S'}, 502, "Bad Gateway\n"},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			addr := fakeDaemon(t, func(c net.Conn, req *fakeRequest) {
				c.Write(tt.reply)
			})
			f := newTestFront(t, "unix", addr, nil)
			code, b := f.get(t, "/x")
			if code != tt.wantCode || string(b) != tt.wantBody {
				t.Errorf("GET = %d %q; want %d %q", code, b, tt.wantCode, tt.wantBody)
			}
		})
	}
}

// TestProxyTruncatedBody checks that a reply that breaks off after its head
// is not passed off as a complete response.
func TestProxyTruncatedBody(t *testing.T) {
	tests := []struct {
		desc  string
		reply []byte
	}{
		{"closed mid-body", stdoutRec("Content-Type: text/plain\r\n\r\nsome body")[:40]},
		{"STDOUT after its end", reply(stdoutRec("Content-Type: text/plain\r\n\r\na"), stdoutRec(""), stdoutRec("b"), endRec(0))},
		{"END_REQUEST too short", reply(stdoutRec("Content-Type: text/plain\r\n\r\na"), appendRecords(nil, typeEndRequest, 1, []byte{0, 0, 0, 0}))},
		{"rejected after head", reply(stdoutRec("Content-Type: text/plain\r\n\r\na"), endRec(statusOverloaded))},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			addr := fakeDaemon(t, func(c net.Conn, req *fakeRequest) { c.Write(tt.reply) })
			f := newTestFront(t, "unix", addr, nil)
			resp, err := f.srv.Client().Get(f.srv.URL + "/x")
			if err != nil {
				return // cut off before the head reached the client: fine
			}
			_, err = io.ReadAll(resp.Body)
			resp.Body.Close()
			if err == nil {
				t.Errorf("GET read a complete %d response; want a broken one", resp.StatusCode)
			}
		})
	}
}

func TestFakeDaemonSeesRequest(t *testing.T) {
	f, got := newOKFront(t)
	code, _, b := f.do(t, "POST", "/p/a?q=1", strings.NewReader("payload"), http.Header{"X-Test": {"1"}})
	if code != 200 || string(b) != "ok" {
		t.Fatalf("POST = %d %q; want 200 ok", code, b)
	}
	req := <-got
	if req.id != requestID || req.flags != flagKeepConn || string(req.stdin) != "payload" {
		t.Errorf("request id %d flags %d stdin %q; want 1 1 payload", req.id, req.flags, req.stdin)
	}
	for k, v := range map[string]string{
		"REQUEST_METHOD": "POST", "REQUEST_URI": "/p/a?q=1", "QUERY_STRING": "q=1",
		"PATH_INFO": "/p/a", "CONTENT_LENGTH": "7", "HTTP_X_TEST": "1", "GATEWAY_INTERFACE": "CGI/1.1",
	} {
		if req.params[k] != v {
			t.Errorf("param %s = %q; want %q", k, req.params[k], v)
		}
	}
}

func TestStderrCaptured(t *testing.T) {
	addr := fakeDaemon(t, func(c net.Conn, req *fakeRequest) {
		c.Write(reply(stderrRec("first warning;"), stdoutRec("Content-Type: text/plain\r\n\r\nok"), stderrRec(strings.Repeat("x", 100)), endRec(0)))
	})
	f := newTestFront(t, "unix", addr, func(c *Client) { c.StderrBytes = 20 })
	if code, b := f.get(t, "/x"); code != 200 || string(b) != "ok" {
		t.Fatalf("GET = %d %q; want 200 ok", code, b)
	}
	want := `fcgi: application stderr (first 20 bytes; 94 more dropped, see Client.StderrBytes): "first warning;xxxxxx"`
	if got := strings.TrimSpace(f.log.String()); got != want {
		t.Errorf("log = %q; want %q", got, want)
	}
}

func TestTimeout(t *testing.T) {
	addr := fakeDaemon(t, func(c net.Conn, req *fakeRequest) {
		io.Copy(io.Discard, c) // never answer; return when the client gives up
	})
	f := newTestFront(t, "unix", addr, func(c *Client) { c.Timeout = 50 * time.Millisecond })
	code, b := f.get(t, "/x")
	if code != 504 || string(b) != "Gateway Timeout\n" {
		t.Errorf("GET from a silent daemon = %d %q; want 504 \"Gateway Timeout\\n\"", code, b)
	}
	if s := f.client.Pool.Stats(); s.Discarded != 1 || s.Idle != 0 {
		t.Errorf("pool after timeout: %+v; want the connection discarded", s)
	}
}

// abortingDaemon reads a request, reports it, and reports the next record
// it gets on that connection.
func abortingDaemon(t *testing.T) (addr string, received chan *fakeRequest, next chan header) {
	received = make(chan *fakeRequest, 1)
	next = make(chan header, 1)
	addr = fakeDaemon(t, func(c net.Conn, req *fakeRequest) {
		received <- req
		h, _, err := readRecord(c, make([]byte, maxRecord))
		if err != nil {
			t.Errorf("fake daemon: reading after the request: %v", err)
			close(next)
			return
		}
		next <- h
		c.Write(endRec(statusRequestComplete))
	})
	return addr, received, next
}

func TestAbortOnCancel(t *testing.T) {
	t.Run("client", func(t *testing.T) {
		addr, received, next := abortingDaemon(t)
		c := &Client{Pool: &Pool{Network: "unix", Address: addr}}
		defer c.Pool.Close()
		ctx, cancel := context.WithCancel(t.Context())
		go func() {
			<-received
			cancel()
		}()
		_, err := c.Do(ctx, []string{"REQUEST_METHOD=GET"}, nil)
		if !errors.Is(err, context.Canceled) {
			t.Errorf("Do = %v; want context.Canceled", err)
		}
		if h := <-next; h.Type != typeAbortRequest || h.ID != requestID {
			t.Errorf("after cancel the daemon got type %d id %d; want ABORT_REQUEST id 1", h.Type, h.ID)
		}
		if s := c.Pool.Stats(); s.Open != 0 || s.Discarded != 1 {
			t.Errorf("pool after abort: %+v; want the connection discarded", s)
		}
	})
	t.Run("http client disconnects", func(t *testing.T) {
		addr, received, next := abortingDaemon(t)
		f := newTestFront(t, "unix", addr, nil)
		ctx, cancel := context.WithCancel(t.Context())
		go func() {
			<-received
			cancel()
		}()
		req, _ := http.NewRequestWithContext(ctx, "GET", f.srv.URL+"/x", nil)
		if resp, err := f.srv.Client().Do(req); err == nil {
			resp.Body.Close()
			t.Errorf("GET = %d; want the request cancelled", resp.StatusCode)
		}
		if h := <-next; h.Type != typeAbortRequest || h.ID != requestID {
			t.Errorf("after disconnect the daemon got type %d id %d; want ABORT_REQUEST id 1", h.Type, h.ID)
		}
	})
	t.Run("body read error", func(t *testing.T) {
		// A daemon that reports what follows the part of the body it got.
		received := make(chan struct{})
		next := make(chan header, 1)
		addr := serveUnix(t, "b", func(c net.Conn, _ int) {
			buf := make([]byte, maxRecord)
			for {
				h, content, err := readRecord(c, buf)
				if err != nil {
					close(next)
					return
				}
				if h.Type == typeStdin && len(content) > 0 {
					close(received)
					continue
				}
				if h.Type == typeStdin || h.Type == typeAbortRequest {
					next <- h
					return
				}
			}
		})
		c := &Client{Pool: &Pool{Network: "unix", Address: addr}}
		defer c.Pool.Close()
		pr, pw := io.Pipe()
		go func() {
			pw.Write([]byte("part of the body"))
			<-received
			pw.CloseWithError(errors.New("client went away"))
		}()
		_, err := c.Do(t.Context(), []string{"REQUEST_METHOD=POST"}, pr)
		if err == nil || !strings.Contains(err.Error(), "client went away") {
			t.Errorf("Do = %v; want the body's error", err)
		}
		if h := <-next; h.Type != typeAbortRequest {
			t.Errorf("after the body failed the daemon got type %d; want ABORT_REQUEST", h.Type)
		}
	})
}
