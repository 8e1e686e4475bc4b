package results

import (
	"fmt"
	"time"

	hdr "github.com/HdrHistogram/hdrhistogram-go"
)

// Histogram bounds: latencies from 1 µs to 5 minutes, 3 significant digits
// (values exact to 0.1%), recorded in nanoseconds. Values outside the range
// are clamped, never dropped, and the clamping is visible as Min/Max.
const (
	HistogramMin     = int64(time.Microsecond)
	HistogramMax     = int64(5 * time.Minute)
	HistogramSigFigs = 3
)

// NewHistogram returns an empty latency histogram with the suite's bounds;
// histograms from different runs or machines merge only with equal bounds.
func NewHistogram() *hdr.Histogram {
	return hdr.New(HistogramMin, HistogramMax, HistogramSigFigs)
}

// Record adds one latency to h, clamped to the histogram's range.
func Record(h *hdr.Histogram, d time.Duration) {
	v := int64(d)
	if v < HistogramMin {
		v = HistogramMin
	}
	if v > HistogramMax {
		v = HistogramMax
	}
	_ = h.RecordValue(v) // cannot fail within range
}

// EncodeHistogram returns h in the standard compressed, base64 HDR
// encoding (V2), readable by any HdrHistogram implementation.
func EncodeHistogram(h *hdr.Histogram) (string, error) {
	b, err := h.Encode(hdr.V2CompressedEncodingCookieBase)
	if err != nil {
		return "", fmt.Errorf("results: encode histogram: %w", err)
	}
	return string(b), nil
}

// DecodeHistogram is the inverse of EncodeHistogram.
func DecodeHistogram(s string) (*hdr.Histogram, error) {
	if s == "" {
		return NewHistogram(), nil
	}
	h, err := hdr.Decode([]byte(s))
	if err != nil {
		return nil, fmt.Errorf("results: decode histogram: %w", err)
	}
	return h, nil
}

// Summarize computes the Latency of h, including its encoding.
func Summarize(h *hdr.Histogram) (Latency, error) {
	enc, err := EncodeHistogram(h)
	if err != nil {
		return Latency{}, err
	}
	l := Latency{Count: h.TotalCount(), Histogram: enc}
	if l.Count == 0 {
		return l, nil
	}
	l.MinNs = h.Min()
	l.MeanNs = int64(h.Mean())
	l.P50Ns = h.ValueAtQuantile(50)
	l.P90Ns = h.ValueAtQuantile(90)
	l.P99Ns = h.ValueAtQuantile(99)
	l.P999Ns = h.ValueAtQuantile(99.9)
	l.P9999Ns = h.ValueAtQuantile(99.99)
	l.MaxNs = h.Max()
	return l, nil
}

// Merge decodes and merges the histograms of ls (e.g. the rounds of one
// target and endpoint, or the same point from two machines) and returns
// their combined Latency.
func Merge(ls ...Latency) (Latency, error) {
	sum := NewHistogram()
	for _, l := range ls {
		h, err := DecodeHistogram(l.Histogram)
		if err != nil {
			return Latency{}, err
		}
		if dropped := sum.Merge(h); dropped > 0 {
			return Latency{}, fmt.Errorf("results: merge histogram: %d values out of range", dropped)
		}
	}
	return Summarize(sum)
}
