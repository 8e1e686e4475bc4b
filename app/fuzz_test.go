package app

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"
)

// FuzzQueryValue checks queryValue against url.ParseQuery wherever the
// latter accepts the query.
func FuzzQueryValue(f *testing.F) {
	for _, s := range []string{"", "n=1", "n=1&n=2", "a=1&n", "%6e=3", "n=%2B7", "n=+7", "n=%zz", "&&n=", "n%=1&n=2"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		want, err := url.ParseQuery(raw)
		got, ok, gerr := queryValue(raw, "n")
		if err != nil {
			return // ParseQuery refuses; queryValue may still read a valid pair
		}
		if gerr != nil || ok != want.Has("n") || got != want.Get("n") {
			t.Errorf("queryValue(%q, n) = %q, %v, %v; ParseQuery gives %q, %v", raw, got, ok, gerr, want.Get("n"), want.Has("n"))
		}
	})
}

// FuzzServe sends arbitrary paths and queries through the handler: it must
// never panic and must answer with a known status and an exact
// Content-Length.
func FuzzServe(f *testing.F) {
	for _, s := range []string{"/db?id=1", "/queries?n=3&seed=9", "/work?n=2", "/bytes?n=7", "/sleep?ms=0", "/nope", "/db?id=%zz", "/queries?n=-1"} {
		f.Add("GET", s)
	}
	a := newTestApp(f, Config{MaxWork: 100, MaxSleep: 1, MaxBytes: 1000})
	f.Fuzz(func(t *testing.T, method, target string) {
		u, err := url.ParseRequestURI(target)
		if err != nil || method == "" || strings.ContainsAny(method, " \t\r\n") {
			return
		}
		r := httptest.NewRequest("GET", "/", nil)
		r.Method, r.URL, r.RequestURI = method, u, target
		w := httptest.NewRecorder()
		a.ServeHTTP(w, r)
		switch w.Code {
		case 200, 400, 404, 405, 413:
		default:
			t.Fatalf("%s %s = %d %q", method, target, w.Code, w.Body)
		}
		if method != http.MethodHead && w.Header().Get("Content-Length") != strconv.Itoa(w.Body.Len()) {
			t.Errorf("%s %s Content-Length = %s; body %d bytes", method, target, w.Header().Get("Content-Length"), w.Body.Len())
		}
	})
}
