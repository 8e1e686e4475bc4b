package loadgen

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"

	"forkbench/results"
)

// fakeTarget is a Target for tests.
type fakeTarget struct {
	url  string
	pids []int
}

func (f fakeTarget) Name() string { return "fake" }
func (f fakeTarget) URL() string  { return f.url }
func (f fakeTarget) PIDs() []int  { return f.pids }

var transports = []string{TransportFastHTTP, TransportNetHTTP}

// countingServer serves h and counts the requests it received.
func countingServer(t *testing.T, h func(n int64, w http.ResponseWriter, r *http.Request)) (*httptest.Server, *atomic.Int64) {
	t.Helper()
	var n atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h(n.Add(1), w, r)
	}))
	t.Cleanup(srv.Close)
	return srv, &n
}

// helloServer answers "hello" to every request and counts them: the
// plain target of tests about the attack rather than the server.
func helloServer(t *testing.T) (*httptest.Server, *atomic.Int64) {
	t.Helper()
	return countingServer(t, func(_ int64, w http.ResponseWriter, _ *http.Request) {
		fmt.Fprint(w, "hello")
	})
}

// attack runs Attack with o on the server at url, sending the default
// request; an error ends the test.
func attack(t *testing.T, url string, o Options) results.Point {
	t.Helper()
	p, err := Attack(context.Background(), fakeTarget{url: url}, Request{}, o)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// closedPortURL returns a URL on which nothing listens.
func closedPortURL(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	if err := ln.Close(); err != nil {
		t.Fatal(err)
	}
	return "http://" + addr
}

// rawServer accepts TCP connections, reads one request head from each and
// then hangs up: with a reset (SO_LINGER 0) or a plain close.
func rawServer(t *testing.T, reset bool) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	t.Cleanup(func() {
		_ = ln.Close()
		wg.Wait()
	})
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				buf := make([]byte, 0, 4096)
				tmp := make([]byte, 4096)
				for !containsHeadEnd(buf) {
					n, err := c.Read(tmp)
					if err != nil {
						break
					}
					buf = append(buf, tmp[:n]...)
				}
				if reset {
					_ = c.(*net.TCPConn).SetLinger(0)
				}
				_ = c.Close()
			}()
		}
	}()
	return "http://" + ln.Addr().String()
}

func containsHeadEnd(b []byte) bool {
	for i := 0; i+3 < len(b); i++ {
		if b[i] == '\r' && b[i+1] == '\n' && b[i+2] == '\r' && b[i+3] == '\n' {
			return true
		}
	}
	return false
}
