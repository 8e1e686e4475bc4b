package verify

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestCanonical(t *testing.T) {
	r := Response{
		Status: 405,
		Header: http.Header{
			"Server": {"Apache"}, "Date": {"x"}, "Connection": {"close"}, "Keep-Alive": {"timeout=5"},
			"Content-Type": {"text/plain; charset=utf-8"}, "Allow": {"GET, HEAD"}, "X-Two": {"a", "b"},
		},
		Body: []byte("method not allowed\n"),
	}
	got, head := Canonical(r)
	want := "status 405\r\nAllow: GET, HEAD\r\nContent-Type: text/plain; charset=utf-8\r\nX-Two: a\r\nX-Two: b\r\n\r\n"
	if string(got) != want+"method not allowed\n" || head != len(want) {
		t.Errorf("Canonical = %q, head %d; want %q, head %d", got, head, want+"method not allowed\n", len(want))
	}
}

// mangled serves h except where mangle handles the request itself.
func mangled(h http.Handler, mangle func(w http.ResponseWriter, r *http.Request) bool) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !mangle(w, r) {
			h.ServeHTTP(w, r)
		}
	})
}

// TestCompareDeployments: the app against itself passes, whatever the
// fronts put in Server, Date and Connection; any other difference fails,
// naming the request and the first differing byte with its context.
func TestCompareDeployments(t *testing.T) {
	h, ref := appAndRef(t)
	tests := []struct {
		name   string
		mangle func(w http.ResponseWriter, r *http.Request) bool
		want   []string // substrings of the error; none: must pass
	}{
		{"identical", func(http.ResponseWriter, *http.Request) bool { return false }, nil},
		{"server, date and connection ignored", func(w http.ResponseWriter, r *http.Request) bool {
			w.Header().Set("Connection", "close")
			h.ServeHTTP(headerOverride{w, map[string]string{"Server": "Apache/2.4", "Date": "Thu, 01 Jan 1970 00:00:00 GMT"}}, r)
			return true
		}, nil},
		{"body byte", func(w http.ResponseWriter, r *http.Request) bool {
			if r.URL.Path != "/json" {
				return false
			}
			w.Header().Set("Content-Type", "application/json")
			w.Write([]byte(`{"message":"Hello, World?"}`))
			return true
		}, []string{`GET /json (case "json")`, "body byte 24", `ref has 0x21 "!"`, `other has 0x3f "?"`,
			`"Hello, World" »"!\"}"`, `"Hello, World" »"?\"}"`}},
		{"short body", func(w http.ResponseWriter, r *http.Request) bool {
			if r.URL.Path != "/plaintext" || r.Method != "GET" {
				return false
			}
			w.Header().Set("Content-Type", "text/plain")
			w.Header().Set("Content-Length", "13")
			w.Write([]byte("Hello, World!"[:12]))
			return true
		}, []string{"GET /plaintext", "unexpected EOF"}},
		{"extra header", func(w http.ResponseWriter, r *http.Request) bool {
			if r.URL.Path == "/fortunes" {
				w.Header().Set("X-Powered-By", "PHP")
			}
			return false
		}, []string{"GET /fortunes", "in the status line and headers", `X-Powered-By: PHP`}},
		{"status", func(w http.ResponseWriter, r *http.Request) bool {
			if r.URL.Path != "/nope" {
				return false
			}
			w.Header().Set("Content-Type", "text/plain; charset=utf-8")
			w.WriteHeader(http.StatusGone)
			w.Write([]byte("not found\n"))
			return true
		}, []string{"GET /nope", "byte 8 of the response", `ref has 0x30 "0"`, `other has 0x31 "1"`}},
		{"varying case checked against the spec", func(w http.ResponseWriter, r *http.Request) bool {
			if r.URL.Path != "/db" || r.URL.RawQuery != "" {
				return false
			}
			w.Header().Set("Content-Type", "application/json")
			w.Write([]byte(`{"id":1,"randomNumber":1}`))
			return true
		}, []string{"other: GET /db", "not in the world table"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			other := httptest.NewServer(mangled(h, tt.mangle))
			defer other.Close()
			err := CompareDeployments(context.Background(), ref.Client(), Deployment{Name: "ref", URL: ref.URL}, Deployment{Name: "other", URL: other.URL})
			checkErr(t, "CompareDeployments", err, tt.want)
			if tt.want != nil && tt.name != "short body" && !errors.Is(err, ErrMismatch) {
				t.Errorf("error %v does not wrap ErrMismatch", err)
			}
		})
	}
}

// headerOverride replaces header values just before the response head is
// written, as a front would.
type headerOverride struct {
	http.ResponseWriter
	set map[string]string
}

func (o headerOverride) WriteHeader(code int) {
	for k, v := range o.set {
		o.Header().Set(k, v)
	}
	o.ResponseWriter.WriteHeader(code)
}

func (o headerOverride) Write(b []byte) (int, error) { return o.ResponseWriter.Write(b) }

// TestCompareResponsesEnd: a response that is a prefix of the other is
// reported at the shorter one's end.
func TestCompareResponsesEnd(t *testing.T) {
	cases := []Case{{Name: "x", Method: "GET", Path: "/x", Status: 200, ContentType: "text/plain"}}
	hdr := http.Header{"Content-Type": {"text/plain"}}
	a := []Response{{Status: 200, Header: hdr, Body: []byte("abc")}}
	b := []Response{{Status: 200, Header: hdr, Body: []byte("abcd")}}
	err := CompareResponses(cases, "a", a, "b", b)
	if !errors.Is(err, ErrMismatch) || !strings.Contains(err.Error(), "(body byte 3): a has no byte (its response ends") ||
		!strings.Contains(err.Error(), `b has 0x64 "d"`) {
		t.Errorf("CompareResponses = %v; want the end of a's body at body byte 3", err)
	}
	if err := CompareResponses(cases, "a", a, "a2", a); err != nil {
		t.Errorf("CompareResponses(same) = %v", err)
	}
}
