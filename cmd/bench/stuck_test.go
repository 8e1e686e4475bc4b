package main

import (
	"bytes"
	"context"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"forkbench/internal/testbin"
	"forkbench/results"
)

// TestRunCountsStuck: against a target that accepts and never answers,
// `bench run` counts the unanswered requests, writes its results and
// exits non-zero; against one where half the connections stall, the point
// reports them stuck and the report says so.
func TestRunCountsStuck(t *testing.T) {
	for _, tc := range []struct {
		name     string
		every    int64
		wantFail bool
	}{{"all-stuck", 1, true}, {"half-stuck", 2, false}} {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
			defer cancel()
			out := t.TempDir()
			cmd := bench(t, ctx, "run", "--url", testbin.StuckServer(t, tc.every).URL, "--out", out, "--no-verify",
				"--model", "closed", "--connections", "4", "--duration", "400ms", "--warmup", "200ms",
				"--timeout", "2s", "--rounds", "1")
			var stdout, stderr bytes.Buffer
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			err := cmd.Run()
			if (err != nil) != tc.wantFail {
				t.Fatalf("bench run: err = %v, want failure %v\n%s", err, tc.wantFail, stderr.String())
			}
			if tc.wantFail && !strings.Contains(stderr.String(), "answered nothing") {
				t.Errorf("stderr does not say the target answered nothing:\n%s", stderr.String())
			}
			f, rerr := results.Read(filepath.Join(out, "results.json"))
			if rerr != nil {
				t.Fatal(rerr)
			}
			if len(f.Points) == 0 {
				t.Fatal("no points written")
			}
			for _, p := range f.Points {
				if p.Unfinished == 0 || p.Stuck == 0 || p.Unanswered() != tc.wantFail {
					t.Errorf("%s: unfinished %d, stuck %d, answered %d; want stuck counted, unanswered %v", p.Endpoint, p.Unfinished, p.Stuck, p.Answered, tc.wantFail)
				}
			}
			if !regexp.MustCompile(`\d+ connections? stuck: of up to \d+ requests unanswered`).MatchString(stdout.String()) {
				t.Errorf("the report does not say how many connections were stuck:\n%s", stdout.String())
			}
		})
	}
}
