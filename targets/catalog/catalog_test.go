package catalog

import (
	"errors"
	"testing"

	"forkbench/results"
)

func TestParseAddr(t *testing.T) {
	cases := []struct{ in, network, addr string }{
		{"", "unix", ""},
		{"unix:/run/x.sock", "unix", "/run/x.sock"},
		{"tcp:127.0.0.1:9000", "tcp", "127.0.0.1:9000"},
		{"127.0.0.1:9000", "tcp", "127.0.0.1:9000"},
	}
	for _, c := range cases {
		n, a, err := parseAddr(c.in)
		if err != nil || n != c.network || a != c.addr {
			t.Errorf("parseAddr(%q) = %q, %q, %v; want %q, %q", c.in, n, a, err, c.network, c.addr)
		}
	}
	if _, _, err := parseAddr("nonsense"); err == nil {
		t.Error("parseAddr(nonsense) succeeded")
	}
}

func TestNewErrors(t *testing.T) {
	if _, err := New("nope", Options{}); !errors.Is(err, ErrUnknownKind) {
		t.Errorf("New(nope) = %v; want ErrUnknownKind", err)
	}
	if _, err := New("external", Options{}); err == nil {
		t.Error("New(external) without --url succeeded")
	}
	if _, err := New("fcgi", Options{TargetOptions: results.TargetOptions{FCGIExternal: true}}); err == nil {
		t.Error("New(fcgi) external without address succeeded")
	}
}

func TestKinds(t *testing.T) {
	if got := Kinds(); len(got) != 3 || got[0] != "embedded" || got[1] != "fcgi" || got[2] != "cgi" {
		t.Errorf("Kinds() = %v; want [embedded fcgi cgi]", got)
	}
	if k, err := Lookup("external"); err != nil || k.SampleApp {
		t.Errorf("Lookup(external) = %+v, %v; want a kind that is not the sample app", k, err)
	}
}
