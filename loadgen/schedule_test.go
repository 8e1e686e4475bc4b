package loadgen

import (
	"math"
	"slices"
	"testing"
	"time"
)

// TestOpenScheduleSpread checks that uniform schedules interleave: the
// slots of every connection of every shard, merged, are exactly the
// combined schedule's, 1/Rate apart, and each connection's own sends are
// evenly spaced at Conns×ShardCount/Rate.
func TestOpenScheduleSpread(t *testing.T) {
	tests := []struct {
		rate          float64
		conns, shards int
	}{
		{1000, 1, 1},
		{1000, 4, 1},
		{30000, 32, 1},
		{900, 3, 2},
		{7, 5, 4},
		{2.5, 2, 0}, // ShardCount 0 means 1
	}
	for _, tc := range tests {
		var all []time.Duration
		shards := max(tc.shards, 1)
		for sh := range shards {
			s := OpenSchedule{Rate: tc.rate, Conns: tc.conns, ShardIndex: sh, ShardCount: tc.shards}
			if err := s.Validate(); err != nil {
				t.Fatal(err)
			}
			if got, want := s.ShardRate(), tc.rate/float64(shards); got != want {
				t.Errorf("%+v: ShardRate = %g; want %g", s, got, want)
			}
			for c := range tc.conns {
				cs := newConnSchedule(&s, c)
				prev := time.Duration(-1)
				for k := range 50 {
					if s.Conn(cs.slot) != c {
						t.Fatalf("%+v: slot %d of connection %d maps to connection %d", s, cs.slot, c, s.Conn(cs.slot))
					}
					if cs.due != s.Due(cs.slot) {
						t.Fatalf("%+v: due %v; Due(%d) = %v", s, cs.due, cs.slot, s.Due(cs.slot))
					}
					if k > 0 {
						gap := float64(cs.due - prev)
						want := float64(tc.conns*shards) * 1e9 / tc.rate
						if math.Abs(gap-want) > 1 {
							t.Fatalf("%+v: connection %d gap %v; want %v", s, c, time.Duration(gap), time.Duration(want))
						}
					}
					all = append(all, cs.due)
					prev = cs.due
					cs.advance()
				}
			}
		}
		slices.Sort(all)
		for g, d := range all {
			want := time.Duration(float64(g) * 1e9 / tc.rate)
			if d-want > 1 || want-d > 1 {
				t.Fatalf("rate %g, %d conns, %d shards: merged send %d at %v; want %v", tc.rate, tc.conns, tc.shards, g, d, want)
			}
		}
	}
}

// TestOpenSchedulePoisson checks the Poisson schedule's arrivals: the
// same seed gives the same schedule, another seed another, and the merged
// arrivals of all connections have the rate's mean gap and an
// exponential's spread (coefficient of variation 1). The seed is fixed,
// so the figures are too.
func TestOpenSchedulePoisson(t *testing.T) {
	const rate, conns, perConn = 5000.0, 8, 4000
	arrivals := func(seed uint64, shard, shards int) []time.Duration {
		s := OpenSchedule{Rate: rate, Conns: conns, ShardIndex: shard, ShardCount: shards, Poisson: true, Seed: seed}
		var out []time.Duration
		for c := range conns {
			cs := newConnSchedule(&s, c)
			for range perConn {
				out = append(out, cs.due)
				cs.advance()
			}
		}
		return out
	}
	a, b, other := arrivals(1, 0, 1), arrivals(1, 0, 1), arrivals(2, 0, 1)
	if !slices.Equal(a, b) {
		t.Fatal("the same seed gave different schedules")
	}
	if slices.Equal(a, other) {
		t.Fatal("different seeds gave the same schedule")
	}
	if slices.Equal(arrivals(1, 0, 2), arrivals(1, 1, 2)) {
		t.Fatal("two shards drew the same schedule")
	}
	// Merge up to the time every connection has passed, so no
	// connection's tail is missing.
	horizon := time.Duration(math.MaxInt64)
	for c := range conns {
		horizon = min(horizon, a[(c+1)*perConn-1])
	}
	var merged []time.Duration
	for _, d := range a {
		if d < horizon {
			merged = append(merged, d)
		}
	}
	slices.Sort(merged)
	var sum, sq float64
	for i := 1; i < len(merged); i++ {
		g := float64(merged[i] - merged[i-1])
		sum += g
		sq += g * g
	}
	n := float64(len(merged) - 1)
	mean := sum / n
	cv := math.Sqrt(sq/n-mean*mean) / mean
	if want := 1e9 / rate; math.Abs(mean-want)/want > 0.05 {
		t.Errorf("mean gap %v; want %v ±5%%", time.Duration(mean), time.Duration(want))
	}
	if math.Abs(cv-1) > 0.05 {
		t.Errorf("coefficient of variation of the gaps %.3f; want 1 ±0.05", cv)
	}
}

func TestOpenScheduleValidate(t *testing.T) {
	for _, s := range []OpenSchedule{
		{Rate: 0, Conns: 1},
		{Rate: -1, Conns: 1},
		{Rate: math.NaN(), Conns: 1},
		{Rate: 2e9, Conns: 1},
		{Rate: 10, Conns: 0},
		{Rate: 10, Conns: 1, ShardIndex: 1},
		{Rate: 10, Conns: 1, ShardIndex: 2, ShardCount: 2},
		{Rate: 10, Conns: 1, ShardIndex: -1, ShardCount: 2},
		{Rate: 10, Conns: 1, ShardCount: -1},
	} {
		if err := s.Validate(); err == nil {
			t.Errorf("Validate(%+v) = nil", s)
		}
	}
}
