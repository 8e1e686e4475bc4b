package loadgen

import (
	"fmt"
	"math/rand/v2"
	"time"
)

// OpenSchedule is the open model's send schedule, wrk2's way: the offered
// rate is shared by a fixed set of connections, each with its own
// schedule, and a request is late, never dropped or sent early, when its
// connection is still busy at its intended send time.
//
// Uniform arrivals interleave the connections' schedules so that the
// combined sends are evenly spaced: the generator's slots are numbered
// q = 0, 1, 2, …, slot q is carried by connection q mod Conns and is due
// at Due(q). Slots can also be spread over several generators (shards,
// e.g. one per CPU or process) sharing one origin: shard ShardIndex of
// ShardCount owns every ShardCount-th slot of the combined schedule,
// offset by its index, so the shards together offer Rate, evenly spaced,
// and each offers Rate/ShardCount.
//
// Poisson arrivals give each connection independent exponential gaps of
// mean Conns×ShardCount/Rate (its share of the rate); the superposition of
// independent Poisson processes is a Poisson process of rate Rate. The
// gaps are drawn from a PCG generator seeded with (Seed, shard,
// connection), so a schedule is reproducible.
type OpenSchedule struct {
	// Rate is the combined offered rate of every shard, req/s.
	Rate float64
	// Conns is this shard's number of connections; every shard of a
	// schedule must have the same.
	Conns int
	// ShardIndex is this generator's shard, in [0, ShardCount).
	ShardIndex int
	// ShardCount is the number of generators sharing Rate; 0 means 1.
	ShardCount int
	// Poisson draws exponential gaps instead of even spacing.
	Poisson bool
	// Seed seeds the Poisson gaps.
	Seed uint64
}

// Validate reports the first invalid field of s.
func (s OpenSchedule) Validate() error {
	switch {
	case !(s.Rate > 0) || s.Rate > MaxRate:
		return fmt.Errorf("loadgen: schedule rate must be in (0, %g] req/s, got %g", float64(MaxRate), s.Rate)
	case s.Conns < 1:
		return fmt.Errorf("loadgen: schedule needs at least 1 connection, got %d", s.Conns)
	case s.ShardCount < 0, s.ShardIndex < 0, s.ShardIndex >= max(s.ShardCount, 1):
		return fmt.Errorf("loadgen: shard %d of %d", s.ShardIndex, s.ShardCount)
	}
	return nil
}

// shards is ShardCount with its zero value resolved.
func (s OpenSchedule) shards() int { return max(s.ShardCount, 1) }

// ShardRate is the rate this shard offers.
func (s OpenSchedule) ShardRate() float64 { return s.Rate / float64(s.shards()) }

// Conn is the connection that carries slot q.
func (s OpenSchedule) Conn(q uint64) int { return int(q % uint64(s.Conns)) }

// Due is the intended send time of slot q after the schedule's origin,
// for uniform arrivals: slot q of shard i is slot q×ShardCount+i of the
// combined schedule, whose sends are 1/Rate apart.
func (s OpenSchedule) Due(q uint64) time.Duration {
	g := float64(q)*float64(s.shards()) + float64(s.ShardIndex)
	return time.Duration(g * float64(time.Second) / s.Rate)
}

// connSchedule walks one connection's slots in order.
type connSchedule struct {
	s    *OpenSchedule
	conn uint64
	slot uint64        // the next slot
	due  time.Duration // its intended send time after the origin
	rng  *rand.Rand    // Poisson only
	gap  float64       // Poisson: mean gap in ns
}

// newConnSchedule positions connection conn of s, a validated schedule,
// at its first slot.
func newConnSchedule(s *OpenSchedule, conn int) connSchedule {
	c := connSchedule{s: s, conn: uint64(conn), slot: uint64(conn)}
	if !s.Poisson {
		c.due = s.Due(c.slot)
		return c
	}
	c.rng = rand.New(rand.NewPCG(s.Seed, uint64(s.ShardIndex)<<32|uint64(conn)))
	c.gap = float64(s.Conns) * float64(s.shards()) * float64(time.Second) / s.Rate
	c.due = time.Duration(c.rng.ExpFloat64() * c.gap)
	return c
}

// advance moves to the connection's next slot.
func (c *connSchedule) advance() {
	c.slot += uint64(c.s.Conns)
	if c.rng == nil {
		c.due = c.s.Due(c.slot)
		return
	}
	c.due += time.Duration(c.rng.ExpFloat64() * c.gap)
}

// countBefore counts the slots from the current one that are due before
// t, consuming them: the requests a run ending at t never sent.
func (c *connSchedule) countBefore(t time.Duration) uint64 {
	var n uint64
	for c.due < t {
		n++
		c.advance()
	}
	return n
}
