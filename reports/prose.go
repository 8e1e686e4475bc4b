package reports

// This file writes the sentences of a report: the headline, the machine
// and settings description, and the notes on anything that makes a figure
// less trustworthy. Every number in them comes from the Summary.

import (
	"cmp"
	"fmt"
	"maps"
	"math"
	"slices"
	"strings"
	"time"

	"forkbench/results"
)

// displayName is how prose names a target.
func displayName(t string) string {
	switch t {
	case TargetCGI:
		return "CGI"
	case TargetFCGI:
		return "FastCGI"
	}
	return t
}

// endpointName is the path of an endpoint without its query, for prose.
func endpointName(r *Row) string {
	p, _, _ := strings.Cut(r.Path, "?")
	if strings.HasPrefix(p, "/") {
		return p
	}
	return r.Endpoint
}

// Headline computes the report's one-sentence finding from files.
func Headline(files []*results.File) string { return headline(Summarize(files)) }

func headline(s *Summary) string {
	if len(s.Files) == 0 {
		return "No result files."
	}
	h := headlineFile(s, 0)
	if fs := frontsSentence(s, 0); fs != "" {
		h += " " + fs
	}
	if len(s.Files) > 1 {
		h = "In " + s.Labels[0] + ", " + strings.ToLower(h[:1]) + h[1:]
	}
	return h
}

// comparison is one target set against embedded on the same footing:
// row and base for latency, cpu and cpuBase for CPU per request.
type comparison struct {
	row, base    *Row
	cpu, cpuBase *Row
}

// cpuPair picks the rows CPU per request is compared on: the closed model
// when both have it (thousands of requests in the window, the server busy:
// the marginal cost of a request, measured to the finest resolution),
// else the latency rows themselves. An open point at a light rate also
// charges the server's idle CPU to its few requests.
func cpuPair(s *Summary, fi int, c *comparison) {
	r := s.Find(fi, c.row.Target, c.row.Endpoint, results.ModelClosed, 0)
	b := s.Find(fi, TargetEmbedded, c.row.Endpoint, results.ModelClosed, 0)
	if r != nil && b != nil && r.CPUPerRequest.Valid() && b.CPUPerRequest.Valid() {
		c.cpu, c.cpuBase = r, b
		return
	}
	c.cpu, c.cpuBase = c.row, c.base
}

// latencyPair finds rows of target and embedded whose latency compares
// fairly: the lowest open-model rate at which both are valid, else the
// closed model.
func latencyPair(s *Summary, fi int, endpoint, target string) (comparison, bool) {
	for _, r := range s.rowsOf(fi, results.ModelOpen) {
		if r.Target != target || r.Endpoint != endpoint || !r.LatencyValid {
			continue
		}
		if b := s.Find(fi, TargetEmbedded, endpoint, results.ModelOpen, r.Rate); b != nil && b.LatencyValid {
			return comparison{row: r, base: b}, true
		}
	}
	r := s.Find(fi, target, endpoint, results.ModelClosed, 0)
	b := s.Find(fi, TargetEmbedded, endpoint, results.ModelClosed, 0)
	if r != nil && b != nil && r.LatencyValid && b.LatencyValid {
		return comparison{row: r, base: b}, true
	}
	return comparison{}, false
}

func footing(r *Row) string {
	if r.Model == results.ModelOpen {
		return fmt.Sprintf("open model at %s req/s", rate(r.Rate))
	}
	return "closed model, so latency includes queueing"
}

// delta formats a difference in nanoseconds as "1.9 ms more" or "0.01 ms less".
func delta(ns float64) string {
	word := "more"
	if ns < 0 {
		word = "less"
	}
	return trimZeros(sig(math.Abs(ns)/1e6, 2)) + " ms " + word
}

func headlineFile(s *Summary, fi int) string {
	f := s.Files[fi]
	if forkOnly(f) {
		if h, ok := forkHeadline(f.Fork); ok {
			return h
		}
	}
	for _, e := range endpoints([]*results.File{f}) {
		var cs []comparison
		for _, t := range headlineTargets(s, fi, e) {
			if c, ok := latencyPair(s, fi, e, t); ok {
				cpuPair(s, fi, &c)
				cs = append(cs, c)
			}
		}
		if len(cs) == 0 {
			continue
		}
		same, cpuSame := true, true
		for _, c := range cs {
			same = same && c.row.Model == cs[0].row.Model && c.row.Rate == cs[0].row.Rate
			cpuSame = cpuSame && c.cpu.Model == cs[0].cpu.Model && c.cpu.Rate == cs[0].cpu.Rate
		}
		// cpuFooting names where CPU came from when it is not where
		// latency came from.
		cpuFooting := func(c comparison) string {
			if c.cpu == c.row {
				return ""
			}
			return " (" + string(c.cpu.Model) + " model)"
		}
		var b strings.Builder
		fmt.Fprintf(&b, "On %s", endpointName(cs[0].row))
		if same {
			fmt.Fprintf(&b, " (%s)", footing(cs[0].row))
		}
		b.WriteString(", ")
		for i, c := range cs {
			dl := c.row.P50.Median - c.base.P50.Median
			cpuOK := c.cpu.CPUPerRequest.Valid() && c.cpuBase.CPUPerRequest.Valid()
			dc := c.cpu.CPUPerRequest.Median - c.cpuBase.CPUPerRequest.Median
			if i > 0 {
				b.WriteString("; ")
			}
			fmt.Fprintf(&b, "%s costs ", displayName(c.row.Target))
			switch {
			case i > 0 && cpuOK && dl >= 0 && dc >= 0 && same && cpuSame:
				fmt.Fprintf(&b, "%s and %s", strings.TrimSuffix(delta(dl), " more"), strings.TrimSuffix(delta(dc), " more"))
			case i > 0 && !cpuOK:
				fmt.Fprintf(&b, "%s latency", delta(dl))
			default:
				fmt.Fprintf(&b, "%s latency (p50)", delta(dl))
				if cpuOK {
					fmt.Fprintf(&b, " and %s CPU per request%s", delta(dc), cpuFooting(c))
				}
				if i == 0 {
					b.WriteString(" than embedded")
				}
			}
			if !same {
				fmt.Fprintf(&b, " (%s)", footing(c.row))
			}
		}
		b.WriteString(".")
		return b.String()
	}
	return headlineFallback(s, fi)
}

// headlineTargets lists the targets to set against embedded on endpoint e:
// CGI first (the subject of the suite), then FastCGI, then the others;
// not the references, which frontsSentence sets against ours instead.
func headlineTargets(s *Summary, fi int, e string) []string {
	present := map[string]bool{}
	for _, r := range s.Rows {
		if r.File == fi && r.Endpoint == e && r.Target != TargetEmbedded && !s.isReference(r) {
			present[r.Target] = true
		}
	}
	ts := orderedTargets(s.Files, present)
	rank := func(t string) int {
		switch t {
		case TargetCGI:
			return 0
		case TargetFCGI:
			return 1
		}
		return 2
	}
	slices.SortStableFunc(ts, func(a, b string) int { return cmp.Compare(rank(a), rank(b)) })
	return ts
}

// headlineFallback says what can be said without an embedded baseline.
func headlineFallback(s *Summary, fi int) string {
	f := s.Files[fi]
	closed := s.rowsOf(fi, results.ModelClosed)
	if len(closed) > 0 {
		e := closed[0].Endpoint
		var parts []string
		for _, r := range closed {
			if r.Endpoint == e && r.Throughput.Valid() {
				parts = append(parts, fmt.Sprintf("%s served %s req/s", displayName(r.Target), rate(r.Throughput.Median)))
			}
		}
		return fmt.Sprintf("On %s (closed model), %s; no embedded baseline to compare latency and CPU against.",
			endpointName(closed[0]), strings.Join(parts, ", "))
	}
	open := s.rowsOf(fi, results.ModelOpen)
	for _, r := range open {
		if r.LatencyValid {
			return fmt.Sprintf("On %s, %s answered in %s ms (p50, open model at %s req/s); no embedded baseline to compare against.",
				endpointName(r), displayName(r.Target), trimZeros(sig(r.P50.Median/1e6, 2)), rate(r.Rate))
		}
	}
	if f.Fork != nil {
		if parts, total := decomposition(f.Fork, TargetCGI); len(parts) > 0 {
			var ps []string
			for _, p := range parts {
				ps = append(ps, fmt.Sprintf("%s %s ms", p.name, trimZeros(sig(p.wallNs/1e6, 2))))
			}
			return fmt.Sprintf("In the fork decomposition, a CGI request takes %s ms of wall time: %s.",
				trimZeros(sig(total/1e6, 2)), strings.Join(ps, ", "))
		}
	}
	if len(f.Points) == 0 {
		return "This file holds no measured points."
	}
	return "No point in this file has a valid latency or throughput to report."
}

// kv is one line of the machine and settings description.
type kv struct{ Key, Value string }

// machine describes where and with what f was measured.
func machine(f *results.File) []kv {
	e := f.Environment
	commit := e.GitCommit
	if commit == "" {
		commit = "unknown"
	}
	if e.GitDirty {
		commit += " (dirty)"
	}
	out := []kv{
		{"Host", e.Hostname},
		{"CPU", fmt.Sprintf("%s × %d", e.CPUModel, e.CPUs)},
		{"Memory", bytesHuman(e.MemoryBytes)},
		{"OS", strings.TrimSpace(e.OS + "/" + e.Arch + " " + e.Kernel)},
		{"Go", e.GoVersion},
		{"forkbench", strings.TrimSpace(e.SuiteVersion + " " + commit)},
		{"Command", strings.Join(e.Command, " ")},
	}
	if !f.StartedAt.IsZero() {
		span := f.StartedAt.UTC().Format(time.RFC3339)
		if !f.FinishedAt.IsZero() {
			span += " to " + f.FinishedAt.UTC().Format(time.RFC3339)
		}
		out = append(out, kv{"Run", span})
	}
	return out
}

// settings describes f's run plan; a fork-only file has none, and says
// what it measured instead.
func settings(f *results.File) []kv {
	if forkOnly(f) {
		return forkSettings(f)
	}
	st := f.Settings
	out := []kv{
		{"Scenario", st.Scenario},
		{"Targets", strings.Join(st.Targets, ", ")},
		{"Endpoints", strings.Join(st.Endpoints, ", ")},
		{"Load models", joinModels(st.Models)},
	}
	if len(st.Rates) > 0 {
		out = append(out, kv{"Offered rates", floats(st.Rates) + " req/s"})
	}
	if len(st.SweepFactors) > 0 {
		out = append(out, kv{"Sweep factors", floats(st.SweepFactors)})
	}
	out = append(out,
		kv{"Connections", itoa(st.Connections)},
		kv{"Duration / warm-up / timeout", human(st.DurationNs) + " / " + human(st.WarmupNs) + " / " + human(st.TimeoutNs)},
		kv{"Rounds", itoa(st.Rounds)},
	)
	if st.SLOP99Ns > 0 {
		out = append(out, kv{"SLO", "p99 ≤ " + human(st.SLOP99Ns)})
	}
	out = append(out, kv{"Transport", fmt.Sprintf("%s, keep-alive %v", st.Transport, st.KeepAlive)})
	if st.BodyBytes > 0 {
		out = append(out, kv{"Body", itoa(st.BodyBytes) + " bytes"})
	}
	if st.TargetOptions != nil && len(st.TargetOptions.Set()) > 0 {
		out = append(out, kv{"Target options", strings.Join(st.TargetOptions.Set(), " ")})
	}
	pin := "off"
	if f.Pinning.Enabled {
		pin = fmt.Sprintf("generator CPUs %v, target CPUs %v", f.Pinning.GeneratorCPUs, f.Pinning.TargetCPUs)
	}
	if f.Pinning.Note != "" {
		pin += " (" + f.Pinning.Note + ")"
	}
	out = append(out, kv{"CPU pinning", pin})
	for i := range out {
		if out[i].Value == "" {
			out[i].Value = dash
		}
	}
	return out
}

func joinModels(ms []results.Model) string {
	s := make([]string, len(ms))
	for i, m := range ms {
		s[i] = string(m)
	}
	return strings.Join(s, ", ")
}

// partialNote is the banner for an interrupted run, or "".
func partialNote(s *Summary, fi int) string {
	f := s.Files[fi]
	if !f.Partial {
		return ""
	}
	msg := "PARTIAL RESULT: the run was interrupted"
	if f.PartialReason != "" {
		msg += " (" + f.PartialReason + ")"
	}
	msg += "; only the points gathered before that are shown."
	if len(s.Files) > 1 {
		msg = s.Labels[fi] + ": " + msg
	}
	return msg
}

// where names a row in a note: "cgi plaintext (open, 200 req/s)", or
// for a sweep step "cgi plaintext (open, sweep step 0.5×, 450 req/s)".
func where(r *Row) string {
	return fmt.Sprintf("%s %s (%s)", r.Target, r.Endpoint, load(r))
}

// load names a row's load model and rate: "closed", "open, 200 req/s",
// "open, sweep step 0.5×, 450 req/s" (the median of the rounds' rates).
func load(r *Row) string {
	m := string(r.Model)
	if r.Step > 0 {
		m += ", sweep step " + trimZeros(sig(r.Step, 3)) + "×"
	}
	if r.Model == results.ModelOpen {
		m += ", " + rate(r.Rate) + " req/s"
	}
	return m
}

// runNotes are the notes on how a file's points were measured that its
// points and pinning show: spawns counted system-wide or with lost
// events, CPU pinning off.
func runNotes(f *results.File) []string {
	var clones, lost int
	for _, p := range f.Points {
		if p.Server.SpawnSource == "system-wide-clones" {
			clones++
		}
		if p.Server.SpawnEventsLost > 0 {
			lost++
		}
	}
	var out []string
	for _, sk := range f.Skipped {
		out = append(out, fmt.Sprintf("%s skipped: %s", sk.Target, sk.Reason))
	}
	if clones > 0 {
		out = append(out, fmt.Sprintf("%d load point(s) counted spawns system-wide (every process and thread created on the machine; the kernel's process events were not available): spawns/req is an upper bound.", clones))
	}
	if lost > 0 {
		out = append(out, fmt.Sprintf("%d load point(s) lost process events: their spawns/req is a lower bound.", lost))
	}
	if !f.Pinning.Enabled && len(f.Points) > 0 {
		out = append(out, "CPU pinning was off ("+f.Pinning.Note+"): generator and targets shared CPUs.")
	}
	return out
}

// notes lists, in plain sentences, everything that makes a figure less
// trustworthy: partial runs, the files' own notes, generator-bound points,
// errors, saturated open points, wide spread across rounds, unobserved
// servers. Spread is checked on throughput, p50 and CPU per request: tail
// percentiles of short rounds vary widely by nature, and flagging each
// would bury the notes that matter.
func notes(s *Summary) []string {
	var out []string
	for fi, f := range s.Files {
		prefix := s.prefix(fi)
		if p := partialNote(s, fi); p != "" {
			out = append(out, p)
		}
		for _, n := range f.Notes {
			out = append(out, prefix+NoteText(n))
		}
		for _, n := range runNotes(f) {
			out = append(out, prefix+n)
		}
		if f.Fork != nil {
			for _, n := range f.Fork.Notes {
				out = append(out, prefix+"fork: "+NoteText(n))
			}
		}
		saturated := map[string][]string{}
		var satOrder []string
		for _, r := range s.Rows {
			if r.File != fi {
				continue
			}
			out = append(out, rowNotes(prefix, r)...)
			if r.Model == results.ModelOpen && r.SaturatedRounds > 0 {
				k := r.Target + " " + r.Endpoint
				if _, ok := saturated[k]; !ok {
					satOrder = append(satOrder, k)
				}
				at := rate(r.Rate) + " req/s"
				if r.SaturatedRounds < r.Rounds {
					at += fmt.Sprintf(" (%d of %d rounds)", r.SaturatedRounds, r.Rounds)
				}
				saturated[k] = append(saturated[k], at)
			}
		}
		for _, k := range satOrder {
			out = append(out, fmt.Sprintf("%s%s (open): saturated at %s: the answers in the window fell more than 1%% short of the offered rate, because the target could not keep up or, in a round that alone fell short, because it stalled near the end of the window; latency there is not valid and is not shown.",
				prefix, k, strings.Join(saturated[k], ", ")))
		}
	}
	return out
}

// rowNotes are the notes on one row but its saturation, which notes
// gathers per target and endpoint.
func rowNotes(prefix string, r *Row) []string {
	var out []string
	if r.GeneratorLimitedRounds > 0 {
		out = append(out, fmt.Sprintf("%s%s: the generator could not offer this rate in %d of %d rounds (it fell behind its schedule while CPU-bound): those rounds describe the generator, not the target, and no knee rests on them.",
			prefix, where(r), r.GeneratorLimitedRounds, r.Rounds))
	}
	if r.GeneratorBoundRounds > 0 {
		out = append(out, fmt.Sprintf("%s%s: the generator used ≥ 90%% of its CPUs in %d of %d rounds (core share up to %s); the figure may be the generator's limit, not the target's.",
			prefix, where(r), r.GeneratorBoundRounds, r.Rounds, sig(r.GeneratorShare, 2)))
	}
	if r.UnansweredRounds > 0 {
		out = append(out, fmt.Sprintf("%s%s: the target answered nothing in %d of %d rounds: its figures there describe no service (the run failed).",
			prefix, where(r), r.UnansweredRounds, r.Rounds))
	}
	if r.Stuck > 0 {
		out = append(out, fmt.Sprintf("%s%s: %d connection%s stuck: of up to %d requests unanswered at a window's end, %d had waited at least half the window (the oldest %s ms); they are not in the latency figures.",
			prefix, where(r), r.Stuck, plural(int(r.Stuck)), r.Unfinished, r.Stuck, ms(r.UnfinishedAge)))
	}
	if r.Errors > 0 {
		var kinds []string
		for _, k := range slices.Sorted(maps.Keys(r.ErrorsByKind)) {
			kinds = append(kinds, fmt.Sprintf("%s %d", k, r.ErrorsByKind[k]))
		}
		took := ""
		if r.ErrorP50.Valid() {
			took = fmt.Sprintf("; failed requests took %s ms (p50), kept out of the latency figures", ms(r.ErrorP50.Median))
		}
		out = append(out, fmt.Sprintf("%s%s: %d errors in %d requests (%s)%s.",
			prefix, where(r), r.Errors, r.Requests, strings.Join(kinds, ", "), took))
	}
	if r.Model == results.ModelOpen && r.LatencySource != SourceCorrected {
		out = append(out, fmt.Sprintf("%s%s: no intended-send latency recorded; its latency is measured from the actual send and hides queueing.", prefix, where(r)))
	}
	var wide []string
	for _, w := range []struct {
		name string
		st   Stat
		ok   bool
	}{
		{"throughput", r.Throughput, true},
		{"p50", r.P50, r.LatencyValid},
		{"CPU per request", r.CPUPerRequest, true},
	} {
		if w.ok && w.st.Spread() > spreadLimit {
			wide = append(wide, fmt.Sprintf("%s %.0f%%", w.name, 100*w.st.Spread()))
		}
	}
	if len(wide) > 0 {
		out = append(out, fmt.Sprintf("%s%s: wide spread across %d rounds ((max−min)/median: %s).",
			prefix, where(r), r.Rounds, strings.Join(wide, ", ")))
	}
	if r.CPUPerRequest.Valid() && r.CPUResolution > cpuResolutionLimit*r.CPUPerRequest.Median {
		out = append(out, fmt.Sprintf("%s%s: CPU per request (%s µs) is only known to ±%s µs: the CPU of reaped processes comes from /proc in 10 ms clock ticks, and the window held too few requests to spread them.",
			prefix, where(r), us(r.CPUPerRequest.Median), us(r.CPUResolution)))
	}
	if !r.ServerObserved && r.Rounds > 0 {
		out = append(out, fmt.Sprintf("%s%s: the server's processes were not observed; CPU, memory and spawns are not available.", prefix, where(r)))
	}
	return out
}
