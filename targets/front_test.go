package targets

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"forkbench/internal/gateway"
)

// startFront starts f with handler and stops it at the end of the test.
func startFront(t *testing.T, f *Front, handler http.Handler) string {
	t.Helper()
	f.Handler = handler
	if err := f.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if err := f.Stop(ctx); err != nil {
			t.Errorf("Stop() = %v", err)
		}
	})
	return strings.TrimPrefix(f.URL(), "http://")
}

// dial opens a raw connection whose reads fail the test rather than hang
// if the front never ends them.
func dial(t *testing.T, addr string) net.Conn {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	if err := c.SetReadDeadline(time.Now().Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	return c
}

// readToClose reads until the front closes the connection and returns what
// it sent; a read that hits the test's own deadline fails the test.
func readToClose(t *testing.T, c net.Conn) string {
	t.Helper()
	b, err := io.ReadAll(c)
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		t.Fatalf("the front kept the connection open for a minute; read %q", b)
	}
	return string(b)
}

// TestFrontTimeouts feeds the front clients that stall at each stage of a
// request on raw sockets; each must have its connection closed by the
// front's own timeout, not held.
func TestFrontTimeouts(t *testing.T) {
	tests := []struct {
		name        string
		front       Front
		send        string // then the client stalls
		wantHandler bool   // the handler is reached
		wantPrefix  string // of what the front sends before closing
	}{
		{name: "head never finished", front: Front{ReadHeaderTimeout: 100 * time.Millisecond},
			send: "GET / HTTP/1.1\r\nHost: x\r\n"},
		{name: "declared body stalls", front: Front{ReadTimeout: 100 * time.Millisecond},
			send: "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n0123456789", wantHandler: true},
		{name: "chunked body stalls", front: Front{ReadTimeout: 100 * time.Millisecond},
			send: "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\na\r\n0123456789\r\n", wantPrefix: "HTTP/1.1 400 "},
		{name: "idle after a response", front: Front{IdleTimeout: 100 * time.Millisecond},
			send: "GET / HTTP/1.1\r\nHost: x\r\n\r\n", wantHandler: true, wantPrefix: "HTTP/1.1 200 OK"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var reached atomic.Bool
			f := tt.front
			addr := startFront(t, &f, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				reached.Store(true)
				if _, err := io.Copy(io.Discard, r.Body); err != nil {
					return // the stalled body timed out
				}
				io.WriteString(w, "ok")
			}))
			c := dial(t, addr)
			if _, err := io.WriteString(c, tt.send); err != nil {
				t.Fatal(err)
			}
			got := readToClose(t, c)
			if !strings.HasPrefix(got, tt.wantPrefix) {
				t.Errorf("front sent %q; want it to start with %q", got, tt.wantPrefix)
			}
			if reached.Load() != tt.wantHandler {
				t.Errorf("handler reached = %v; want %v", reached.Load(), tt.wantHandler)
			}
		})
	}
}

// TestFrontSlowReader checks that a client that never reads its response
// is cut off by WriteTimeout and the handler's writes fail, so whatever
// serves it (a CGI child, a FastCGI connection) is freed.
func TestFrontSlowReader(t *testing.T) {
	writeErr := make(chan error, 1)
	f := Front{WriteTimeout: 200 * time.Millisecond}
	addr := startFront(t, &f, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		chunk := make([]byte, 64<<10)
		for {
			if _, err := w.Write(chunk); err != nil {
				writeErr <- err
				return
			}
		}
	}))
	c := dial(t, addr)
	if _, err := io.WriteString(c, "GET / HTTP/1.1\r\nHost: x\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	select { // the client reads nothing
	case <-writeErr: // any error: the writes were refused
	case <-time.After(time.Minute):
		t.Fatal("the handler was still writing to a client that reads nothing after a minute")
	}
}

// TestFrontBodyPolicy checks that the front gives every deployment the
// same request body: a chunked body arrives with its length, one over the
// limit is refused with 413 before the handler runs.
func TestFrontBodyPolicy(t *testing.T) {
	f := Front{Body: gateway.BodyPolicy{MaxBytes: 1000, MemBytes: 100, TempDir: t.TempDir()}}
	var calls atomic.Int32
	addr := startFront(t, &f, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		b, _ := io.ReadAll(r.Body)
		io.WriteString(w, strconv.FormatInt(r.ContentLength, 10)+" "+strconv.Itoa(len(b)))
	}))
	tests := []struct {
		size       int
		wantStatus int
		wantBody   string
	}{
		{500, 200, "500 500"},
		{1001, 413, "Request Entity Too Large\n"},
	}
	for _, tt := range tests {
		c := dial(t, addr)
		body := strings.Repeat("x", tt.size)
		req := "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n" +
			strconv.FormatInt(int64(tt.size), 16) + "\r\n" + body + "\r\n0\r\n\r\n"
		if _, err := io.WriteString(c, req); err != nil {
			t.Fatal(err)
		}
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != tt.wantStatus || string(b) != tt.wantBody {
			t.Errorf("chunked POST of %d bytes = %d %q; want %d %q", tt.size, resp.StatusCode, b, tt.wantStatus, tt.wantBody)
		}
	}
	if n := calls.Load(); n != 1 {
		t.Errorf("handler called %d times; want once (the 413 is the front's)", n)
	}
}
