// Package wait sleeps until a moment on the clock unless a context ends
// first: the agent waits so for a window's start, and a shard (runner) for
// its load point's slot. time.Sleep cannot be cancelled, and a bare timer
// leaks until it fires unless stopped, so both share this one.
package wait

import (
	"context"
	"time"
)

// Until returns nil at t, or ctx's error if ctx ends first. A t already
// past returns at once: nil, or ctx's error when ctx has ended.
func Until(ctx context.Context, t time.Time) error {
	d := time.Until(t)
	if d <= 0 {
		return ctx.Err()
	}
	tm := time.NewTimer(d)
	defer tm.Stop()
	select {
	case <-tm.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
