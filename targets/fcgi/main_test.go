package fcgi

// This file makes the test binary double as a FastCGI daemon, as
// net/http/cgi's tests make theirs a CGI child: with
// FORKBENCH_FCGI_TEST_DAEMON set, TestMain serves testHandler with the
// standard library's FastCGI server instead of running tests.

import (
	"fmt"
	"io"
	"net"
	"net/http"
	stdfcgi "net/http/fcgi"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"forkbench/app"
)

const (
	envDaemon     = "FORKBENCH_FCGI_TEST_DAEMON"      // "unix:PATH" or "tcp:HOST:PORT" to serve on
	envDaemonExit = "FORKBENCH_FCGI_TEST_DAEMON_EXIT" // exit at once with this status
)

func TestMain(m *testing.M) {
	if code := os.Getenv(envDaemonExit); code != "" {
		n, _ := strconv.Atoi(code)
		os.Exit(n)
	}
	if addr := os.Getenv(envDaemon); addr != "" {
		os.Exit(runTestDaemon(addr))
	}
	os.Exit(m.Run())
}

func runTestDaemon(addr string) int {
	network, address, ok := strings.Cut(addr, ":")
	if !ok {
		fmt.Fprintf(os.Stderr, "test daemon: bad address %q\n", addr)
		return 2
	}
	ln, err := net.Listen(network, address)
	if err != nil {
		fmt.Fprintf(os.Stderr, "test daemon: %v\n", err)
		return 1
	}
	fmt.Printf("listening on %s\n", addr)
	err = stdfcgi.Serve(ln, recoverHandler(testHandler()))
	fmt.Fprintf(os.Stderr, "test daemon: %v\n", err)
	return 1
}

// recoverHandler is the sample app's own panic recovery (app.Recover),
// which cmd/sampleapp wraps around its handler: net/http/fcgi does not
// recover, so a panicking handler would otherwise take the daemon down.
func recoverHandler(h http.Handler) http.Handler { return app.Recover(h, nil) }

// bigBody is the deterministic 1 MiB body of /big.
var bigBody = func() []byte {
	b := make([]byte, 1<<20)
	for i := range b {
		b[i] = byte('a' + i%26)
	}
	return b
}()

// testHandler is the application the tests deploy, in-process behind
// fcgi.Serve or in the test binary run as a daemon.
func testHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/hello", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		io.WriteString(w, "hello, world\n")
	})
	mux.HandleFunc("/echo", func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		w.Header().Set("Content-Type", "application/octet-stream")
		w.Header().Set("X-Method", r.Method)
		w.Header().Set("X-Query", r.URL.RawQuery)
		w.Header().Set("X-Echo-Test", r.Header.Get("X-Test"))
		w.Header().Set("X-Content-Length", strconv.FormatInt(r.ContentLength, 10))
		w.Write(body)
	})
	mux.HandleFunc("/pid", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, os.Getpid())
	})
	mux.HandleFunc("/panic", func(w http.ResponseWriter, r *http.Request) {
		panic("test handler panics on purpose")
	})
	mux.HandleFunc("/hang", func(w http.ResponseWriter, r *http.Request) {
		// Says so on stdout, for a test to kill the daemon mid-request.
		fmt.Println("entered /hang")
		select {}
	})
	mux.HandleFunc("/hanghead", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		io.WriteString(w, "partial")
		w.(http.Flusher).Flush()
		fmt.Println("entered /hanghead")
		select {}
	})
	mux.HandleFunc("/slow", func(w http.ResponseWriter, r *http.Request) {
		d, _ := time.ParseDuration(r.URL.Query().Get("d"))
		time.Sleep(d)
		io.WriteString(w, "slow\n")
	})
	mux.HandleFunc("/big", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/octet-stream")
		w.Write(bigBody)
	})
	mux.HandleFunc("/bigfirst", func(w http.ResponseWriter, r *http.Request) {
		// Answers 1 MiB before reading the body: a client that sent the
		// whole body before reading the reply would deadlock here.
		w.Header().Set("Content-Type", "application/octet-stream")
		w.Write(bigBody)
		n, _ := io.Copy(io.Discard, r.Body)
		fmt.Fprintf(w, "\n%d", n)
	})
	mux.HandleFunc("/status", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Custom", "yes")
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.WriteHeader(http.StatusNotFound)
		io.WriteString(w, "not here\n")
	})
	return mux
}

// countingListener counts accepted connections and can cut them all, as a
// daemon restart would.
type countingListener struct {
	net.Listener
	accepted atomic.Int64
	conns    chan net.Conn
}

func (l *countingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err == nil {
		l.accepted.Add(1)
		select {
		case l.conns <- c:
		default:
		}
	}
	return c, err
}

// closeConns closes every connection accepted so far (up to the channel's
// capacity).
func (l *countingListener) closeConns() {
	for {
		select {
		case c := <-l.conns:
			c.Close()
		default:
			return
		}
	}
}

// serveStd runs net/http/fcgi.Serve with testHandler on a fresh socket of
// the given network and returns the listener.
func serveStd(t testing.TB, network string) *countingListener {
	t.Helper()
	var addr string
	switch network {
	case "unix":
		addr = filepath.Join(t.TempDir(), "s")
	case "tcp":
		addr = "127.0.0.1:0"
	}
	ln, err := net.Listen(network, addr)
	if err != nil {
		t.Fatal(err)
	}
	cl := &countingListener{Listener: ln, conns: make(chan net.Conn, 1024)}
	go stdfcgi.Serve(cl, recoverHandler(testHandler()))
	t.Cleanup(func() { ln.Close() })
	return cl
}
