package main

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"forkbench/results"
)

type stuckConnKey struct{}

// stuckServer never answers a request on a connection numbered n with
// n%every == every-1 (every 1: none answered), until the test ends.
func stuckServer(t *testing.T, every int64) string {
	t.Helper()
	release := make(chan struct{})
	var conns atomic.Int64
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Context().Value(stuckConnKey{}).(int64)%every == every-1 {
			select {
			case <-release:
			case <-r.Context().Done():
			}
			return
		}
		fmt.Fprint(w, "ok")
	}))
	srv.Config.ConnContext = func(ctx context.Context, _ net.Conn) context.Context {
		return context.WithValue(ctx, stuckConnKey{}, conns.Add(1)-1)
	}
	srv.Start()
	t.Cleanup(srv.Close)
	t.Cleanup(func() { close(release) })
	return srv.URL
}

// TestRunCountsStuck: against a target that accepts and never answers,
// `bench run` counts the unanswered requests, writes its results and
// exits non-zero; against one where half the connections stall, the point
// reports them stuck and the report says so.
func TestRunCountsStuck(t *testing.T) {
	for _, tc := range []struct {
		name     string
		every    int64
		wantFail bool
	}{{"all-stuck", 1, true}, {"half-stuck", 2, false}} {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
			defer cancel()
			out := t.TempDir()
			cmd := bench(t, ctx, "run", "--url", stuckServer(t, tc.every), "--out", out, "--no-verify",
				"--model", "closed", "--connections", "4", "--duration", "400ms", "--warmup", "200ms",
				"--timeout", "2s", "--rounds", "1")
			var stdout, stderr bytes.Buffer
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			err := cmd.Run()
			if (err != nil) != tc.wantFail {
				t.Fatalf("bench run: err = %v, want failure %v\n%s", err, tc.wantFail, stderr.String())
			}
			if tc.wantFail && !strings.Contains(stderr.String(), "answered nothing") {
				t.Errorf("stderr does not say the target answered nothing:\n%s", stderr.String())
			}
			f, rerr := results.Read(filepath.Join(out, "results.json"))
			if rerr != nil {
				t.Fatal(rerr)
			}
			if len(f.Points) == 0 {
				t.Fatal("no points written")
			}
			for _, p := range f.Points {
				if p.Unfinished == 0 || p.Stuck == 0 || p.Unanswered() != tc.wantFail {
					t.Errorf("%s: unfinished %d, stuck %d, answered %d; want stuck counted, unanswered %v", p.Endpoint, p.Unfinished, p.Stuck, p.Answered, tc.wantFail)
				}
			}
			if !strings.Contains(stdout.String(), "connections stuck") {
				t.Errorf("the report does not say how many connections were stuck:\n%s", stdout.String())
			}
		})
	}
}
