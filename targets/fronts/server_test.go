package fronts

import (
	"os"
	"strings"
	"testing"
)

// TestWriteTemplates renders each server's configuration from its
// embedded template, without the server installed.
func TestWriteTemplates(t *testing.T) {
	tests := []struct {
		name string
		data any
		want string
	}{
		{"apache.conf", apacheData{Port: 8081, Handler: "cgi"}, "Listen 127.0.0.1:8081"},
		{"nginx.conf", nginxData{Port: 8082, Pass: "proxy", Upstream: "127.0.0.1:9"}, "listen 127.0.0.1:8082;"},
		{"uwsgi.ini", uwsgiData{SocketOption: "uwsgi-socket", Socket: "/x.sock"}, "uwsgi-socket = /x.sock"},
		{"lighttpd.conf", lighttpdData{Port: 8083, Program: "/s/app", DB: "/s/w.db"}, `alias.url = ( "/forkbench-app" => "/s/app" )`},
		{"lighttpd.conf", lighttpdData{Port: 8084, Socket: "/s/app.sock"}, `"socket" => "/s/app.sock",`},
	}
	s := &Server{dir: t.TempDir()}
	for _, tt := range tests {
		p, err := s.write(tt.name, tt.data)
		if err != nil {
			t.Errorf("write(%q) error: %v", tt.name, err)
			continue
		}
		if b, err := os.ReadFile(p); err != nil || !strings.Contains(string(b), tt.want) {
			t.Errorf("write(%q) wrote %q, %v; want it to hold %q", tt.name, b, err, tt.want)
		}
	}
	if _, err := s.write("missing.conf", nil); err == nil {
		t.Error("write(\"missing.conf\") = nil error; want no template found")
	}
}
