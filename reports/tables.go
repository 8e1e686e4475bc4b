package reports

// This file builds the tables: one neutral model (title, header, cells)
// built from the Summary, drawn by tablewriter for the terminal and
// Markdown, by html/template for the HTML report, and by encoding/csv for
// the one-row-per-point CSV.

import (
	"cmp"
	"encoding/csv"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"

	"github.com/olekukonko/tablewriter"
	"github.com/olekukonko/tablewriter/renderer"
	"github.com/olekukonko/tablewriter/tw"

	"forkbench/results"
)

// Table is a titled grid of formatted cells, the suite's one table
// model: drawn by tablewriter for terminals and Markdown (Render), by
// html/template in report.html. The report's tables, comparisons and
// `bench loadgen-check` all draw through it. In a report, Title always
// names the load model (or the measurement) its figures came from.
type Table struct {
	Title  string
	Header []string
	Right  []bool // right-align the column (numbers)
	Rows   [][]string
}

type table = Table

// Style is how Render draws a table.
type Style int

// Table styles.
const (
	// StyleText draws box-drawing borders for a terminal.
	StyleText Style = iota
	// StyleMarkdown draws a GitHub-flavoured Markdown table, cells
	// escaped.
	StyleMarkdown
)

// Render draws t (without its title) in style.
func (t Table) Render(w io.Writer, style Style) error {
	if style == StyleMarkdown {
		return t.render(w, renderer.NewMarkdown(), mdEscape)
	}
	return t.render(w, renderer.NewBlueprint(), noEscape)
}

// tables returns every table of the report, in order: per file, the
// closed-model table, the open-model table, our fronts against the real
// servers, the knees, the fork rows.
func tables(s *Summary) []table {
	var out []table
	for fi, f := range s.Files {
		prefix := s.prefix(fi)
		for _, m := range []results.Model{results.ModelClosed, results.ModelOpen} {
			if rows := s.rowsOf(fi, m); len(rows) > 0 {
				out = append(out, groupedPointTable(s, fi, m, rows))
			}
		}
		if t, ok := frontsTable(s, fi); ok {
			out = append(out, t)
		}
		for _, m := range otherModels(s, fi) {
			out = append(out, groupedPointTable(s, fi, m, s.rowsOf(fi, m)))
		}
		if len(f.Knees) > 0 {
			out = append(out, kneeTable(prefix, f))
		}
		if f.Fork != nil && len(f.Fork.Rows) > 0 {
			out = append(out, forkTables(prefix, f.Fork)...)
		}
	}
	return out
}

// otherModels lists models the suite does not know, so their points are
// still shown rather than dropped.
func otherModels(s *Summary, fi int) []results.Model {
	var out []results.Model
	for _, r := range s.Rows {
		if r.File == fi && r.Model != results.ModelClosed && r.Model != results.ModelOpen && !slices.Contains(out, r.Model) {
			out = append(out, r.Model)
		}
	}
	return out
}

func roundsText(rows []*Row) string {
	lo, hi := rows[0].Rounds, rows[0].Rounds
	for _, r := range rows {
		lo, hi = min(lo, r.Rounds), max(hi, r.Rounds)
	}
	if lo == hi {
		return fmt.Sprintf("median of %d round%s", lo, plural(lo))
	}
	return fmt.Sprintf("median of %d–%d rounds", lo, hi)
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}

// groupedPointTable is pointTable for file fi, its rows ordered by the
// file's grouping and a first column naming each row's group.
func groupedPointTable(s *Summary, fi int, model results.Model, rows []*Row) table {
	f, by := s.Files[fi], s.GroupBy[fi]
	if by == GroupNone {
		return pointTable(s.prefix(fi), f, model, rows)
	}
	rows, groups := orderByGroup(s.Files, f, by, rows)
	t := pointTable(s.prefix(fi), f, model, rows)
	t.Title += " Grouped by " + by + "."
	t.Header = append([]string{by}, t.Header...)
	t.Right = append([]bool{false}, t.Right...)
	for i := range t.Rows {
		t.Rows[i] = append([]string{groups[i]}, t.Rows[i]...)
	}
	return t
}

func pointTable(prefix string, f *results.File, model results.Model, rows []*Row) table {
	t := table{}
	switch model {
	case results.ModelClosed:
		conns := rows[0].points[0].Connections
		if conns == 0 {
			conns = f.Settings.Connections
		}
		t.Title = fmt.Sprintf("%sClosed model — capacity (%d connections, %s). Its latencies hide queueing: read latency from the open model.",
			prefix, conns, roundsText(rows))
	case results.ModelOpen:
		t.Title = fmt.Sprintf("%sOpen model — latency from intended send times (constant offered rate, %s). \"sat\": saturated, latency not valid.",
			prefix, roundsText(rows))
	default:
		t.Title = fmt.Sprintf("%sModel %q (%s).", prefix, model, roundsText(rows))
	}
	t.Header = []string{"target", "endpoint", "model"}
	t.Right = []bool{false, false, false}
	open := model == results.ModelOpen
	if open {
		t.Header = append(t.Header, "offered req/s")
		t.Right = append(t.Right, true)
	}
	t.Header = append(t.Header, "throughput req/s", "samples", "p50 ms", "p90 ms", "p99 ms", "p99.9 ms", "errors",
		"CPU µs/req", "peak MB", "spawns/req", "×embedded req/s", "×embedded CPU")
	for len(t.Right) < len(t.Header) {
		t.Right = append(t.Right, true)
	}
	if hidesPercentiles(rows) {
		t.Title += fmt.Sprintf(" A percentile is shown (%s otherwise) only with ≥ %d samples above it in every round: p50 needs %d, p90 %d, p99 %s, p99.9 %s; \"samples\" is the fewest a round held.",
			dash, results.PercentileAbove, results.PercentileMinSamples(50), results.PercentileMinSamples(90),
			count(results.PercentileMinSamples(99)), count(results.PercentileMinSamples(99.9)))
	}
	for _, r := range rows {
		cells := []string{r.Target, r.Endpoint, modelCell(r)}
		if open {
			cells = append(cells, rate(r.Rate))
		}
		lat := func(s Stat) string {
			switch {
			case !s.Valid():
				return dash
			case !r.LatencyValid:
				return "sat"
			}
			return ms(s.Median)
		}
		cpu, peak, spawns := dash, dash, dash
		if r.ServerObserved {
			cpu, peak, spawns = us(r.CPUPerRequest.Median), mb(r.PeakRSS), sig(r.SpawnsPerRequest.Median, 3)
		}
		thr := dash
		if r.Throughput.Valid() {
			thr = rate(r.Throughput.Median)
		}
		errs := fmt.Sprint(r.Errors)
		if r.ErrorP50.Valid() {
			errs += " (p50 " + ms(r.ErrorP50.Median) + " ms)"
		}
		cells = append(cells, thr, fmt.Sprint(r.Samples), lat(r.P50), lat(r.P90), lat(r.P99), lat(r.P999),
			errs, cpu, peak, spawns,
			times(r.VsEmbedded.Throughput), times(r.VsEmbedded.CPUPerRequest))
		t.Rows = append(t.Rows, cells)
	}
	return t
}

// modelCell names a row's model in a table: "closed", "open", or for a
// sweep step "sweep 0.5×" (an open-model point at that fraction of the
// round's capacity).
func modelCell(r *Row) string {
	if r.Step > 0 {
		return "sweep " + trimZeros(sig(r.Step, 3)) + "×"
	}
	return string(r.Model)
}

func kneeTable(prefix string, f *results.File) table {
	t := table{
		Title:  prefix + "Knees — highest offered rate with p99 (from intended send) under the SLO and no errors (open-model sweep, median across rounds).",
		Header: []string{"target", "endpoint", "knee req/s", "SLO p99 ms", "note"},
		Right:  []bool{false, false, true, true, false},
	}
	ks := slices.Clone(f.Knees)
	o := targetOrder([]*results.File{f})
	eo := endpointOrder(f)
	slices.SortStableFunc(ks, func(a, b results.Knee) int {
		return cmp.Or(cmp.Compare(eo[a.Endpoint], eo[b.Endpoint]), cmp.Compare(o[a.Target], o[b.Target]))
	})
	for _, k := range ks {
		knee := rate(k.Rate)
		if !k.Found {
			knee = "none"
		}
		t.Rows = append(t.Rows, []string{k.Target, k.Endpoint, knee, ms(float64(k.SLOP99Ns)), JoinNotes(k.Notes, "; ")})
	}
	return t
}

// params formats a parameter map in key order: "deployment=cgi work_n=10".
func params(m map[string]string) string {
	var b []string
	for _, k := range slices.Sorted(maps.Keys(m)) {
		b = append(b, k+"="+m[k])
	}
	return strings.Join(b, " ")
}

// render draws t with tablewriter through rend (Blueprint for terminals,
// Markdown for report.md).
func (t table) render(w io.Writer, rend tw.Renderer, esc func(string) string) error {
	aligns := make([]tw.Align, len(t.Header))
	for i := range aligns {
		aligns[i] = tw.AlignLeft
		if i < len(t.Right) && t.Right[i] {
			aligns[i] = tw.AlignRight
		}
	}
	tb := tablewriter.NewTable(w,
		tablewriter.WithRenderer(rend),
		tablewriter.WithHeaderAutoFormat(tw.Off),
		tablewriter.WithHeaderAlignmentConfig(tw.CellAlignment{PerColumn: aligns}),
		tablewriter.WithRowAlignmentConfig(tw.CellAlignment{PerColumn: aligns}),
		tablewriter.WithRowAutoWrap(tw.WrapNone),
	)
	hdr := make([]any, len(t.Header))
	for i, h := range t.Header {
		hdr[i] = esc(h)
	}
	tb.Header(hdr...)
	for _, row := range t.Rows {
		cells := make([]string, len(row))
		for i, c := range row {
			cells[i] = esc(c)
		}
		if err := tb.Append(cells); err != nil {
			return fmt.Errorf("reports: table: %w", err)
		}
	}
	if err := tb.Render(); err != nil {
		return fmt.Errorf("reports: table: %w", err)
	}
	return nil
}

func noEscape(s string) string { return s }

// mdEscape keeps a cell from breaking a Markdown table.
func mdEscape(s string) string {
	if s == "" {
		return " "
	}
	return strings.NewReplacer("|", `\|`, "\n", " ").Replace(s)
}

// WriteTerminal writes the summary `bench run` prints: one table per file
// and load model, each titled with the model its figures came from, then
// the notes that make any figure less trustworthy.
func WriteTerminal(w io.Writer, files []*results.File) error {
	s := Summarize(files)
	ew := &errWriter{w: w}
	for fi := range s.Files {
		if p := partialNote(s, fi); p != "" {
			fmt.Fprintf(ew, "*** %s ***\n", p)
		}
	}
	if h := headline(s); h != "" {
		fmt.Fprintf(ew, "%s\n\n", h)
	}
	if err := writeTables(ew, tables(s), StyleText, "%s\n"); err != nil {
		return err
	}
	if ns := notes(s); len(ns) > 0 {
		fmt.Fprintln(ew, "Notes:")
		for _, n := range ns {
			fmt.Fprintf(ew, "  - %s\n", n)
		}
	}
	return ew.err
}

// writeTables writes each table's title (through titleFormat) and the
// table in style, a blank line after each.
func writeTables(ew *errWriter, ts []Table, style Style, titleFormat string) error {
	for _, t := range ts {
		fmt.Fprintf(ew, titleFormat, t.Title)
		if ew.err != nil {
			return ew.err
		}
		if err := t.Render(ew.w, style); err != nil {
			return err
		}
		fmt.Fprintln(ew)
	}
	return ew.err
}

// errWriter keeps the first write error so a long report is not checked
// line by line.
type errWriter struct {
	w   io.Writer
	err error
}

func (e *errWriter) Write(p []byte) (int, error) {
	if e.err != nil {
		return 0, e.err
	}
	n, err := e.w.Write(p)
	if err != nil {
		e.err = fmt.Errorf("reports: %w", err)
	}
	return n, e.err
}

// csvHeader names the CSV columns, units in the names.
func csvHeader() []string {
	return []string{
		"file", "label", "target", "endpoint", "path", "model", "offered_rate_req_per_s", "rounds",
		"throughput_req_per_s_median", "throughput_req_per_s_min", "throughput_req_per_s_max",
		"latency_source", "latency_valid",
		"p50_ms_median", "p50_ms_min", "p50_ms_max",
		"p90_ms_median", "p90_ms_min", "p90_ms_max",
		"p99_ms_median", "p99_ms_min", "p99_ms_max",
		"p999_ms_median", "p999_ms_min", "p999_ms_max",
		"saturated_rounds", "generator_bound_rounds", "requests", "errors", "errors_by_kind",
		"server_observed",
		"server_cpu_us_per_req_median", "server_cpu_us_per_req_min", "server_cpu_us_per_req_max",
		"peak_rss_mb_max",
		"spawns_per_req_median", "spawns_per_req_min", "spawns_per_req_max",
		"generator_core_share_max",
		"req_per_cpu_sec", "req_per_s_per_mb",
		"throughput_x_embedded", "p50_x_embedded", "p90_x_embedded", "p99_x_embedded", "p999_x_embedded",
		"cpu_per_req_x_embedded", "peak_rss_x_embedded", "spawns_per_req_x_embedded",
	}
}

// WriteCSV writes one row per aggregated point (file × target × endpoint
// × model × offered rate) with medians and ranges across rounds.
func WriteCSV(w io.Writer, files []*results.File) error {
	return writeCSV(w, Summarize(files))
}

func writeCSV(w io.Writer, s *Summary) error {
	cw := csv.NewWriter(w)
	if err := cw.Write(csvHeader()); err != nil {
		return fmt.Errorf("reports: csv: %w", err)
	}
	scaled := func(st Stat, scale float64) []string {
		if !st.Valid() {
			return []string{"", "", ""}
		}
		return []string{csvNum(st.Median / scale), csvNum(st.Min / scale), csvNum(st.Max / scale)}
	}
	for _, r := range s.Rows {
		rec := []string{itoa(r.File + 1), r.Label, r.Target, r.Endpoint, r.Path, modelCell(r), csvNum(r.Rate), itoa(r.Rounds)}
		rec = append(rec, scaled(r.Throughput, 1)...)
		rec = append(rec, r.LatencySource, fmt.Sprint(r.LatencyValid))
		for _, st := range []Stat{r.P50, r.P90, r.P99, r.P999} {
			rec = append(rec, scaled(st, 1e6)...)
		}
		var kinds []string
		for _, k := range slices.Sorted(maps.Keys(r.ErrorsByKind)) {
			kinds = append(kinds, fmt.Sprintf("%s=%d", k, r.ErrorsByKind[k]))
		}
		rec = append(rec, itoa(r.SaturatedRounds), itoa(r.GeneratorBoundRounds),
			fmt.Sprint(r.Requests), fmt.Sprint(r.Errors), strings.Join(kinds, ";"), fmt.Sprint(r.ServerObserved))
		rec = append(rec, scaled(r.CPUPerRequest, 1e3)...)
		peak := ""
		if r.ServerObserved {
			peak = csvNum(r.PeakRSS / 1e6)
		}
		rec = append(rec, peak)
		rec = append(rec, scaled(r.SpawnsPerRequest, 1)...)
		rec = append(rec, csvNum(r.GeneratorShare))
		// The derived figures that compare targets whatever the load:
		// requests per CPU-second of the server, and throughput per MB of
		// its peak memory (medians).
		perCPU, perMB := "", ""
		if r.ServerObserved && r.CPUPerRequest.Valid() && r.CPUPerRequest.Median > 0 {
			perCPU = csvNum(1e9 / r.CPUPerRequest.Median)
		}
		if r.ServerObserved && r.PeakRSS > 0 && r.Throughput.Valid() {
			perMB = csvNum(r.Throughput.Median / (r.PeakRSS / 1e6))
		}
		rec = append(rec, perCPU, perMB)
		v := r.VsEmbedded
		for _, x := range []float64{v.Throughput, v.P50, v.P90, v.P99, v.P999, v.CPUPerRequest, v.PeakRSS, v.SpawnsPerRequest} {
			rec = append(rec, csvNum(x))
		}
		if err := cw.Write(rec); err != nil {
			return fmt.Errorf("reports: csv: %w", err)
		}
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return fmt.Errorf("reports: csv: %w", err)
	}
	return nil
}

// hidesPercentiles reports whether some row measured latency but had too
// few samples to show one of its percentiles.
func hidesPercentiles(rows []*Row) bool {
	for _, r := range rows {
		if r.Samples > 0 && !results.PercentileShown(r.Samples, 99.9) {
			return true
		}
	}
	return false
}

// count renders an integer with thousands separators.
func count(n int64) string {
	s := fmt.Sprint(n)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}
