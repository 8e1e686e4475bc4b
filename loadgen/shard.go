package loadgen

import "fmt"

// Shard places one generator's attack in a load that Count generators
// (shards) offer together, so that their combined arrivals look like one
// generator's. The caller gives each shard its share of the load: 1/Count
// of the open model's rate (Options.Rate) and of the connections
// (Options.Connections); Shard only says where in the combined schedule
// this shard's sends fall.
//
// The open model's combined schedule at rate R sends request j at j/R. A
// shard offers R/Count, one request every Count/R; shard Index sends the
// requests j = Index, Index+Count, Index+2·Count, …, so its k-th send is
// at Index/R + k·Count/R: its sends are offset by Index combined
// intervals, Index/Count of its own interval. With every shard starting
// at the same instant (`bench run --start-at`), the merged arrivals are
// uniform at R, not Count bursts at R/Count. Corrected latency is
// measured from these offset intended times.
//
// The closed model has no schedule: a shard is its share of the
// connections, and Shard changes nothing.
//
// The zero value (Count 0) and Count 1 mean an attack of its own.
type Shard struct {
	Index, Count int
}

// Validate reports a shard that is not one of Count.
func (s Shard) Validate() error {
	if s.Count < 0 || s.Index < 0 || (s.Count > 0 && s.Index >= s.Count) || (s.Count == 0 && s.Index != 0) {
		return fmt.Errorf("%w: shard %d/%d: want 0 ≤ index < count", ErrInvalidOptions, s.Index, s.Count)
	}
	return nil
}

// offset is the delay of the shard's first send, in nanoseconds, for a
// shard whose own interval between sends is interval.
func (s Shard) offset(interval float64) float64 {
	if s.Count <= 1 {
		return 0
	}
	return interval * float64(s.Index) / float64(s.Count)
}
