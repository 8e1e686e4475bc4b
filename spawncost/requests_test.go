package spawncost

import (
	"context"
	"net/http"
	"strings"
	"testing"
)

// TestRequestFn checks the request timer: the request the handler sees,
// and the answers it refuses (a status other than 200, a body other than
// the reference).
func TestRequestFn(t *testing.T) {
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/ok":
			w.Header().Set("Content-Type", "text/plain")
			w.Write([]byte("hello " + r.Host + " " + r.RemoteAddr + " " + r.RequestURI))
		case "/empty":
		case "/teapot":
			w.WriteHeader(http.StatusTeapot)
			w.Write([]byte("no"))
		}
	})
	for _, tc := range []struct {
		path, want, err string
	}{
		{"/ok?x=1", "hello example.com 192.0.2.1:1234 /ok?x=1", ""},
		{"/empty", "", ""},
		{"/ok", "other", `body = "hello`},
		{"/teapot", "no", "= 418; want 200: no"},
	} {
		t.Run(tc.path, func(t *testing.T) {
			for _, clock := range []cpuClock{nil, childrenCPU} {
				s, err := onThread(requestFn("test", h, tc.path, []byte(tc.want), clock))(context.Background())
				if tc.err == "" && err != nil || tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)) {
					t.Errorf("GET %s: err = %v; want %q", tc.path, err, tc.err)
				}
				if s.wall <= 0 || s.user < 0 || s.sys < 0 {
					t.Errorf("GET %s: sample %+v; want a wall time and no negative CPU", tc.path, s)
				}
			}
		})
	}
}
