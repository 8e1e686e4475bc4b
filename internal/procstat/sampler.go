package procstat

import (
	"context"
	"sync"
	"time"
)

// DefaultSampleInterval is the Sampler's interval when none is given: short
// enough to catch a burst of CGI children, long enough that scanning /proc
// costs the generator well under 1% of a core.
const DefaultSampleInterval = 100 * time.Millisecond

// Sampler follows the resident memory of a process tree and keeps its
// peak. RSS is a level, not a counter, so a peak can only be sampled; a
// spike shorter than the interval may be missed.
type Sampler struct {
	roots    func() []int
	interval time.Duration

	stopOnce sync.Once
	stop     chan struct{}
	done     chan struct{}

	mu      sync.Mutex
	peak    uint64
	samples int
	lastErr error
}

// StartSampler samples TreeRSS(roots()) at once and then every interval
// (DefaultSampleInterval if interval <= 0) until ctx is done or Stop is
// called. roots is called at every sample, so a target whose processes
// change (a supervised daemon restarting) is followed.
func StartSampler(ctx context.Context, roots func() []int, interval time.Duration) *Sampler {
	if interval <= 0 {
		interval = DefaultSampleInterval
	}
	s := &Sampler{
		roots:    roots,
		interval: interval,
		stop:     make(chan struct{}),
		done:     make(chan struct{}),
	}
	s.sample()
	go s.run(ctx)
	return s
}

func (s *Sampler) run(ctx context.Context) {
	defer close(s.done)
	t := time.NewTicker(s.interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-s.stop:
			return
		case <-t.C:
			s.sample()
		}
	}
}

func (s *Sampler) sample() {
	u, err := TreeRSS(s.roots())
	s.mu.Lock()
	defer s.mu.Unlock()
	if err != nil {
		s.lastErr = err
		return
	}
	s.samples++
	s.peak = max(s.peak, u.RSSBytes)
}

// Stop takes a last sample, ends sampling and returns the peak RSS seen
// and the number of successful samples. err is the last sampling error
// when no sample succeeded. Stop may be called more than once.
func (s *Sampler) Stop() (peak uint64, samples int, err error) {
	s.stopOnce.Do(func() {
		close(s.stop)
		<-s.done
		s.sample()
	})
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.samples == 0 {
		return 0, 0, s.lastErr
	}
	return s.peak, s.samples, nil
}
