package scenario

import (
	"errors"
	"testing"
)

func TestParseShard(t *testing.T) {
	tests := []struct {
		in   string
		want Shard
		ok   bool
	}{
		{"0/2", Shard{0, 2}, true},
		{"3/4", Shard{3, 4}, true},
		{"0/1", Shard{0, 1}, true},
		{"2/2", Shard{}, false},
		{"-1/2", Shard{}, false},
		{"1", Shard{}, false},
		{"a/b", Shard{}, false},
		{"0/0", Shard{}, false},
	}
	for _, tt := range tests {
		got, err := ParseShard(tt.in)
		if (err == nil) != tt.ok || (tt.ok && got != tt.want) || (!tt.ok && !errors.Is(err, ErrBadScenario)) {
			t.Errorf("ParseShard(%q) = %+v, %v; want %+v ok=%v", tt.in, got, err, tt.want, tt.ok)
		}
	}
}

func TestShardSharesAddUp(t *testing.T) {
	for _, total := range []int{3, 4, 7, 32, 33} {
		for _, count := range []int{1, 2, 3} {
			sum := 0
			for i := range count {
				n, err := Shard{i, count}.Connections(total)
				if err != nil {
					t.Fatal(err)
				}
				sum += n
			}
			if sum != total {
				t.Errorf("%d connections over %d shards sum to %d", total, count, sum)
			}
		}
	}
	if _, err := (Shard{0, 4}).Connections(3); !errors.Is(err, ErrBadScenario) {
		t.Errorf("3 connections over 4 shards: err = %v; want ErrBadScenario", err)
	}
	if got := (Shard{1, 4}).Rate(1000); got != 250 {
		t.Errorf("Rate = %g; want 250", got)
	}
}
