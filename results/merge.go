package results

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
	"slices"
	"strings"
	"time"
)

// This file merges the result files of shards — generators that shared
// one load (`bench run --shard i/N`) — into one file, exactly: counts and
// throughputs are summed, latency histograms merged and every percentile
// recomputed from the merged histogram (never averaged), and what could
// make one shard's figure doubtful (generator-bound, saturated) is kept
// per shard.

// ErrMerge is wrapped by every refusal to merge.
var ErrMerge = errors.New("results: cannot merge")

// ShardSource is one input of a merged file.
type ShardSource struct {
	Index      int       `json:"index"`
	Count      int       `json:"count"`
	Name       string    `json:"name,omitempty"` // the file's name as given to merge
	Hostname   string    `json:"hostname"`
	StartedAt  time.Time `json:"started_at"`
	FinishedAt time.Time `json:"finished_at"`
	Partial    bool      `json:"partial,omitempty"`
	LateStarts int       `json:"late_starts,omitempty"`
}

// ShardPoint is one shard's share of a merged point: its own counts and
// the flags that qualify them, which a sum would hide.
type ShardPoint struct {
	Index        int     `json:"index"`
	OfferedRate  float64 `json:"offered_rate"`
	Connections  int     `json:"connections"`
	Requests     uint64  `json:"requests"`
	Answered     uint64  `json:"answered"`
	AchievedRate float64 `json:"achieved_rate"`
	Throughput   float64 `json:"throughput"`
	// StartedAt is the shard's window start; the spread of the shards'
	// starts says how well they were in step.
	StartedAt      time.Time     `json:"started_at"`
	Saturated      bool          `json:"saturated"`
	GeneratorBound bool          `json:"generator_bound"`
	Generator      GeneratorCost `json:"generator"`
}

// Named is a result file with the name it is reported under.
type Named struct {
	Name string
	File *File
}

// MergeShards merges the files of the shards 0…N−1 of one sharded run.
// It refuses, naming the field, files that are not shards of the same
// run: a missing or repeated shard, different shard counts or start
// times, different settings, or points that do not correspond (same
// target, endpoint, model, round and sweep step in the same order).
//
// In the merged file each point's counts, bytes, rates, offered rate and
// connections are the shards' sums; its latency histograms are merged;
// Saturated and GeneratorBound are true if they are for any shard, and
// Shards keeps each shard's own. Server cost read through one agent (the
// shards drove one server and each read its cost over the same window) is
// taken from the lowest shard that has it and divided by all the shards'
// answers; server cost of targets each shard started itself is summed.
// Timeline buckets sum their counts and keep the largest maximum; their
// percentiles cannot be recomputed (buckets keep no histogram) and are
// left zero.
func MergeShards(in []Named) (*File, error) {
	if len(in) == 0 {
		return nil, fmt.Errorf("%w: no files", ErrMerge)
	}
	ordered, err := checkShards(in)
	if err != nil {
		return nil, err
	}
	first := ordered[0].File
	out := &File{
		SchemaVersion: SchemaVersion,
		Label:         first.Label,
		StartedAt:     first.StartedAt,
		FinishedAt:    first.FinishedAt,
		Environment:   first.Environment,
		Settings:      first.Settings,
		Pinning:       first.Pinning,
		Remote:        first.Remote,
	}
	var partial []string
	for _, s := range ordered {
		f := s.File
		out.StartedAt = minTime(out.StartedAt, f.StartedAt)
		if f.FinishedAt.After(out.FinishedAt) {
			out.FinishedAt = f.FinishedAt
		}
		out.Shards = append(out.Shards, ShardSource{
			Index: f.Shard.Index, Count: f.Shard.Count, Name: s.Name,
			Hostname: f.Environment.Hostname, StartedAt: f.StartedAt, FinishedAt: f.FinishedAt,
			Partial: f.Partial, LateStarts: f.Shard.LateStarts,
		})
		if f.Partial {
			partial = append(partial, fmt.Sprintf("shard %d/%d: %s", f.Shard.Index, f.Shard.Count, f.PartialReason))
		}
		for _, n := range f.Notes {
			n.Subject = strings.TrimSpace(fmt.Sprintf("shard %d/%d %s", f.Shard.Index, f.Shard.Count, n.Subject))
			out.Notes = append(out.Notes, n)
		}
		if len(f.Knees) > 0 && s.File == first {
			out.Notes = append(out.Notes, Note{Kind: NoteKneesNotMerged})
		}
	}
	if len(partial) > 0 {
		out.Partial, out.PartialReason = true, strings.Join(partial, "; ")
	}
	for k := range first.Points {
		ps := make([]Point, len(ordered))
		for i, s := range ordered {
			ps[i] = s.File.Points[k]
		}
		p, err := mergePoint(ps, ordered)
		if err != nil {
			return nil, fmt.Errorf("%w: point %d: %w", ErrMerge, k+1, err)
		}
		out.Points = append(out.Points, p)
	}
	out.Notes = append(out.Notes, Note{Kind: NoteMerged, Figures: map[string]float64{"shards": float64(len(ordered))}})
	return out, nil
}

// checkShards returns in ordered by shard index after checking that the
// files are the shards 0…N−1 of one run.
func checkShards(in []Named) ([]Named, error) {
	for i, s := range in {
		if s.File == nil || s.File.Shard == nil {
			return nil, fmt.Errorf("%w: %s is not a shard's result (run with --shard i/N)", ErrMerge, name(s, i))
		}
	}
	n := in[0].File.Shard.Count
	ordered := make([]Named, n)
	for i, s := range in {
		sh := s.File.Shard
		if sh.Count != n {
			return nil, fmt.Errorf("%w: field shard.count: %s has %d, %s has %d", ErrMerge, name(in[0], 0), n, name(s, i), sh.Count)
		}
		if sh.Index < 0 || sh.Index >= n {
			return nil, fmt.Errorf("%w: field shard.index: %s has %d, outside 0…%d", ErrMerge, name(s, i), sh.Index, n-1)
		}
		if ordered[sh.Index].File != nil {
			return nil, fmt.Errorf("%w: field shard.index: shard %d/%d is given twice (%s and %s)", ErrMerge, sh.Index, n, name(ordered[sh.Index], -1), name(s, i))
		}
		if s.Name == "" {
			s.Name = name(s, i)
		}
		ordered[sh.Index] = s
	}
	for i, s := range ordered {
		if s.File == nil {
			return nil, fmt.Errorf("%w: field shard.index: shard %d/%d is missing", ErrMerge, i, n)
		}
	}
	ref := ordered[0]
	for _, s := range ordered[1:] {
		a, b := ref.File, s.File
		if !a.Shard.StartAt.Equal(b.Shard.StartAt) {
			return nil, fmt.Errorf("%w: field shard.start_at differs: %s in %s, %s in %s", ErrMerge, a.Shard.StartAt, ref.Name, b.Shard.StartAt, s.Name)
		}
		if a.Shard.SlotNs != b.Shard.SlotNs {
			return nil, fmt.Errorf("%w: field shard.slot_ns differs: %d in %s, %d in %s", ErrMerge, a.Shard.SlotNs, ref.Name, b.Shard.SlotNs, s.Name)
		}
		if field, va, vb, ok := settingsDiff(a.Settings, b.Settings); !ok {
			return nil, fmt.Errorf("%w: field settings.%s differs: %v in %s, %v in %s", ErrMerge, field, va, ref.Name, vb, s.Name)
		}
		if ra, rb := remoteURL(a), remoteURL(b); ra != rb {
			return nil, fmt.Errorf("%w: field remote.url differs: %q in %s, %q in %s", ErrMerge, ra, ref.Name, rb, s.Name)
		}
		if len(a.Points) != len(b.Points) {
			return nil, fmt.Errorf("%w: field points: %s has %d points, %s has %d", ErrMerge, ref.Name, len(a.Points), s.Name, len(b.Points))
		}
		for k := range a.Points {
			if field, va, vb, ok := pointKeyDiff(a.Points[k], b.Points[k]); !ok {
				return nil, fmt.Errorf("%w: point %d: field %s differs: %v in %s, %v in %s", ErrMerge, k+1, field, va, ref.Name, vb, s.Name)
			}
		}
	}
	return ordered, nil
}

func name(s Named, i int) string {
	if s.Name != "" {
		return s.Name
	}
	return fmt.Sprintf("file %d", i+1)
}

func remoteURL(f *File) string {
	if f.Remote == nil {
		return ""
	}
	return f.Remote.URL
}

// settingsDiff names the first field (by its JSON name) in which a and b
// differ.
func settingsDiff(a, b Settings) (field string, va, vb any, equal bool) {
	return structDiff(reflect.ValueOf(a), reflect.ValueOf(b))
}

// pointKeyDiff compares what identifies a load point across shards.
func pointKeyDiff(a, b Point) (field string, va, vb any, equal bool) {
	type key struct {
		Target      string  `json:"target"`
		Endpoint    string  `json:"endpoint"`
		Method      string  `json:"method"`
		Path        string  `json:"path"`
		Model       Model   `json:"model"`
		Round       int     `json:"round"`
		SweepFactor float64 `json:"sweep_factor"`
	}
	ka := key{a.Target, a.Endpoint, a.Method, a.Path, a.Model, a.Round, a.SweepFactor}
	kb := key{b.Target, b.Endpoint, b.Method, b.Path, b.Model, b.Round, b.SweepFactor}
	return structDiff(reflect.ValueOf(ka), reflect.ValueOf(kb))
}

func structDiff(a, b reflect.Value) (string, any, any, bool) {
	t := a.Type()
	for i := range t.NumField() {
		fa, fb := a.Field(i).Interface(), b.Field(i).Interface()
		if !reflect.DeepEqual(fa, fb) {
			tag, _, _ := strings.Cut(t.Field(i).Tag.Get("json"), ",")
			if tag == "" {
				tag = t.Field(i).Name
			}
			return tag, fa, fb, false
		}
	}
	return "", nil, nil, true
}

func minTime(a, b time.Time) time.Time {
	if a.IsZero() || (!b.IsZero() && b.Before(a)) {
		return b
	}
	return a
}

// mergePoint merges the same point of every shard (ps[i] is shard i's).
func mergePoint(ps []Point, shards []Named) (Point, error) {
	m := ps[0]
	setSums(&m, ps, "OfferedRate", "Connections", "Requests", "Answered", "Successes",
		"BytesIn", "BytesOut", "AchievedRate", "Throughput")
	m.StatusCodes, m.Errors = map[string]uint64{}, nil
	m.Saturated, m.GeneratorBound = false, false
	m.Generator = GeneratorCost{}
	m.Shards = nil
	var lats, cors, errLats []Latency
	for i, p := range ps {
		m.StartedAt = minTime(m.StartedAt, p.StartedAt)
		m.DurationNs = max(m.DurationNs, p.DurationNs)
		for k, v := range p.StatusCodes {
			m.StatusCodes[k] += v
		}
		for k, v := range p.Errors {
			if m.Errors == nil {
				m.Errors = map[string]uint64{}
			}
			m.Errors[k] += v
		}
		m.Saturated = m.Saturated || p.Saturated
		m.GeneratorBound = m.GeneratorBound || p.GeneratorBound
		m.Generator.CPUNs += p.Generator.CPUNs
		m.Generator.CoreShare = max(m.Generator.CoreShare, p.Generator.CoreShare)
		m.Shards = append(m.Shards, ShardPoint{
			Index: shards[i].File.Shard.Index, OfferedRate: p.OfferedRate, Connections: p.Connections,
			Requests: p.Requests, Answered: p.Answered, AchievedRate: p.AchievedRate, Throughput: p.Throughput,
			StartedAt: p.StartedAt, Saturated: p.Saturated, GeneratorBound: p.GeneratorBound, Generator: p.Generator,
		})
		lats = append(lats, p.Latency)
		if p.Corrected != nil {
			cors = append(cors, *p.Corrected)
		}
		if p.ErrorLatency != nil {
			errLats = append(errLats, *p.ErrorLatency)
		}
	}
	if m.Answered > 0 {
		m.Generator.CPUPerRequestNs = float64(m.Generator.CPUNs) / float64(m.Answered)
	}
	var err error
	if m.Latency, err = Merge(lats...); err != nil {
		return Point{}, err
	}
	if len(cors) > 0 {
		if len(cors) != len(ps) {
			return Point{}, errors.New("field corrected: present in some shards only")
		}
		c, err := Merge(cors...)
		if err != nil {
			return Point{}, err
		}
		m.Corrected = &c
	}
	if len(errLats) > 0 {
		e, err := Merge(errLats...)
		if err != nil {
			return Point{}, err
		}
		m.ErrorLatency = &e
	}
	m.Timeline = mergeTimeline(ps)
	m.Server = mergeServer(ps, m.Answered, m.Throughput)
	return m, nil
}

// mergeTimeline sums the shards' buckets by offset. A bucket's
// percentiles cannot be merged without its histogram: they are left zero
// (reports skip such buckets), and its maximum is the largest.
func mergeTimeline(ps []Point) []Bucket {
	var out []Bucket
	for _, p := range ps {
		for _, b := range p.Timeline {
			i, ok := slices.BinarySearchFunc(out, b.OffsetNs, func(x Bucket, off int64) int {
				return int(min(max(x.OffsetNs-off, -1), 1))
			})
			if !ok {
				out = slices.Insert(out, i, Bucket{OffsetNs: b.OffsetNs})
			}
			out[i].Requests += b.Requests
			out[i].Errors += b.Errors
			out[i].MaxNs = max(out[i].MaxNs, b.MaxNs)
		}
	}
	return out
}

// mergeServer combines the shards' server cost. When every shard read it
// through an agent, they measured one server over the same window: the
// lowest shard's reading is the server's cost and is divided by every
// shard's answers. Otherwise each shard measured the target it started
// itself, and the costs add up.
func mergeServer(ps []Point, answered uint64, throughput float64) ServerCost {
	shared := true
	var observed []ServerCost
	for _, p := range ps {
		shared = shared && p.Server.Remote
		if p.Server.Observed {
			observed = append(observed, p.Server)
		}
	}
	if len(observed) == 0 {
		return ServerCost{}
	}
	var s ServerCost
	if shared {
		s = observed[0]
	} else {
		s.Observed = true
		setSums(&s, observed, "CPUNs", "UserNs", "SysNs", "CPUResolutionNs", "PeakRSSBytes",
			"Spawns", "SpawnEventsLost", "CtxSwitches", "Restarts")
		for _, c := range observed {
			if s.SpawnSource == "" {
				s.SpawnSource = c.SpawnSource
			} else if c.SpawnSource != "" && c.SpawnSource != s.SpawnSource {
				s.SpawnSource = "mixed"
			}
		}
	}
	s.DeriveRates(answered, throughput)
	return s
}

// setSums sets each field of *dst named in fields to the sum of that
// field over srcs, in order: the counters a merge adds up, named once as
// data rather than written out field by field for every struct merged.
// A named field that is missing or not a number is a bug in this package
// and panics (the merge tests reach every call).
func setSums[T any](dst *T, srcs []T, fields ...string) {
	d := reflect.ValueOf(dst).Elem()
	for _, name := range fields {
		f := d.FieldByName(name)
		if !f.CanInt() && !f.CanUint() && !f.CanFloat() {
			panic(fmt.Sprintf("results: cannot sum field %s of %s", name, d.Type()))
		}
		f.SetZero()
		for _, src := range srcs {
			v := reflect.ValueOf(src).FieldByName(name)
			switch {
			case f.CanInt():
				f.SetInt(f.Int() + v.Int())
			case f.CanUint():
				f.SetUint(f.Uint() + v.Uint())
			default:
				f.SetFloat(f.Float() + v.Float())
			}
		}
	}
}

// Encode writes f to w as Write stores it.
func Encode(w io.Writer, f *File) error {
	if f.SchemaVersion == 0 {
		f.SchemaVersion = SchemaVersion
	}
	data, err := json.MarshalIndent(f, "", "  ")
	if err != nil {
		return fmt.Errorf("results: encode: %w", err)
	}
	if _, err := w.Write(append(data, '\n')); err != nil {
		return fmt.Errorf("results: %w", err)
	}
	return nil
}
