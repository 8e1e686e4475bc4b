package fcgi

import (
	"bufio"
	"context"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"testing"
)

// BenchmarkProxy measures one request end to end: HTTP client, the front
// (Proxy), FastCGI over a unix socket, net/http/fcgi in this process.
func BenchmarkProxy(b *testing.B) {
	ln := serveStd(b, "unix")
	c := &Client{Pool: &Pool{Network: "unix", Address: ln.Addr().String()}, ErrorLog: log.New(io.Discard, "", 0)}
	defer c.Pool.Close()
	srv := httptest.NewServer(&Proxy{Client: c, ErrorLog: c.ErrorLog})
	defer srv.Close()
	hc := srv.Client()
	url := srv.URL + "/hello"
	b.ReportAllocs()
	for b.Loop() {
		resp, err := hc.Get(url)
		if err != nil {
			b.Fatal(err)
		}
		n, _ := io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || n != int64(len("hello, world\n")) {
			b.Fatalf("GET /hello = %d, %d bytes", resp.StatusCode, n)
		}
	}
	b.ReportMetric(float64(ln.accepted.Load()), "conns")
}

// BenchmarkClientDo measures the FastCGI client alone against a canned
// responder that allocates nothing per request, so the client's own
// allocations are what the benchmark reports.
func BenchmarkClientDo(b *testing.B) {
	canned := reply(stdoutRec("Content-Type: text/plain\r\n\r\nhello, world\n"), stdoutRec(""), endRec(statusRequestComplete))
	addr := serveUnix(b, "canned", func(c net.Conn, _ int) {
		br := bufio.NewReader(c)
		buf := make([]byte, maxRecord)
		for {
			h, content, err := readRecord(br, buf)
			if err != nil {
				return
			}
			if h.Type == typeStdin && len(content) == 0 {
				if _, err := c.Write(canned); err != nil {
					return
				}
			}
		}
	})

	c := &Client{Pool: &Pool{Network: "unix", Address: addr}, ErrorLog: log.New(io.Discard, "", 0)}
	defer c.Pool.Close()
	params := []string{"GATEWAY_INTERFACE=CGI/1.1", "REQUEST_METHOD=GET", "REQUEST_URI=/hello",
		"SCRIPT_NAME=", "PATH_INFO=/hello", "SERVER_PROTOCOL=HTTP/1.1", "HTTP_HOST=localhost"}
	ctx, cancel := context.WithCancel(context.Background()) // cancellable, as a server request's is
	defer cancel()
	b.ReportAllocs()
	for b.Loop() {
		resp, err := c.Do(ctx, params, nil)
		if err != nil {
			b.Fatal(err)
		}
		n, _ := io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.Status != 200 || n != int64(len("hello, world\n")) {
			b.Fatalf("Do = %d, %d bytes", resp.Status, n)
		}
	}
	if s := c.Pool.Stats(); s.Dials != 1 {
		b.Errorf("Stats().Dials = %d; want 1", s.Dials)
	}
}
