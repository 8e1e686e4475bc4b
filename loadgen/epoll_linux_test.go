package loadgen

import (
	"bytes"
	"io"
	"net/http"
	"net/url"
	"os"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"

	"forkbench/internal/testbin"
)

// epollRun is one engine run's results, copied out of the reused Result,
// and their intended send times.
type epollRun struct {
	mu       sync.Mutex
	results  []vegeta.Result
	intended []time.Time
}

func (r *epollRun) deliver(res *vegeta.Result, intended time.Time) {
	r.mu.Lock()
	r.results = append(r.results, *res)
	r.intended = append(r.intended, intended)
	r.mu.Unlock()
}

func (r *epollRun) all() []vegeta.Result {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.results)
}

// hostOf returns the host:port of an http:// URL.
func hostOf(t *testing.T, rawURL string) string {
	t.Helper()
	u, err := url.Parse(rawURL)
	if err != nil {
		t.Fatal(err)
	}
	return u.Host
}

// startEpollT starts the engine on rawURL's host and fails the test if it
// has not stopped (or cannot be stopped) by the end.
func startEpollT(t *testing.T, rawURL string, req []byte, bodyLen, conns int, d, timeout time.Duration) (*epollLoop, *epollRun) {
	t.Helper()
	run := &epollRun{}
	l, err := startEpoll(hostOf(t, rawURL), req, bodyLen, conns, d, timeout, run.deliver)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		l.Stop()
		<-l.Done()
	})
	return l, run
}

// waitDone waits for l to stop, failing after a generous bound.
func waitDone(t *testing.T, l *epollLoop, bound time.Duration) {
	t.Helper()
	select {
	case <-l.Done():
	case <-time.After(bound):
		t.Fatalf("engine did not stop within %v", bound)
	}
}

// runEpoll runs the engine for d and returns its results.
func runEpoll(t *testing.T, rawURL string, req []byte, bodyLen, conns int, d, timeout time.Duration) []vegeta.Result {
	t.Helper()
	l, run := startEpollT(t, rawURL, req, bodyLen, conns, d, timeout)
	waitDone(t, l, d+10*time.Second)
	return run.all()
}

// checkSeqs fails unless the results' Seq are exactly 0..len-1.
func checkSeqs(t *testing.T, rs []vegeta.Result) {
	t.Helper()
	seen := make([]bool, len(rs))
	for _, r := range rs {
		if r.Seq >= uint64(len(rs)) || seen[r.Seq] {
			t.Fatalf("Seq %d repeated or out of 0..%d", r.Seq, len(rs)-1)
		}
		seen[r.Seq] = true
	}
}

func getRequest(t *testing.T, rawURL, path string) []byte {
	return buildRequest(http.MethodGet, path, hostOf(t, rawURL), nil, nil, true)
}

// TestEpollCountsExactly checks that every request the server answered is
// delivered once, with its status and body length.
func TestEpollCountsExactly(t *testing.T) {
	srv, count := countingServer(t, func(n int64, w http.ResponseWriter, r *http.Request) {
		if n%3 == 0 {
			http.Error(w, "boom", http.StatusInternalServerError) // "boom\n"
			return
		}
		_, _ = io.WriteString(w, "hello")
	})
	rs := runEpoll(t, srv.URL, getRequest(t, srv.URL, "/"), 0, 4, 300*time.Millisecond, 5*time.Second)
	if int64(len(rs)) != count.Load() || len(rs) == 0 {
		t.Fatalf("%d results, server counted %d", len(rs), count.Load())
	}
	checkSeqs(t, rs)
	var fails int64
	for _, r := range rs {
		switch r.Code {
		case 200:
			if r.BytesIn != 5 || r.Error != "" {
				t.Fatalf("200 with BytesIn %d, Error %q", r.BytesIn, r.Error)
			}
		case 500:
			fails++
			if r.BytesIn != 5 || r.Error != "500 Internal Server Error" {
				t.Fatalf("500 with BytesIn %d, Error %q", r.BytesIn, r.Error)
			}
		default:
			t.Fatalf("unexpected result %+v", r)
		}
		if r.Latency <= 0 || r.Timestamp.IsZero() {
			t.Fatalf("bad timing %+v", r)
		}
	}
	if want := count.Load() / 3; fails != want {
		t.Errorf("%d results with 500, server sent %d", fails, want)
	}
}

// TestEpollPostBody checks that a POST built by buildRequest reaches the
// server whole, request after request on the same connections.
func TestEpollPostBody(t *testing.T) {
	body := []byte(`{"hello":"world"}`)
	srv, count := countingServer(t, func(_ int64, w http.ResponseWriter, r *http.Request) {
		got, err := io.ReadAll(r.Body)
		if err != nil || !bytes.Equal(got, body) || r.Method != http.MethodPost ||
			r.Header.Get("Content-Type") != "application/json" || r.Header.Get("X-Token") != "t" ||
			r.ContentLength != int64(len(body)) || r.URL.RequestURI() != "/post?q=1" {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		w.WriteHeader(http.StatusCreated)
	})
	h := http.Header{"Content-Type": {"application/json"}, "X-Token": {"t"}}
	req := buildRequest(http.MethodPost, "/post?q=1", hostOf(t, srv.URL), h, body, true)
	rs := runEpoll(t, srv.URL, req, len(body), 2, 200*time.Millisecond, 5*time.Second)
	if len(rs) == 0 || int64(len(rs)) != count.Load() {
		t.Fatalf("%d results, server counted %d", len(rs), count.Load())
	}
	for _, r := range rs {
		if r.Code != http.StatusCreated || r.Error != "" || r.BytesOut != uint64(len(body)) {
			t.Fatalf("unexpected result %+v", r)
		}
	}
}

// TestEpollResponseShapes runs the engine against servers answering with
// each way of framing a body.
func TestEpollResponseShapes(t *testing.T) {
	large := strings.Repeat("x", 1<<20)
	tests := []struct {
		name      string
		method    string
		keepAlive bool
		handler   http.HandlerFunc
		code      uint16
		bytesIn   uint64
	}{
		{"chunked", http.MethodGet, true, func(w http.ResponseWriter, _ *http.Request) {
			_, _ = io.WriteString(w, "first;")
			w.(http.Flusher).Flush()
			_, _ = io.WriteString(w, "second")
			w.(http.Flusher).Flush()
		}, 200, 12},
		{"connection close", http.MethodGet, true, func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Connection", "close")
			_, _ = io.WriteString(w, "bye")
		}, 200, 3},
		{"request without keep-alive", http.MethodGet, false, func(w http.ResponseWriter, _ *http.Request) {
			_, _ = io.WriteString(w, "one")
		}, 200, 3},
		{"large body", http.MethodGet, true, func(w http.ResponseWriter, _ *http.Request) {
			_, _ = io.WriteString(w, large)
		}, 200, 1 << 20},
		{"HEAD", http.MethodHead, true, func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Length", "1234")
		}, 200, 0},
		{"204", http.MethodGet, true, func(w http.ResponseWriter, _ *http.Request) {
			w.WriteHeader(http.StatusNoContent)
		}, 204, 0},
		{"404", http.MethodGet, true, http.NotFound, 404, uint64(len("404 page not found\n"))},
		{"redirect", http.MethodGet, true, func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, "/elsewhere", http.StatusFound)
		}, 302, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv, count := countingServer(t, func(_ int64, w http.ResponseWriter, r *http.Request) { tc.handler(w, r) })
			req := buildRequest(tc.method, "/", hostOf(t, srv.URL), nil, nil, tc.keepAlive)
			rs := runEpoll(t, srv.URL, req, 0, 2, 200*time.Millisecond, 5*time.Second)
			// More results than connections: those closed were re-dialled.
			if len(rs) <= 4 || int64(len(rs)) != count.Load() {
				t.Fatalf("%d results, server counted %d", len(rs), count.Load())
			}
			checkSeqs(t, rs)
			for _, r := range rs {
				if r.Code != tc.code || (tc.code != 302 && r.BytesIn != tc.bytesIn) {
					t.Fatalf("got code %d, BytesIn %d, Error %q; want code %d, BytesIn %d",
						r.Code, r.BytesIn, r.Error, tc.code, tc.bytesIn)
				}
				if wantErr := tc.code >= 400; (r.Error != "") != wantErr {
					t.Fatalf("code %d with Error %q", r.Code, r.Error)
				}
			}
		})
	}
}

// TestEpollFailures checks that failures are delivered with texts that
// ClassifyError reads as the right kind.
func TestEpollFailures(t *testing.T) {
	tests := []struct {
		name    string
		url     func(t *testing.T) string
		timeout time.Duration
		kind    string
	}{
		{"refused", closedPortURL, 0, ErrKindRefused},
		{"timeout", func(t *testing.T) string { return testbin.StuckServer(t, 1).URL }, 100 * time.Millisecond, ErrKindTimeout},
		{"reset", func(t *testing.T) string { return rawServer(t, true) }, time.Second, ErrKindReset},
		{"closed", func(t *testing.T) string { return rawServer(t, false) }, time.Second, ErrKindEOF},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			u := tc.url(t)
			rs := runEpoll(t, u, getRequest(t, u, "/"), 0, 2, 250*time.Millisecond, tc.timeout)
			if len(rs) < 2 {
				t.Fatalf("%d results, want at least 2", len(rs))
			}
			checkSeqs(t, rs)
			for _, r := range rs {
				if kind := ClassifyError(r.Code, r.Error); kind != tc.kind || r.Code != 0 {
					t.Fatalf("code %d, error %q: kind %q, want %q", r.Code, r.Error, kind, tc.kind)
				}
				if tc.kind == ErrKindTimeout && r.Latency < tc.timeout {
					t.Fatalf("timed out after %v, before the %v timeout", r.Latency, tc.timeout)
				}
			}
		})
	}
}

// openFDs counts this process's open file descriptors.
func openFDs(t *testing.T) int {
	t.Helper()
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Skipf("cannot count file descriptors: %v", err)
	}
	return len(ents)
}

// eventually polls cond for up to bound: sockets the server side closes,
// and goroutines that exit, do so a moment after the engine stops.
func eventually(bound time.Duration, cond func() bool) bool {
	for deadline := time.Now().Add(bound); ; time.Sleep(10 * time.Millisecond) {
		if cond() {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
	}
}

// resources are what an engine run must give back: this process's open
// file descriptors and goroutines.
type resources struct{ fds, goroutines int }

// heldResources counts the resources held now.
func heldResources(t *testing.T) resources {
	return resources{openFDs(t), runtime.NumGoroutine()}
}

// checkReleased fails the test unless, within a few seconds, no more
// resources are held than before.
func (before resources) checkReleased(t *testing.T) {
	t.Helper()
	if !eventually(5*time.Second, func() bool { return openFDs(t) <= before.fds }) {
		t.Errorf("%d file descriptors open after the run, %d before", openFDs(t), before.fds)
	}
	if !eventually(5*time.Second, func() bool { return runtime.NumGoroutine() <= before.goroutines }) {
		t.Errorf("%d goroutines after the run, %d before", runtime.NumGoroutine(), before.goroutines)
	}
}

// TestEpollStop stops a long run midway: the engine must stop promptly,
// deliver every request it sent exactly once, and leave no file
// descriptor or goroutine behind.
func TestEpollStop(t *testing.T) {
	srv, count := countingServer(t, func(_ int64, w http.ResponseWriter, _ *http.Request) {
		time.Sleep(time.Millisecond)
		_, _ = io.WriteString(w, "ok")
	})
	srv.Client().CloseIdleConnections()
	held := heldResources(t)

	run := &epollRun{}
	l, err := startEpoll(hostOf(t, srv.URL), getRequest(t, srv.URL, "/"), 0, 8, time.Hour, 5*time.Second, run.deliver)
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(200 * time.Millisecond)
	start := time.Now()
	var wg sync.WaitGroup
	for range 3 { // Stop is idempotent and safe from any goroutine
		wg.Go(l.Stop)
	}
	wg.Wait()
	waitDone(t, l, 5*time.Second)
	if took := time.Since(start); took > 2*time.Second {
		t.Errorf("Stop took %v", took)
	}
	l.Stop() // after the end too

	rs := run.all()
	if len(rs) == 0 || int64(len(rs)) != count.Load() {
		t.Fatalf("%d results, server counted %d", len(rs), count.Load())
	}
	checkSeqs(t, rs)
	for _, r := range rs {
		if r.Code != 200 || r.Error != "" {
			t.Fatalf("unexpected result %+v", r)
		}
	}
	srv.CloseClientConnections()
	held.checkReleased(t)
}

// TestEpollDeadline checks that a run ends on its own, that no request is
// sent after its end, and that a request in flight at the end is awaited.
func TestEpollDeadline(t *testing.T) {
	srv, count := countingServer(t, func(_ int64, w http.ResponseWriter, _ *http.Request) {
		time.Sleep(50 * time.Millisecond) // requests are in flight at the end
		_, _ = io.WriteString(w, "ok")
	})
	d := 120 * time.Millisecond
	start := time.Now()
	l, run := startEpollT(t, srv.URL, getRequest(t, srv.URL, "/"), 0, 3, d, 0)
	waitDone(t, l, 10*time.Second)
	rs := run.all()
	if len(rs) == 0 || int64(len(rs)) != count.Load() {
		t.Fatalf("%d results, server counted %d", len(rs), count.Load())
	}
	end := start.Add(d)
	for _, r := range rs {
		if r.Timestamp.After(end) {
			t.Errorf("request sent %v after the run's end", r.Timestamp.Sub(end))
		}
		if r.Code != 200 {
			t.Errorf("unexpected result %+v", r)
		}
	}
}

func TestStartEpollErrors(t *testing.T) {
	deliver := func(*vegeta.Result, time.Time) {}
	req := []byte("GET / HTTP/1.1\r\nHost: x\r\n\r\n")
	for _, tc := range []struct {
		name  string
		addr  string
		req   []byte
		conns int
	}{
		{"no connections", "127.0.0.1:1", req, 0},
		{"bad address", "not an address", req, 1},
		{"empty request", "127.0.0.1:1", nil, 1},
	} {
		if _, err := startEpoll(tc.addr, tc.req, 0, tc.conns, time.Second, 0, deliver); err == nil {
			t.Errorf("%s: no error", tc.name)
		}
	}
}
