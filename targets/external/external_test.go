package external

import (
	"strings"
	"testing"
)

func TestRemoteNeedsAllow(t *testing.T) {
	tests := []struct {
		url        string
		local, any bool // accepted by New, by NewAllowRemote
		wantErr    string
	}{
		{"http://127.0.0.1:8080", true, true, ""},
		{"http://127.0.0.2:8080", true, true, ""},
		{"http://localhost:8080", true, true, ""},
		{"http://[::1]:8080", true, true, ""},
		{"http://192.0.2.1:8080", false, true, `"192.0.2.1" is not a loopback address; forkbench sends load to another machine only with --allow-remote`},
		{"http://example.com", false, true, "--allow-remote"},
		{"ftp://127.0.0.1", false, false, "want http://HOST:PORT"},
	}
	for _, tt := range tests {
		_, err := New("x", tt.url)
		if (err == nil) != tt.local || (err != nil && !strings.Contains(err.Error(), tt.wantErr)) {
			t.Errorf("New(%q) = %v; want ok=%v, error containing %q", tt.url, err, tt.local, tt.wantErr)
		}
		if err != nil && strings.Contains(err.Error(), "\n") {
			t.Errorf("New(%q): error spans lines: %q", tt.url, err)
		}
		if _, err := NewAllowRemote("x", tt.url); (err == nil) != tt.any {
			t.Errorf("NewAllowRemote(%q) = %v; want ok=%v", tt.url, err, tt.any)
		}
	}
}
