package app

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
)

func TestRecover(t *testing.T) {
	var mu sync.Mutex
	var logged []string
	logf := func(format string, args ...any) {
		mu.Lock()
		defer mu.Unlock()
		logged = append(logged, fmt.Sprintf(format, args...))
	}
	h := Recover(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/panic":
			w.Header().Set("X-Partial", "1") // must not leak into the 500
			panic("boom")
		case "/late":
			w.WriteHeader(http.StatusAccepted)
			panic("after the header")
		case "/abort":
			panic(http.ErrAbortHandler)
		}
		fmt.Fprint(w, "ok")
	}), logf)

	w := serve(h, httptest.NewRequest("GET", "/panic", nil))
	if w.Code != 500 || w.Body.String() != "internal server error\n" {
		t.Errorf("/panic = %d %q; want 500", w.Code, w.Body)
	}
	if w.Header().Get("Server") != ServerName || w.Header().Get("Date") == "" || w.Header().Get("Content-Length") != "22" {
		t.Errorf("/panic headers = %v", w.Header())
	}
	if w.Header().Get("X-Partial") != "" {
		t.Errorf("/panic kept the handler's partial headers: %v", w.Header())
	}

	if w := serve(h, httptest.NewRequest("GET", "/ok", nil)); w.Code != 200 || w.Body.String() != "ok" {
		t.Errorf("request after a panic = %d %q; want 200 ok", w.Code, w.Body)
	}

	if w := serve(h, httptest.NewRequest("GET", "/late", nil)); w.Code != http.StatusAccepted || w.Body.Len() != 0 {
		t.Errorf("/late = %d %q; want the handler's own 202", w.Code, w.Body)
	}

	if w := serve(h, httptest.NewRequest("HEAD", "/panic", nil)); w.Code != 500 || w.Body.Len() != 0 {
		t.Errorf("HEAD /panic = %d %q; want 500 without body", w.Code, w.Body)
	}

	serve(h, httptest.NewRequest("GET", "/abort", nil))

	mu.Lock()
	defer mu.Unlock()
	if len(logged) != 3 || !strings.Contains(logged[0], "boom") || !strings.Contains(logged[1], "after the header") {
		t.Errorf("logged %q; want the three panics but not the abort", logged)
	}
}

func TestRecoverNilLogf(t *testing.T) {
	h := Recover(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { panic("x") }), nil)
	if w := serve(h, httptest.NewRequest("GET", "/", nil)); w.Code != 500 {
		t.Errorf("status = %d; want 500", w.Code)
	}
}

func TestRecoverFlushPassesThrough(t *testing.T) {
	h := Recover(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, "x")
		if err := http.NewResponseController(w).Flush(); err != nil {
			t.Errorf("Flush through Recover: %v", err)
		}
	}), t.Logf)
	if w := serve(h, httptest.NewRequest("GET", "/", nil)); !w.Flushed {
		t.Errorf("the recorder was not flushed")
	}
}
