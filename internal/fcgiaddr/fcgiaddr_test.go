package fcgiaddr

import "testing"

func TestParse(t *testing.T) {
	for _, tc := range []struct {
		in, network, address string
		ok                   bool
	}{
		{"unix:/run/x.sock", "unix", "/run/x.sock", true},
		{"unix:@abstract", "unix", "@abstract", true},
		{"tcp:127.0.0.1:9000", "tcp", "127.0.0.1:9000", true},
		{"127.0.0.1:9000", "tcp", "127.0.0.1:9000", true},
		{"[::1]:0", "tcp", "[::1]:0", true},
		{"", "", "", false},
		{"unix:", "", "", false},
		{"tcp:", "", "", false},
		{"nonsense", "", "", false},
		{"tcp:127.0.0.1", "", "", false},
	} {
		n, a, err := Parse(tc.in)
		if (err == nil) != tc.ok || n != tc.network || a != tc.address {
			t.Errorf("Parse(%q) = %q, %q, %v; want %q, %q, ok %v", tc.in, n, a, err, tc.network, tc.address, tc.ok)
		}
		if tc.ok {
			if n2, a2, err := Parse(Format(n, a)); err != nil || n2 != n || a2 != a {
				t.Errorf("Parse(Format(%q, %q)) = %q, %q, %v; want them back", n, a, n2, a2, err)
			}
		}
	}
}
