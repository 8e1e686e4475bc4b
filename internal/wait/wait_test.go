package wait

import (
	"context"
	"errors"
	"testing"
	"time"
)

func TestUntil(t *testing.T) {
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	tests := []struct {
		name string
		ctx  context.Context
		in   time.Duration // t is now + in
		want error
	}{
		{"past", context.Background(), -time.Second, nil},
		{"soon", context.Background(), time.Millisecond, nil},
		{"past, cancelled", cancelled, -time.Second, context.Canceled},
		{"an hour away, cancelled", cancelled, time.Hour, context.Canceled},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			at := time.Now().Add(tt.in)
			if err := Until(tt.ctx, at); !errors.Is(err, tt.want) {
				t.Fatalf("Until(now%+v) = %v; want %v", tt.in, err, tt.want)
			}
			if tt.want == nil && time.Now().Before(at) {
				t.Errorf("Until(now%+v) returned %v early", tt.in, time.Until(at))
			}
		})
	}
}
