package results

import "testing"

func TestSplitTarget(t *testing.T) {
	for _, tt := range []struct {
		in, kind, label string
		ok              bool
	}{{"fcgi@base", "fcgi", "base", true}, {"fcgi", "fcgi", "", false}, {"@x", "@x", "", false}, {"a@", "a@", "", false}} {
		k, l, ok := SplitTarget(tt.in)
		if k != tt.kind || l != tt.label || ok != tt.ok {
			t.Errorf("SplitTarget(%q) = %q %q %v", tt.in, k, l, ok)
		}
	}
}
