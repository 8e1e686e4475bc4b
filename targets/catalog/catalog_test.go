package catalog

import (
	"errors"
	"flag"
	"io"
	"reflect"
	"testing"
	"time"
)

// TestArgsRoundTrip: the flags `bench run` hands to its `bench serve`
// children parse back into the same options.
func TestArgsRoundTrip(t *testing.T) {
	in := Options{
		Listen: "127.0.0.1:0", AppBin: "/b/sampleapp", DataDir: "/d", CGIBin: "/x.cgi",
		CGITimeout: 5 * time.Second, CGIMaxChildren: 3, CGIQueueTimeout: -1,
		FCGIAddr: "unix:/s.sock", FCGIDaemon: "/b/d", FCGIExternal: true, FCGIMaxConns: 9,
		FCGINoKeep: true, FCGITimeout: time.Second, FCGIParams: []string{"SCRIPT_FILENAME=/x.php", "A=b=c"},
		URL: "http://127.0.0.1:1",
	}
	var out Options
	fs := flag.NewFlagSet("t", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	out.Register(fs)
	if err := fs.Parse(in.Args()); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(in, out) {
		t.Errorf("parse(Args()) = %+v; want %+v", out, in)
	}
}

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
	if _, err := New("fcgi", Options{FCGIExternal: true}); err == nil {
		t.Error("New(fcgi) external without address succeeded")
	}
}
