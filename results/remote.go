package results

import "time"

// This file holds what a result file records when the run went beyond
// this machine: a target on another host (Remote), server figures read
// through `bench agent` (Agent), and one shard of a load split over
// several generators (Shard). Merging shards is in merge.go.

// Remote describes the target of a run whose URL is not on this machine's
// loopback (accepted only with --allow-remote), or whose server-side
// figures were read through an agent.
type Remote struct {
	// URL is the base URL the load was sent to.
	URL string `json:"url"`
	// AllowRemote is true when the URL is not a loopback address and was
	// accepted because the user passed --allow-remote.
	AllowRemote bool `json:"allow_remote"`
	// Agent is set when the server's cost was read through `bench agent`.
	Agent *Agent `json:"agent,omitempty"`
}

// Agent is what the generator learned from the agent beside the target.
type Agent struct {
	// URL is the agent's base URL.
	URL string `json:"url"`
	// Target says which processes the agent accounts ("pid 123",
	// "pattern ^nginx", "cgroup /sys/fs/cgroup/…").
	Target string `json:"target"`
	// Host is the agent's machine: CPU model, cores, kernel, hostname.
	Host Environment `json:"host"`
	// Clock is the offset of the agent's clock from the generator's,
	// measured before the first load point.
	Clock ClockOffset `json:"clock"`
}

// ClockOffset is an NTP-style measurement of the offset between two
// hosts' clocks: each exchange records the generator's send time t1, the
// agent's receive and reply times t2 and t3, and the generator's receive
// time t4; offset = ((t2−t1)+(t3−t4))/2 and round trip = (t4−t1)−(t3−t2).
// The exchange with the shortest round trip is kept, since its offset is
// bounded most tightly (the true offset lies within ±RTT/2 of it).
type ClockOffset struct {
	// OffsetNs is the agent's clock minus the generator's.
	OffsetNs int64 `json:"offset_ns"`
	// RTTNs is the round trip of the exchange kept.
	RTTNs int64 `json:"rtt_ns"`
	// Samples is the number of exchanges made.
	Samples int `json:"samples"`
	// MeasuredAt is the generator's time of the measurement.
	MeasuredAt time.Time `json:"measured_at"`
}

// Shard records that a file is one of Count generators sharing a load:
// shard Index (0 ≤ Index < Count) offered 1/Count of the open model's
// rate, its sends offset so that the shards' arrivals interleave, and
// 1/Count of the closed model's connections. Settings keep the total load;
// each point's OfferedRate and Connections are the shard's share.
type Shard struct {
	Index int `json:"index"`
	Count int `json:"count"`
	// StartAt is the agreed start of the first load point (--start-at);
	// zero when the shard started at once. Point k starts at StartAt +
	// k × SlotNs, so the shards' points stay in step.
	StartAt time.Time `json:"start_at,omitzero"`
	SlotNs  int64     `json:"slot_ns,omitempty"`
	// LateStarts counts the points that started after their slot (the
	// previous point or a target's start-up overran it).
	LateStarts int `json:"late_starts,omitempty"`
}
