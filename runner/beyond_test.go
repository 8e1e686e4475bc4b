package runner

import (
	"context"
	"testing"
	"time"

	"forkbench/loadgen"
	"forkbench/results"
	"forkbench/scenario"
)

func TestBeyondRecordsRemote(t *testing.T) {
	sc := shardScenario(t, 100, 1)
	tests := []struct {
		name  string
		url   string
		allow bool
		want  *results.Remote
	}{
		{"loopback", "http://127.0.0.1:8080", false, nil},
		{"remote allowed", "http://192.0.2.1:8080", true, &results.Remote{URL: "http://192.0.2.1:8080", AllowRemote: true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// newBeyond only records: without an agent it contacts nobody.
			b, err := newBeyond(context.Background(), Config{Scenario: sc, Targets: results.TargetOptions{URL: tt.url}, AllowRemote: tt.allow})
			if err != nil {
				t.Fatal(err)
			}
			var f results.File
			b.fill(&f)
			if (f.Remote == nil) != (tt.want == nil) || (f.Remote != nil && *f.Remote != *tt.want) {
				t.Errorf("Remote = %+v; want %+v", f.Remote, tt.want)
			}
			if f.Shard != nil {
				t.Errorf("Shard = %+v for an unsharded run", f.Shard)
			}
		})
	}
}

func TestBeyondShare(t *testing.T) {
	start := time.Now().Add(-time.Minute).UTC().Truncate(time.Second) // the slot has passed
	sc := shardScenario(t, 100, 1)
	sc.Connections = 5
	b, err := newBeyond(context.Background(), Config{Scenario: sc, Shard: scenario.Shard{Index: 1, Count: 2}, StartAt: start})
	if err != nil {
		t.Fatal(err)
	}
	var f results.File
	b.fill(&f)
	wantSlot := sc.Warmup.Duration + sc.Duration.Duration + ShardSlack
	if f.Shard == nil || *f.Shard != (results.Shard{Index: 1, Count: 2, StartAt: start, SlotNs: int64(wantSlot)}) {
		t.Errorf("Shard = %+v", f.Shard)
	}
	tests := []struct {
		name      string
		model     results.Model
		rate      float64
		sweepStep bool
		wantRate  float64
	}{
		{"open", results.ModelOpen, 100, false, 50},
		{"sweep step: already this shard's", results.ModelOpen, 30, true, 30},
		{"closed", results.ModelClosed, 0, false, 0},
	}
	for _, tt := range tests {
		o := loadgen.Options{Model: tt.model, Rate: tt.rate, Connections: 5}
		b.share(&o, tt.sweepStep)
		// Shard 1 of 2 gets the smaller half of 5 connections.
		if o.Rate != tt.wantRate || o.Connections != 2 || o.Shard != (loadgen.Shard{Index: 1, Count: 2}) {
			t.Errorf("%s: rate %g, connections %d, shard %+v; want %g, 2, 1/2", tt.name, o.Rate, o.Connections, o.Shard, tt.wantRate)
		}
	}
	// Past its slot a point starts at once and is counted late.
	if err := b.waitTurn(context.Background()); err != nil || f.Shard.LateStarts != 1 {
		t.Errorf("waitTurn past the slot = %v, late starts %d; want nil, 1", err, f.Shard.LateStarts)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	b.startAt = time.Now().Add(time.Hour)
	if err := b.waitTurn(ctx); err == nil {
		t.Error("waitTurn for a slot an hour away returned despite a cancelled context")
	}
}
