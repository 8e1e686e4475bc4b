package scenario

import (
	"fmt"
	"strconv"
	"strings"
)

// Shard is one of Count generators sharing a scenario's load (`bench run
// --shard INDEX/COUNT`, 0 ≤ INDEX < COUNT, as a Kubernetes Indexed Job's
// completion index counts): it offers 1/Count of the open model's rate and
// of the connections. The zero value is a generator of its own.
type Shard struct {
	Index, Count int
}

// ParseShard reads "INDEX/COUNT".
func ParseShard(s string) (Shard, error) {
	a, b, ok := strings.Cut(s, "/")
	i, err1 := strconv.Atoi(strings.TrimSpace(a))
	n, err2 := strconv.Atoi(strings.TrimSpace(b))
	if !ok || err1 != nil || err2 != nil {
		return Shard{}, fmt.Errorf("%w: shard %q: want INDEX/COUNT, e.g. 0/2", ErrBadScenario, s)
	}
	sh := Shard{Index: i, Count: n}
	if n < 1 {
		return Shard{}, fmt.Errorf("%w: shard %q: COUNT must be at least 1", ErrBadScenario, s)
	}
	return sh, sh.Validate()
}

// Enabled reports whether the load is shared with other generators.
func (s Shard) Enabled() bool { return s.Count > 1 }

// Validate checks 0 ≤ Index < Count.
func (s Shard) Validate() error {
	if s == (Shard{}) {
		return nil
	}
	if s.Count < 1 || s.Index < 0 || s.Index >= s.Count {
		return fmt.Errorf("%w: shard %d/%d: want 0 ≤ INDEX < COUNT", ErrBadScenario, s.Index, s.Count)
	}
	return nil
}

// String is "INDEX/COUNT".
func (s Shard) String() string { return fmt.Sprintf("%d/%d", s.Index, s.Count) }

// Rate is the shard's share of an open-model rate.
func (s Shard) Rate(total float64) float64 {
	if s.Count <= 1 {
		return total
	}
	return total / float64(s.Count)
}

// Connections is the shard's share of total connections: they are dealt
// out one by one, so the shares differ by at most one and add up to total.
// Every shard needs one, so total must be at least Count.
func (s Shard) Connections(total int) (int, error) {
	if s.Count <= 1 {
		return total, nil
	}
	if total < s.Count {
		return 0, fmt.Errorf("%w: %d connections cannot be shared by %d shards (each needs one)", ErrBadScenario, total, s.Count)
	}
	n := total / s.Count
	if s.Index < total%s.Count {
		n++
	}
	return n, nil
}
