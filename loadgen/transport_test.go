package loadgen

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"forkbench/internal/testbin"
)

// TestTransportEquivalence sends the same requests through both transports
// and expects the same status codes, bodies and error kinds.
func TestTransportEquivalence(t *testing.T) {
	echo := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		switch r.URL.Path {
		case "/created":
			w.WriteHeader(http.StatusCreated)
			fmt.Fprint(w, "created")
		case "/missing":
			http.Error(w, "nope", http.StatusNotFound)
		case "/broken":
			http.Error(w, "broken", http.StatusServiceUnavailable)
		case "/redirect":
			http.Redirect(w, r, "/created", http.StatusFound)
		case "/echo":
			// What the server saw: method, query, one header, length and body.
			fmt.Fprintf(w, "%s %s q=%s x=%s cl=%d te=%v body=%s",
				r.Method, r.URL.Path, r.URL.RawQuery, r.Header.Get("X-Test"), r.ContentLength, r.TransferEncoding, body)
		case "/big":
			w.Write(bytes.Repeat([]byte("0123456789"), 100_000))
		default:
			fmt.Fprint(w, "hello")
		}
	}))
	t.Cleanup(echo.Close)
	stall := testbin.StuckServer(t, 1)
	refused := closedPortURL(t)
	reset := rawServer(t, true)
	eof := rawServer(t, false)

	tests := []struct {
		name     string
		method   string
		url      string
		body     string
		header   http.Header
		wantCode int
		wantBody string
		wantKind string // ClassifyError of the transport error, "" for none
	}{
		{name: "ok", method: "GET", url: echo.URL + "/", wantCode: 200, wantBody: "hello"},
		{name: "head", method: "HEAD", url: echo.URL + "/", wantCode: 200, wantBody: ""},
		{name: "connection close", method: "GET", url: echo.URL + "/", header: http.Header{"Connection": {"close"}}, wantCode: 200, wantBody: "hello"},
		{name: "created", method: "GET", url: echo.URL + "/created", wantCode: 201, wantBody: "created"},
		{name: "404", method: "GET", url: echo.URL + "/missing", wantCode: 404, wantBody: "nope\n"},
		{name: "503", method: "GET", url: echo.URL + "/broken", wantCode: 503, wantBody: "broken\n"},
		{name: "redirect not followed", method: "GET", url: echo.URL + "/redirect", wantCode: 302, wantBody: "<a href=\"/created\">Found</a>.\n\n"},
		{
			name: "post body and header", method: "POST", url: echo.URL + "/echo?a=1&b=%20",
			body: "k=v&x=y", header: http.Header{"X-Test": {"yes"}},
			wantCode: 200, wantBody: "POST /echo q=a=1&b=%20 x=yes cl=7 te=[] body=k=v&x=y",
		},
		{name: "get has no body", method: "GET", url: echo.URL + "/echo", wantCode: 200, wantBody: "GET /echo q= x= cl=0 te=[] body="},
		{name: "big body", method: "GET", url: echo.URL + "/big", wantCode: 200, wantBody: strings.Repeat("0123456789", 100_000)},
		{name: "timeout", method: "GET", url: stall.URL + "/", wantKind: ErrKindTimeout},
		{name: "refused", method: "GET", url: refused + "/", wantKind: ErrKindRefused},
		{name: "reset", method: "GET", url: reset + "/", wantKind: ErrKindReset},
		{name: "eof", method: "GET", url: eof + "/", wantKind: ErrKindEOF},
	}
	for _, tr := range transports {
		t.Run(tr, func(t *testing.T) {
			client := newClient(tr, 2, 300*time.Millisecond, false, true)
			defer client.CloseIdleConnections()
			for _, tt := range tests {
				t.Run(tt.name, func(t *testing.T) {
					var body io.Reader
					if tt.body != "" {
						body = strings.NewReader(tt.body)
					}
					req, err := http.NewRequest(tt.method, tt.url, body)
					if err != nil {
						t.Fatal(err)
					}
					for k, v := range tt.header {
						req.Header[k] = v
					}
					resp, err := client.Do(req)
					if err != nil {
						if got := ClassifyError(0, err.Error()); got != tt.wantKind {
							t.Fatalf("error %q is kind %q; want %q", err, got, tt.wantKind)
						}
						return
					}
					defer resp.Body.Close()
					if tt.wantKind != "" {
						t.Fatalf("got status %d; want a %s error", resp.StatusCode, tt.wantKind)
					}
					got, err := io.ReadAll(resp.Body)
					if err != nil {
						t.Fatal(err)
					}
					if resp.StatusCode != tt.wantCode || string(got) != tt.wantBody {
						t.Errorf("got %d %.80q; want %d %.80q", resp.StatusCode, got, tt.wantCode, tt.wantBody)
					}
					if wantStatus := fmt.Sprintf("%d %s", tt.wantCode, http.StatusText(tt.wantCode)); resp.Status != wantStatus {
						t.Errorf("Status = %q; want %q", resp.Status, wantStatus)
					}
					if tt.header.Get("Connection") == "close" && !resp.Close {
						t.Error("resp.Close = false; the request asked the server to close")
					}
					if ct := resp.Header.Get("Content-Type"); ct == "" {
						t.Errorf("no Content-Type in response headers %v", resp.Header)
					}
				})
			}
		})
	}
}

// TestFastTransportMaxConns checks that requests beyond MaxConns wait for a
// connection instead of failing, and that no more connections are opened.
func TestFastTransportMaxConns(t *testing.T) {
	var conns atomic.Int64
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(2 * time.Millisecond) // keep connections busy so requests queue
		fmt.Fprint(w, "ok")
	}))
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			conns.Add(1)
		}
	}
	srv.Start()
	t.Cleanup(srv.Close)
	client := newClient(TransportFastHTTP, 2, 5*time.Second, false, false)
	errs := make(chan error, 20)
	for range 20 {
		go func() {
			resp, err := client.Get(srv.URL)
			if err == nil {
				_, err = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
			}
			errs <- err
		}()
	}
	for range 20 {
		if err := <-errs; err != nil {
			t.Errorf("request: %v", err)
		}
	}
	if n := conns.Load(); n > 2 {
		t.Errorf("opened %d connections; want at most 2", n)
	}
}

// BenchmarkTransport compares the per-request cost of the two transports
// against an in-process server (which shares the CPU, so the figures are a
// comparison, not a capacity).
func BenchmarkTransport(b *testing.B) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte("Hello, World!"))
	}))
	defer srv.Close()
	for _, tr := range transports {
		b.Run(tr, func(b *testing.B) {
			client := newClient(tr, 1, 5*time.Second, false, false)
			defer client.CloseIdleConnections()
			b.ReportAllocs()
			start := time.Now()
			n := 0
			for b.Loop() {
				req, _ := http.NewRequestWithContext(context.Background(), "GET", srv.URL+"/", nil)
				resp, err := client.Do(req)
				if err != nil {
					b.Fatal(err)
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				n++
			}
			b.ReportMetric(float64(n)/time.Since(start).Seconds(), "req/s")
		})
	}
}
