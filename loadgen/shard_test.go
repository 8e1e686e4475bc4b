package loadgen

import (
	"errors"
	"slices"
	"testing"
	"time"

	"forkbench/results"
)

func TestShardValidate(t *testing.T) {
	tests := []struct {
		s  Shard
		ok bool
	}{
		{Shard{}, true}, {Shard{0, 1}, true}, {Shard{2, 3}, true},
		{Shard{3, 3}, false}, {Shard{-1, 2}, false}, {Shard{0, -1}, false}, {Shard{1, 0}, false},
	}
	for _, tt := range tests {
		o := Options{Model: results.ModelOpen, Rate: 10, Connections: 1, Duration: time.Second, Shard: tt.s}
		err := Validate(o)
		if (err == nil) != tt.ok || (err != nil && !errors.Is(err, ErrInvalidOptions)) {
			t.Errorf("Validate(shard %+v) = %v; want ok=%v", tt.s, err, tt.ok)
		}
	}
}

// sendTimes returns the first n intended send times of one shard of an
// open-model load at total rate R, from the pacer a shard's attack uses.
func sendTimes(s Shard, total float64, n int) []time.Duration {
	rate := total / float64(max(s.Count, 1))
	interval := float64(time.Second) / rate
	p := ratePacer{interval: interval, rate: rate, offset: s.offset(interval)}
	var out []time.Duration
	for k := range n {
		wait, _ := p.Pace(0, uint64(k)) // wait from the attack's start
		out = append(out, wait)
	}
	return out
}

// TestShardsInterleave checks that the shards' schedules merge into the
// one schedule of a single generator at the total rate: request j at j/R.
func TestShardsInterleave(t *testing.T) {
	for _, count := range []int{1, 2, 3, 4} {
		const total, per = 1000.0, 25
		var merged []time.Duration
		for i := range count {
			merged = append(merged, sendTimes(Shard{i, count}, total, per)...)
		}
		slices.Sort(merged)
		single := sendTimes(Shard{}, total, per*count)
		for j := range single {
			if d := merged[j] - single[j]; d < -1 || d > 1 { // float rounding: 1 ns
				t.Fatalf("%d shards: send %d at %v; a single generator sends it at %v", count, j, merged[j], single[j])
			}
		}
	}
}
