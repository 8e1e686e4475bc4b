package verify

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"forkbench/app"
)

// checkErr checks the error call returned: nil wants none, any other
// want an error whose text holds every string in it.
func checkErr(t *testing.T, call string, err error, want []string) {
	t.Helper()
	if want == nil {
		if err != nil {
			t.Fatalf("%s = %v; want nil", call, err)
		}
		return
	}
	if err == nil {
		t.Fatalf("%s = nil; want an error with %q", call, want)
	}
	for _, s := range want {
		if !strings.Contains(err.Error(), s) {
			t.Errorf("error lacks %q:\n%v", s, err)
		}
	}
}

// appAndRef starts the Go app over a fresh database and serves it as the
// reference deployment the tests compare others with; both are closed
// when the test ends.
func appAndRef(t *testing.T) (http.Handler, *httptest.Server) {
	t.Helper()
	h := goApp(t, seededDB(t))
	ref := httptest.NewServer(h)
	t.Cleanup(ref.Close)
	return h, ref
}

// TestAllAgainstTheApp: the app itself passes its own specification, twice
// over (two deployments of one handler answer identically).
func TestAllAgainstTheApp(t *testing.T) {
	h := goApp(t, seededDB(t))
	a, b := httptest.NewServer(h), httptest.NewServer(h)
	defer a.Close()
	defer b.Close()
	if err := All(context.Background(), a.Client(), []Deployment{{Name: "a", URL: a.URL}, {Name: "b", URL: b.URL}}); err != nil {
		t.Fatal(err)
	}
}

// TestAllNamesTheDifference breaks one response of the second deployment
// in several ways; verification must fail naming the request.
func TestAllNamesTheDifference(t *testing.T) {
	h, ref := appAndRef(t)
	cases := []struct {
		name   string
		mangle func(w http.ResponseWriter, r *http.Request) bool // true: handled
		want   string
	}{
		{"body", func(w http.ResponseWriter, r *http.Request) bool {
			if r.URL.Path != "/json" {
				return false
			}
			w.Header().Set("Content-Type", "application/json")
			w.Header().Set("Server", "forkbench")
			w.Write([]byte(`{"message":"Hello, World?"}`))
			return true
		}, "GET /json"},
		{"status", func(w http.ResponseWriter, r *http.Request) bool {
			if r.URL.Path != "/fortunes" {
				return false
			}
			w.Header().Set("Server", "forkbench")
			http.Error(w, "boom", http.StatusBadGateway)
			return true
		}, "GET /fortunes: status 502"},
		{"server header", func(w http.ResponseWriter, r *http.Request) bool {
			if r.URL.Path != "/plaintext" || r.Method != "GET" {
				return false
			}
			w.Header().Set("Content-Type", "text/plain")
			w.Write([]byte(app.HelloWorld))
			return true
		}, `GET /plaintext: Server ""`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			bad := httptest.NewServer(mangled(h, c.mangle))
			defer bad.Close()
			err := All(context.Background(), ref.Client(), []Deployment{{Name: "ref", URL: ref.URL}, {Name: "bad", URL: bad.URL}})
			if !errors.Is(err, ErrMismatch) || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("All = %v; want a mismatch naming %q", err, c.want)
			}
		})
	}
}

func TestCompareIgnoresDateAndVaryingCases(t *testing.T) {
	cases := []Case{{Name: "x", Method: "GET", Path: "/x"}, {Name: "r", Method: "GET", Path: "/r", Varies: true}}
	a := []Response{{Status: 200, Header: http.Header{"Date": {"Mon, 01 Jan 2026 00:00:00 GMT"}}, Body: []byte("same")}, {Status: 200, Body: []byte("1")}}
	b := []Response{{Status: 200, Header: http.Header{"Date": {"Tue, 02 Jan 2026 00:00:00 GMT"}}, Body: []byte("same")}, {Status: 200, Body: []byte("2")}}
	if err := Compare(cases, "a", a, "b", b); err != nil {
		t.Errorf("Compare = %v; want nil (Date and varying cases ignored)", err)
	}
	b[0].Body = []byte("sane")
	if err := Compare(cases, "a", a, "b", b); err == nil || !strings.Contains(err.Error(), "body differs at byte 2") {
		t.Errorf("Compare = %v; want a body difference at byte 2", err)
	}
}

// TestAllIdentical: a deployment marked Identical (a real front) may stamp
// its own Server header but must answer byte for byte as the reference;
// a difference fails naming the byte, and without a reference All refuses.
func TestAllIdentical(t *testing.T) {
	h, ref := appAndRef(t)
	front := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.ServeHTTP(headerOverride{w, map[string]string{"Server": "Apache/2.4.62 (Debian)"}}, r)
	}))
	defer front.Close()
	bad := httptest.NewServer(mangled(h, func(w http.ResponseWriter, r *http.Request) bool {
		if r.URL.Path != "/plaintext" || r.Method != "GET" {
			return false
		}
		w.Header().Set("Content-Type", "text/plain")
		w.Header().Set("Server", "nginx")
		w.Write([]byte("Hello, world!"))
		return true
	}))
	defer bad.Close()
	ctx := context.Background()
	tests := []struct {
		name string
		ds   []Deployment
		want []string // substrings of the error; none: must pass
	}{
		{"front passes", []Deployment{{Name: "apache-fcgi", URL: front.URL, Identical: true}, {Name: "embedded", URL: ref.URL}}, nil},
		{"strict check still applies to the Go front", []Deployment{{Name: "embedded", URL: ref.URL}, {Name: "fcgi", URL: front.URL}},
			[]string{"fcgi: verify: mismatch", `Server "Apache/2.4.62 (Debian)"`}},
		{"difference names the byte", []Deployment{{Name: "embedded", URL: ref.URL}, {Name: "nginx-fcgi", URL: bad.URL, Identical: true}},
			[]string{"nginx-fcgi: verify: mismatch: GET /plaintext", "body byte 7", `embedded has 0x57 "W"`, `nginx-fcgi has 0x77 "w"`}},
		{"no reference", []Deployment{{Name: "apache-fcgi", URL: front.URL, Identical: true}}, []string{"no reference deployment"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checkErr(t, "All", All(ctx, ref.Client(), tt.ds), tt.want)
		})
	}
}
