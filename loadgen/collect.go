package loadgen

import (
	"strconv"
	"time"

	hdr "github.com/HdrHistogram/hdrhistogram-go"
	vegeta "github.com/tsenart/vegeta/v12/lib"

	"forkbench/results"
)

// timelineSigFigs is the precision of a timeline bucket's percentiles: two
// significant digits (1%) keep a bucket's histogram at a few tens of KB,
// where the point's own histograms use results.HistogramSigFigs.
const timelineSigFigs = 2

// saturationRatio is the share of the offered rate an open-model point
// must achieve not to be marked Saturated.
const saturationRatio = 0.99

// collector turns vegeta results into a Point's figures.
type collector struct {
	model   results.Model
	offered float64
	began   time.Time
	start   time.Time // measured window: requests sent in [start, end]
	end     time.Time
	cutAt   time.Time // set when interrupted: nothing sent after it counts
	bucket  time.Duration

	lat, cor *hdr.Histogram
	lag      *hdr.Histogram // open model: actual send - intended send
	// errLat holds the latencies of failed requests (an error kind), kept
	// apart so that a fast refusal or a slow timeout does not pass for a
	// served request's latency.
	errLat   *hdr.Histogram
	timeline []tlBucket

	requests, successes uint64
	bytesIn, bytesOut   uint64
	codes               map[uint16]uint64
	errs                map[string]uint64
	// completed and completedOK count answers (any status, and 2xx) that
	// arrived inside the window, whenever they were sent: the achieved
	// rate.
	completed, completedOK uint64
	// unfinished counts results sent before the window's end and not done
	// by it (in flight at the end, warm-up sends included); oldest is the
	// age of the oldest at the end.
	unfinished, stuck uint64
	oldest            time.Duration
}

type tlBucket struct {
	h                *hdr.Histogram
	requests, errors uint64
}

func newCollector(o Options) *collector {
	c := &collector{
		model:   o.Model,
		offered: o.Rate,
		bucket:  o.TimelineInterval,
		lat:     results.NewHistogram(),
		errLat:  results.NewHistogram(),
		codes:   make(map[uint16]uint64),
		errs:    make(map[string]uint64),
	}
	if o.Model == results.ModelOpen {
		c.cor = results.NewHistogram()
		c.lag = results.NewHistogram()
	}
	return c
}

// setWindow fixes the attack's origin and the measured window [start,
// end].
func (c *collector) setWindow(began, start, end time.Time) {
	c.began, c.start, c.end = began, start, end
}

// cut ends the window early at t (the attack was interrupted). Every result
// added before cut completed before t.
func (c *collector) cut(t time.Time) {
	c.cutAt = t
	if t.Before(c.end) {
		c.end = t
	}
}

// windowEnd is the end of the measured window as it was.
func (c *collector) windowEnd() time.Time {
	if c.end.Before(c.start) {
		return c.start
	}
	return c.end
}

// add counts r, whose intended send time is intended (open model; zero in
// the closed model), and reports whether it belongs to the measured
// window.
func (c *collector) add(r *vegeta.Result, intended time.Time) bool {
	done := r.End()
	if r.Code != 0 && !done.Before(c.start) && !done.After(c.end) {
		c.completed++
		if r.Code >= 200 && r.Code <= 299 {
			c.completedOK++
		}
	}
	if !r.Timestamp.After(c.end) && done.After(c.end) {
		c.unfinished++
		age := c.end.Sub(r.Timestamp)
		c.oldest = max(c.oldest, age)
		if age >= c.end.Sub(c.start)/2 {
			c.stuck++
		}
	}
	if r.Timestamp.Before(c.start) || (!c.cutAt.IsZero() && r.Timestamp.After(c.cutAt)) {
		return false // warm-up, or sent as the attack was being stopped
	}
	c.requests++
	c.bytesIn += r.BytesIn
	c.bytesOut += r.BytesOut
	if r.Code != 0 {
		c.codes[r.Code]++
	}
	if r.Code >= 200 && r.Code <= 299 {
		c.successes++
	}
	kind := ClassifyError(r.Code, r.Error)
	if kind != "" {
		c.errs[kind]++
	}
	if c.lag != nil && !intended.IsZero() {
		results.Record(c.lag, max(r.Timestamp.Sub(intended), 0)) // the generator's, failed or not
	}
	if kind != "" {
		results.Record(c.errLat, r.Latency)
	} else {
		c.recordServed(r, intended)
	}
	c.addToTimeline(r, kind)
	return true
}

// recordServed records the latencies of a request that did not fail.
func (c *collector) recordServed(r *vegeta.Result, intended time.Time) {
	done := r.End()
	results.Record(c.lat, r.Latency)
	if c.cor != nil && !intended.IsZero() {
		results.Record(c.cor, max(done.Sub(intended), r.Latency))
	}
}

// addToTimeline counts r in the bucket of its send time.
func (c *collector) addToTimeline(r *vegeta.Result, kind string) {
	i := int(r.Timestamp.Sub(c.start) / c.bucket)
	for len(c.timeline) <= i {
		c.timeline = append(c.timeline, tlBucket{})
	}
	b := &c.timeline[i]
	if b.h == nil {
		b.h = hdr.New(results.HistogramMin, results.HistogramMax, timelineSigFigs)
	}
	results.Record(b.h, r.Latency)
	b.requests++
	if kind != "" {
		b.errors++
	}
}

// fill writes the counts, rates and latencies into p.
func (c *collector) fill(p *results.Point) {
	window := c.windowEnd().Sub(c.start)
	p.StartedAt = c.start
	p.DurationNs = int64(window)
	p.Requests = c.requests
	p.Successes = c.successes
	p.BytesIn, p.BytesOut = c.bytesIn, c.bytesOut
	p.StatusCodes = make(map[string]uint64, len(c.codes))
	for code, n := range c.codes {
		p.StatusCodes[strconv.Itoa(int(code))] = n
	}
	if len(c.errs) > 0 {
		p.Errors = c.errs
	}
	if window > 0 {
		p.AchievedRate = float64(c.completed) / window.Seconds()
		p.Throughput = float64(c.completedOK) / window.Seconds()
	}
	p.Saturated = saturated(c.model, c.offered, c.completed, window)
	p.Unfinished, p.UnfinishedMaxAgeNs, p.Stuck = c.unfinished, int64(c.oldest), c.stuck
	p.Latency, _ = results.Summarize(c.lat) // encoding an in-range histogram cannot fail
	if c.errLat.TotalCount() > 0 {
		l, _ := results.Summarize(c.errLat)
		p.ErrorLatency = &l
	}
	if c.cor != nil {
		l, _ := results.Summarize(c.cor)
		p.Corrected = &l
		lag, _ := results.Summarize(c.lag)
		p.SendLag = &lag
	}
	p.Timeline = make([]results.Bucket, 0, len(c.timeline))
	for i, b := range c.timeline {
		tb := results.Bucket{OffsetNs: int64(i) * int64(c.bucket), Requests: b.requests, Errors: b.errors}
		if b.h != nil {
			tb.P50Ns = b.h.ValueAtQuantile(50)
			tb.P99Ns = b.h.ValueAtQuantile(99)
			tb.MaxNs = b.h.Max()
		}
		p.Timeline = append(p.Timeline, tb)
	}
}

// saturated reports whether an open-model point fell short of its offered
// rate by more than 1%. The achieved rate counts answers inside the
// window; with a warm-up the answers to warm-up requests that arrive in
// the window make up for those still in flight at its end, without one
// the shortfall is about latency/duration. A count over a window is only
// exact to one answer (which side of an edge the boundary answer falls),
// so one answer of slack is allowed: at 25 req/s over 1.5 s, 37 answers
// of 37.5 expected is on schedule, not saturated.
func saturated(model results.Model, offered float64, answered uint64, window time.Duration) bool {
	if model != results.ModelOpen {
		return false
	}
	expected := offered * window.Seconds()
	return float64(answered)+1 < saturationRatio*expected
}
