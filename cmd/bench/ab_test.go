package main

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestAB builds HEAD twice over (plain, and with the 2 ms forkbench_slow
// tag: unmistakable on any machine) and runs a short `bench ab` on real
// builds: A/A must not regress (exit 0), A/slow must regress on fcgi
// (exit 1). The builds live in the checkout's out/ab/builds, so the second
// run and later test runs reuse them.
func TestAB(t *testing.T) {
	if testing.Short() {
		t.Skip("builds two revisions")
	}
	top, err := exec.Command("git", "rev-parse", "--show-toplevel").Output()
	if err != nil {
		t.Skipf("not a git checkout: %v", err)
	}
	cache := filepath.Join(strings.TrimSpace(string(top)), "out", "ab", "builds")
	// 300 ms windows swing by ±20% round to round on a busy machine, and
	// six pairs of one sign reach p = 0.031: the threshold is set far
	// above that and far below the slow build's 2 ms a request (over
	// 10× the FastCGI target's whole cost).
	short := []string{"--targets", "fcgi", "--endpoints", "plaintext", "--model", "closed",
		"--duration", "300ms", "--warmup", "100ms", "--rounds", "6", "--cache", cache, "--format", "json",
		"--threshold", "50%"}
	tests := []struct {
		name string
		args []string
		code int
		want string // in the JSON report
	}{
		{"A/A", []string{"HEAD", "HEAD"}, 0, `"paired": true`},
		{"A/slow", []string{"HEAD", "HEAD", "--new-tags", "forkbench_slow"}, 1, `"status": "regressed"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
			defer cancel()
			out := t.TempDir()
			cmd := bench(t, ctx, append(append([]string{"ab"}, tt.args...), append(short, "--out", out)...)...)
			var stdout, stderr bytes.Buffer
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			if code := exitStatus(t, cmd.Run()); code != tt.code {
				t.Fatalf("exit %d, want %d\nstdout:\n%s\nstderr:\n%s", code, tt.code, stdout.String(), stderr.String())
			}
			if !strings.Contains(stdout.String(), tt.want) || !strings.Contains(stdout.String(), `"target": "fcgi"`) {
				t.Errorf("report lacks %s for fcgi:\n%s", tt.want, stdout.String())
			}
			for _, f := range []string{"results.json", "builds.json", "ab.md", "ab.json"} {
				if st, err := os.Stat(filepath.Join(out, f)); err != nil || st.Size() == 0 {
					t.Errorf("%s not written: %v", f, err)
				}
			}
		})
	}
}
