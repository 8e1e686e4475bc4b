package fcgi

import (
	"bufio"
	"context"
	"errors"
	"io"
	"log"
	"maps"
	"net"
	"net/http"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"forkbench/internal/testbin"
)

// TestDaemonDiesMidRequest kills the daemon while requests are in flight:
// one before its reply began gets 502, one whose reply began is cut off;
// neither hangs, and the supervisor brings the daemon back each time.
func TestDaemonDiesMidRequest(t *testing.T) {
	pr, pw := io.Pipe()
	lines := make(chan string, 16)
	go func() {
		sc := bufio.NewScanner(pr)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	waitLine := func(want string) {
		t.Helper()
		for l := range lines {
			if l == want {
				return
			}
		}
		t.Fatalf("daemon output ended before %q", want)
	}
	cfg := Config{Daemon: testDaemonConfig(), KeepConn: true, Timeout: 30 * time.Second}
	cfg.Daemon.Output = pw
	cfg.Daemon.MinBackoff = time.Millisecond
	cfg.ErrorLog = log.New(io.Discard, "", 0)
	tg := New(cfg)
	ready := make(chan struct{}, 4)
	tg.testHookDaemon = func(d *Daemon) { d.testHookReady = func() { ready <- struct{}{} } }
	if err := tg.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		tg.Stop(context.Background())
		pw.Close()
	})

	kill := func() {
		t.Helper()
		if err := syscall.Kill(tg.Daemon().PID(), syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
	}

	// A client that never retries: Go's transport would send the GET
	// again on its own after a connection it reused broke.
	hc := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}

	// Before the reply: 502, not a hang until the 30 s timeout (504).
	type result struct {
		code int
		body string
		err  error
	}
	done := make(chan result, 1)
	// getAsync sends GET path in the background and delivers its result
	// on done, so the test can kill the daemon while it is in flight.
	getAsync := func(path string) {
		go func() {
			resp, err := hc.Get(tg.URL() + path)
			if err != nil {
				done <- result{err: err}
				return
			}
			b, err := io.ReadAll(resp.Body)
			resp.Body.Close()
			done <- result{resp.StatusCode, string(b), err}
		}()
	}
	getAsync("/hang")
	waitLine("entered /hang")
	kill()
	if r := <-done; r.code != 502 || r.body != "Bad Gateway\n" || r.err != nil {
		t.Errorf("GET /hang, daemon killed = %d %q %v; want 502 \"Bad Gateway\\n\"", r.code, r.body, r.err)
	}
	<-ready

	// After the head: the client must not see a complete response.
	// (The head may still sit in the front's buffer, unsent, or have
	// reached the client; either way the response breaks off.)
	getAsync("/hanghead")
	waitLine("entered /hanghead")
	kill()
	if r := <-done; r.err == nil {
		t.Errorf("GET /hanghead, daemon killed = %d %q, complete; want a broken response", r.code, r.body)
	}
	<-ready

	code, body := getURL(t, tg.URL()+"/pid")
	if pid := tg.Daemon().PID(); code != 200 || body != strconv.Itoa(pid) {
		t.Errorf("GET /pid after two restarts = %d %q; want 200 %d", code, body, pid)
	}
	if n := tg.Daemon().Restarts(); n != 2 {
		t.Errorf("Restarts() = %d; want 2", n)
	}
}

// mgmtDaemon answers the first record on each connection with reply (nil:
// never answers, holds the connection until the client closes it).
func mgmtDaemon(t *testing.T, reply []byte) *Pool {
	t.Helper()
	addr := serveUnix(t, "m", func(c net.Conn, _ int) {
		if _, _, err := readRecord(c, make([]byte, maxRecord)); err != nil {
			return
		}
		if reply == nil {
			io.Copy(io.Discard, c)
			return
		}
		c.Write(reply)
	})
	return &Pool{Network: "unix", Address: addr}
}

func TestGetValues(t *testing.T) {
	asked := []string{ValueMaxConns, ValueMaxReqs, ValueMpxsConns}
	php := appendRecords(nil, typeGetValuesResult, 0, appendPair(nil, ValueMpxsConns, "0"))
	declares := appendRecords(nil, typeGetValuesResult, 0,
		appendPair(appendPair(appendPair(nil, ValueMaxConns, "4"), ValueMaxReqs, "4"), ValueMpxsConns, "0"))
	tests := []struct {
		desc    string
		pool    func(t *testing.T) *Pool
		want    map[string]string
		wantErr error
	}{
		{"net/http/fcgi", func(t *testing.T) *Pool {
			ln := serveStd(t, "unix")
			return &Pool{Network: "unix", Address: ln.Addr().String()}
		}, map[string]string{ValueMpxsConns: "1"}, nil},
		{"PHP-FPM's answer", func(t *testing.T) *Pool { return mgmtDaemon(t, php) }, map[string]string{ValueMpxsConns: "0"}, nil},
		{"declares its limits", func(t *testing.T) *Pool { return mgmtDaemon(t, declares) },
			map[string]string{ValueMaxConns: "4", ValueMaxReqs: "4", ValueMpxsConns: "0"}, nil},
		{"unknown type", func(t *testing.T) *Pool {
			return mgmtDaemon(t, appendRecords(nil, typeUnknownType, 0, []byte{byte(typeGetValues), 0, 0, 0, 0, 0, 0, 0}))
		}, nil, ErrNoValues},
		{"wrong record", func(t *testing.T) *Pool { return mgmtDaemon(t, stdoutRec("x")) }, nil, ErrUnexpectedRecord},
		{"bad pairs", func(t *testing.T) *Pool {
			return mgmtDaemon(t, appendRecords(nil, typeGetValuesResult, 0, []byte{5, 0, 'a'}))
		}, nil, ErrMalformedRecord},
		{"closes", func(t *testing.T) *Pool { return mgmtDaemon(t, []byte{}) }, nil, io.EOF},
		{"silent", func(t *testing.T) *Pool { return mgmtDaemon(t, nil) }, nil, context.DeadlineExceeded},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			p := tt.pool(t)
			ctx, cancel := context.WithTimeout(t.Context(), 200*time.Millisecond)
			if tt.wantErr == nil {
				ctx, cancel = context.WithTimeout(t.Context(), 30*time.Second)
			}
			defer cancel()
			got, err := p.GetValues(ctx, asked...)
			if !maps.Equal(got, tt.want) || (tt.wantErr == nil) != (err == nil) || (tt.wantErr != nil && !errors.Is(err, tt.wantErr)) {
				t.Errorf("GetValues = %v, %v; want %v, %v", got, err, tt.want, tt.wantErr)
			}
			if s := p.Stats(); s.Open != 0 || s.Dials != 0 {
				t.Errorf("pool after GetValues: %+v; want the probe outside the accounting", s)
			}
		})
	}
}

func TestPlanPool(t *testing.T) {
	mpx := map[string]string{ValueMpxsConns: "1"}
	php := map[string]string{ValueMpxsConns: "0"}
	four := map[string]string{ValueMaxConns: "4", ValueMpxsConns: "0"}
	reqs := map[string]string{ValueMaxConns: "8", ValueMaxReqs: "3", ValueMpxsConns: "0"}
	tests := []struct {
		desc     string
		cfg      Config
		vals     map[string]string
		probeErr error
		maxOpen  int
		keep     bool
		why      string // a substring of the reason
	}{
		{"configured wins", Config{KeepConn: true, MaxConns: 8}, four, nil, 8, true, "declares only 4"},
		{"configured, no keep", Config{MaxConns: 2}, nil, nil, 2, false, "as configured"},
		{"declared", Config{KeepConn: true}, four, nil, 4, true, "as the daemon declares"},
		{"declared, no keep", Config{}, four, nil, 4, false, "as the daemon declares"},
		{"fewer requests than conns", Config{KeepConn: true}, reqs, nil, 3, true, "3 connections"},
		{"multiplexing daemon", Config{KeepConn: true}, mpx, nil, DefaultMaxOpen, true, "FCGI_MPXS_CONNS=1"},
		{"PHP-FPM", Config{KeepConn: true}, php, nil, DefaultMaxOpen, false, "not keeping connections"},
		{"no answer", Config{KeepConn: true}, nil, ErrNoValues, DefaultMaxOpen, false, "FCGI_GET_VALUES failed"},
		{"bad numbers", Config{KeepConn: true}, map[string]string{ValueMaxConns: "-1"}, nil, DefaultMaxOpen, false, "declares no FCGI_MAX_CONNS"},
		{"keep off", Config{}, mpx, nil, DefaultMaxOpen, false, "off as configured"},
	}
	for _, tt := range tests {
		p := planPool(tt.cfg, tt.vals, tt.probeErr)
		if p.maxOpen != tt.maxOpen || p.keep != tt.keep || !strings.Contains(p.why, tt.why) {
			t.Errorf("%s: planPool = %+v; want %d connections, keep %v, reason with %q", tt.desc, p, tt.maxOpen, tt.keep, tt.why)
		}
	}
}

// TestTargetPlansPool: the stdlib daemon multiplexes, so the target keeps
// connections; its decision is logged.
func TestTargetPlansPool(t *testing.T) {
	ln := serveStd(t, "unix")
	lb := &testbin.SyncBuffer{}
	tg := startTarget(t, Config{
		Daemon:   DaemonConfig{Network: "unix", Address: ln.Addr().String()},
		KeepConn: true,
		ErrorLog: log.New(lb, "", 0),
	})
	if !tg.KeepConn() || tg.MaxConns() != DefaultMaxOpen {
		t.Errorf("KeepConn, MaxConns = %v, %d; want true, %d", tg.KeepConn(), tg.MaxConns(), DefaultMaxOpen)
	}
	if !strings.Contains(lb.String(), "FCGI_MPXS_CONNS=1") {
		t.Errorf("log %q; want the pool decision", lb.String())
	}
	bad := New(Config{Daemon: DaemonConfig{Network: "unix", Address: ln.Addr().String()}, Params: []string{"NOEQUALS"}})
	if err := bad.Start(t.Context()); err == nil {
		bad.Stop(context.Background())
		t.Errorf("Start with a malformed parameter succeeded")
	}
}
