package main

import (
	"context"
	"encoding/json"
	"os"
	"strings"
	"testing"
	"time"
)

// TestForkBadInput checks that `bench fork` refuses an unknown flag and a
// stray argument with exit status 1 and a message, measuring nothing.
func TestForkBadInput(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"fork", "--no-such-flag"}, "flag provided but not defined"},
		{[]string{"fork", "extra"}, `unexpected argument "extra"`},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			out, err := bench(t, ctx, tc.args...).CombinedOutput()
			if err == nil || !strings.Contains(string(out), tc.want) {
				t.Errorf("bench %v = %v, %q; want an error saying %q", tc.args, err, out, tc.want)
			}
		})
	}
}

// TestForkProbe runs `bench fork` as the parent-size probe child the way
// spawncost.Measure re-executes it, and checks its report: the samples
// asked for, one per spawn of the given program, and the heap held.
func TestForkProbe(t *testing.T) {
	if _, err := os.Stat("/bin/true"); err != nil {
		t.Skip("no /bin/true")
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	out, err := bench(t, ctx, "fork", "--probe-heap", "1048576", "--probe-exe", "/bin/true", "--probe-reps", "3", "--probe-warmup", "1").Output()
	if err != nil {
		t.Fatalf("probe: %v", err)
	}
	var rep struct {
		HeapBytes int64 `json:"heap_bytes"`
		RSSBytes  int64 `json:"rss_bytes"`
		Samples   []struct {
			WallNs int64 `json:"wall_ns"`
		} `json:"samples"`
	}
	if err := json.Unmarshal(out, &rep); err != nil {
		t.Fatalf("probe output %q: %v", out, err)
	}
	if rep.HeapBytes != 1<<20 || rep.RSSBytes < 1<<20 || len(rep.Samples) != 3 {
		t.Errorf("probe report = %+v; want heap 1 MiB resident and 3 samples", rep)
	}
	for _, s := range rep.Samples {
		if s.WallNs <= 0 {
			t.Errorf("sample wall %d ns; want > 0", s.WallNs)
		}
	}
}
