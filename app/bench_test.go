package app

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
)

// discardWriter is a ResponseWriter that keeps nothing, so the benchmarks
// count the handler's allocations and not a recorder's.
type discardWriter struct {
	h      http.Header
	status int
	n      int64
}

func (d *discardWriter) Header() http.Header  { return d.h }
func (d *discardWriter) WriteHeader(code int) { d.status = code }
func (d *discardWriter) Write(p []byte) (int, error) {
	d.n += int64(len(p))
	return len(p), nil
}

func BenchmarkApp(b *testing.B) {
	a := newTestApp(b, Config{})
	echoBody := bytes.Repeat([]byte("e"), 1024)
	benches := []struct {
		name, method, target string
		body                 []byte
	}{
		{"plaintext", "GET", "/plaintext", nil},
		{"json", "GET", "/json", nil},
		{"db", "GET", "/db", nil},
		{"queries=20", "GET", "/queries?n=20&seed=1", nil},
		{"fortunes", "GET", "/fortunes", nil},
		{"echo=1KiB", "POST", "/echo", echoBody},
		{"work=1000", "GET", "/work?n=1000", nil},
		{"sleep=0", "GET", "/sleep?ms=0", nil},
		{"bytes=64KiB", "GET", "/bytes?n=65536", nil},
		{"notfound", "GET", "/nope", nil},
	}
	for _, bb := range benches {
		b.Run(bb.name, func(b *testing.B) {
			r := httptest.NewRequest(bb.method, bb.target, nil)
			body := bytes.NewReader(bb.body)
			rc := io.NopCloser(body)
			w := &discardWriter{h: make(http.Header)}
			b.ReportAllocs()
			for b.Loop() {
				body.Reset(bb.body)
				r.Body = rc
				r.ContentLength = int64(len(bb.body))
				clear(w.h)
				w.status, w.n = 0, 0
				a.ServeHTTP(w, r)
				if w.status != http.StatusOK && w.status != http.StatusNotFound {
					b.Fatalf("%s %s = %d", bb.method, bb.target, w.status)
				}
			}
			b.SetBytes(w.n)
		})
	}
}

// BenchmarkNew measures the start-up a CGI child pays before serving.
func BenchmarkNew(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		a, err := New(Config{DBPath: testDB})
		if err != nil {
			b.Fatal(err)
		}
		if err := a.Close(); err != nil {
			b.Fatal(err)
		}
	}
}
