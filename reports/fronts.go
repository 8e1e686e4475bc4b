package reports

// This file sets the suite's own fronts against the real servers measured
// in the same run on the same app over the same protocol: our CGI host
// beside nginx + fcgiwrap and Apache's mod_cgid exec'ing the same child,
// our FastCGI front beside nginx's and Apache's fastcgi_pass to the same
// daemon. The brief promises ours match or beat them; these rows are each
// run's own evidence, right or wrong.

import (
	"fmt"
	"math"
	"slices"
	"strings"

	"forkbench/results"
)

// isReference reports whether r's target is a reference of its file: a
// real server measured beside ours in the closed model only
// (results.Settings.References).
func (s *Summary) isReference(r *Row) bool {
	return slices.Contains(s.Files[r.File].Settings.References, r.Target)
}

// frontPair is one of our deployments (a Go-front target) and a real
// server's target running the same app over the same protocol, at one
// closed-model load point of one file.
type frontPair struct {
	ours, theirs *Row
	protocol     string
	// Throughput and CPU are ours ÷ theirs, one ratio per round both
	// measured, reduced to median and range: pairing by round keeps the
	// machine's drift between rounds out of the ratio.
	Throughput, CPU Stat
}

// frontPairs lists file fi's pairs in row order (endpoint, then ours,
// then theirs): closed-model rows only, the model capacity and CPU per
// request are compared in.
func frontPairs(s *Summary, fi int) []frontPair {
	f := s.Files[fi]
	rows := s.rowsOf(fi, results.ModelClosed)
	var out []frontPair
	for _, ours := range rows {
		oi, _ := f.TargetInfoOf(ours.Target)
		for _, theirs := range rows {
			ti, _ := f.TargetInfoOf(theirs.Target)
			if !ti.RivalOf(oi) || theirs.Endpoint != ours.Endpoint || ours.Step > 0 || theirs.Step > 0 {
				continue
			}
			thr, cpu := pairedRatios(ours, theirs)
			out = append(out, frontPair{ours: ours, theirs: theirs, protocol: oi.Protocol, Throughput: thr, CPU: cpu})
		}
	}
	return out
}

// pairedRatios divides a's throughput and CPU per request by b's round by
// round (rounds both measured, with a non-zero divisor).
func pairedRatios(a, b *Row) (thr, cpu Stat) {
	var ts, cs []float64
	for _, p := range a.points {
		for _, q := range b.points {
			if p.Round != q.Round {
				continue
			}
			if q.Throughput > 0 {
				ts = append(ts, p.Throughput/q.Throughput)
			}
			if p.Server.Observed && q.Server.Observed && q.Server.CPUPerRequestNs > 0 {
				cs = append(cs, p.Server.CPUPerRequestNs/q.Server.CPUPerRequestNs)
			}
		}
	}
	return newStat(ts), newStat(cs)
}

// ratioRange formats a paired ratio as "1.07× (0.99–1.13)", or a dash.
func ratioRange(st Stat) string {
	if !st.Valid() {
		return dash
	}
	if st.N < 2 {
		return times(st.Median)
	}
	return fmt.Sprintf("%s (%s–%s)", times(st.Median), sig(st.Min, 3), sig(st.Max, 3))
}

// frontsTable is file fi's table of our fronts against the real servers,
// and false when the file has no such pair.
func frontsTable(s *Summary, fi int) (table, bool) {
	ps := frontPairs(s, fi)
	if len(ps) == 0 {
		return table{}, false
	}
	t := table{
		Title: s.prefix(fi) + "Our fronts against real servers running the same app over the same protocol (closed model, " + roundsText(pairRows(ps)) +
			"). ours ÷ theirs is the median of per-round ratios (range): above 1 for req/s, below 1 for CPU, ours is ahead.",
		Header: []string{"endpoint", "protocol", "ours", "theirs", "ours req/s", "theirs req/s", "ours ÷ theirs req/s", "ours CPU µs/req", "theirs CPU µs/req", "ours ÷ theirs CPU"},
		Right:  []bool{false, false, false, false, true, true, true, true, true, true},
	}
	for _, p := range ps {
		t.Rows = append(t.Rows, []string{p.ours.Endpoint, p.protocol, p.ours.Target, p.theirs.Target,
			statCell(p.ours.Throughput, rate), statCell(p.theirs.Throughput, rate), ratioRange(p.Throughput),
			statCell(p.ours.CPUPerRequest, us), statCell(p.theirs.CPUPerRequest, us), ratioRange(p.CPU)})
	}
	return t, true
}

// pairRows lists the rows of ps, for the rounds they rest on.
func pairRows(ps []frontPair) []*Row {
	var rows []*Row
	for _, p := range ps {
		rows = append(rows, p.ours, p.theirs)
	}
	return rows
}

// statCell formats a Stat's median with format, or a dash.
func statCell(st Stat, format func(float64) string) string {
	if !st.Valid() {
		return dash
	}
	return format(st.Median)
}

// frontsSentence says in one sentence where our fronts stand against the
// real servers on the first endpoint file fi has pairs on: each of ours
// against the fastest real server on the same app there (the table has
// the others); "" without pairs.
func frontsSentence(s *Summary, fi int) string {
	ps := frontPairs(s, fi)
	if len(ps) == 0 {
		return ""
	}
	var best []frontPair
	rivals := map[*Row]int{}
	for _, p := range ps {
		if p.ours.Endpoint != ps[0].ours.Endpoint || !p.Throughput.Valid() {
			continue
		}
		rivals[p.ours]++
		i := slices.IndexFunc(best, func(b frontPair) bool { return b.ours == p.ours })
		switch {
		case i < 0:
			best = append(best, p)
		case p.theirs.Throughput.Median > best[i].theirs.Throughput.Median:
			best[i] = p
		}
	}
	var parts []string
	for _, p := range best {
		part := fmt.Sprintf("%s (%s) serves %s the throughput of %s", ourFront(p.protocol), p.ours.Target, times(p.Throughput.Median), p.theirs.Target)
		if n := rivals[p.ours]; n > 1 {
			part += fmt.Sprintf(", the fastest of %d real servers here", n)
		}
		if p.Throughput.N > 1 {
			part += fmt.Sprintf(" (per round %s–%s)", sig(p.Throughput.Min, 3), sig(p.Throughput.Max, 3))
		}
		if p.CPU.Valid() && !math.IsNaN(p.CPU.Median) {
			part += fmt.Sprintf(", at %s its CPU per request", times(p.CPU.Median))
		}
		parts = append(parts, part)
	}
	if len(parts) == 0 {
		return ""
	}
	return fmt.Sprintf("Against real servers on the same app (%s, closed model, medians of per-round ratios): %s.",
		endpointName(ps[0].ours), strings.Join(parts, "; "))
}

// ourFront names the suite's front for protocol in prose.
func ourFront(protocol string) string {
	switch protocol {
	case "cgi":
		return "our CGI host"
	case "fastcgi":
		return "our FastCGI front"
	}
	return "our " + protocol + " front"
}
