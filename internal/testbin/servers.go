package testbin

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
)

// stuckConnKey keys a request's connection number in its context.
type stuckConnKey struct{}

// StuckServer is a target that leaves some requests unanswered, for tests
// of how stuck and unfinished requests are counted: it answers "ok",
// except on connections numbered n (from 0, in the order accepted) with
// n%every == every-1, where it answers nothing until the test ends (every
// 1: none answered; 2: every second connection). Its handlers are
// released before it is closed.
func StuckServer(t testing.TB, every int64) *httptest.Server {
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
	t.Cleanup(func() { close(release) }) // runs first: unblock handlers before Close
	return srv
}
