package reports

// This file renders a comparison (compare.Report) and an A/A calibration:
// a terminal table, Markdown for a pull request comment or a CI job
// summary, and JSON for machines.

import (
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"

	"forkbench/compare"
	"forkbench/internal/units"
)

// Output formats of a comparison.
const (
	FormatText     = "text"
	FormatMarkdown = "md"
	FormatJSON     = "json"
)

// WriteComparison renders r in one format (text, md or json).
func WriteComparison(w io.Writer, r *compare.Report, format string) error {
	switch format {
	case FormatText:
		return writeComparisonText(w, r)
	case FormatMarkdown:
		return writeComparisonMarkdown(w, r)
	case FormatJSON:
		return WriteJSON(w, r)
	}
	return fmt.Errorf("%w %q (text, md, json)", ErrUnknownFormat, format)
}

// writeComparisonText writes r as terminal tables.
func writeComparisonText(w io.Writer, r *compare.Report) error {
	fmt.Fprintf(w, "base: %s\nnew:  %s\n", r.Base, r.New)
	fmt.Fprintf(w, "threshold %s, alpha %g (%s)\n", units.Percent(r.Threshold), r.Alpha, testName(r, "Mann–Whitney U across rounds"))
	if err := writeHead(w, r, "", ""); err != nil {
		return err
	}
	if !r.Comparable {
		return nil
	}
	fmt.Fprintln(w)
	if err := comparisonTable(r, r.Rows).Render(w, StyleText); err != nil {
		return err
	}
	fmt.Fprintln(w)
	_, err := fmt.Fprintln(w, summary(r))
	return err
}

// writeComparisonMarkdown writes r as Markdown: the verdict first, then
// the rows that changed, then every row in a collapsed section.
func writeComparisonMarkdown(w io.Writer, r *compare.Report) error {
	fmt.Fprintf(w, "## forkbench comparison\n\n")
	fmt.Fprintf(w, "**%s**\n\n", summary(r))
	fmt.Fprintf(w, "Base `%s`, new `%s`; threshold %s, alpha %g (%s).\n\n", r.Base, r.New, units.Percent(r.Threshold), r.Alpha, testName(r, "Mann–Whitney U across independent rounds"))
	if err := writeHead(w, r, "- ", "\n"); err != nil {
		return err
	}
	if !r.Comparable {
		return nil
	}
	var changed []compare.Row
	for _, row := range r.Rows {
		if row.Status == compare.Regressed || row.Status == compare.Improved {
			changed = append(changed, row)
		}
	}
	if len(changed) > 0 {
		fmt.Fprintf(w, "### Changed\n\n")
		if err := comparisonTable(r, changed).Render(w, StyleMarkdown); err != nil {
			return err
		}
		fmt.Fprintln(w)
	}
	fmt.Fprintf(w, "<details><summary>All %d rows</summary>\n\n", len(r.Rows))
	if err := comparisonTable(r, r.Rows).Render(w, StyleMarkdown); err != nil {
		return err
	}
	_, err := fmt.Fprintf(w, "\n</details>\n")
	return err
}

// WriteJSON writes v (a comparison, a calibration) as indented JSON.
func WriteJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		return fmt.Errorf("reports: json: %w", err)
	}
	return nil
}

// writeHead writes the reasons, the power warning and the notes, one per
// line with prefix.
func writeHead(w io.Writer, r *compare.Report, prefix, sep string) error {
	if !r.Comparable {
		fmt.Fprintf(w, "%sNOT COMPARABLE:\n%s", sep, sep)
		for _, n := range r.Reasons {
			fmt.Fprintf(w, "%s%s\n", prefixOr(prefix, "  "), NoteText(n))
		}
	}
	if !r.Power.IsZero() {
		fmt.Fprintf(w, "%sWARNING: %s\n", sep, NoteText(r.Power))
	}
	if len(r.Notes) > 0 {
		fmt.Fprintf(w, "%snotes:\n%s", sep, sep)
		for _, n := range r.Notes {
			fmt.Fprintf(w, "%s%s\n", prefixOr(prefix, "  "), NoteText(n))
		}
	}
	_, err := fmt.Fprint(w, sep)
	return err
}

func prefixOr(p, def string) string {
	if p == "" {
		return def
	}
	return p
}

// summary is the one-line verdict.
func summary(r *compare.Report) string {
	if !r.Comparable {
		return "not comparable: " + JoinNotes(r.Reasons, "; ")
	}
	var parts []string
	for _, s := range []compare.Status{compare.Regressed, compare.Improved, compare.BelowDetection, compare.NoChange, compare.NotComparable} {
		if n := r.Counts[s]; n > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", n, s))
		}
	}
	if len(parts) == 0 {
		return "nothing to compare"
	}
	verdict := "no regression"
	if r.Counts[compare.Regressed] > 0 {
		verdict = "REGRESSION"
	}
	return verdict + " (rows: " + strings.Join(parts, ", ") + ")"
}

// testName says which test judged r.
func testName(r *compare.Report, unpaired string) string {
	if r.Paired {
		return fmt.Sprintf("Yuen trimmed t-test on per-round log ratios, same sitting; p Holm-adjusted over the report's %d tests; MDE at 80%% power", r.Tests)
	}
	return unpaired
}

// comparisonTable is one line per metric of each row; a paired
// comparison adds the minimum detectable effect beside the verdict.
func comparisonTable(r *compare.Report, rows []compare.Row) Table {
	t := unpairedTable(r, rows)
	if !r.Paired {
		return t
	}
	// No interval column (the paired effect is a median of ratios); the
	// MDE goes before the verdict.
	const ci = 7
	fix := func(line []string, mde string) []string {
		line = slices.Delete(line, ci, ci+1)
		return slices.Insert(line, len(line)-1, mde)
	}
	t.Header = fix(t.Header, "MDE")
	i := 0
	for _, row := range rows {
		if len(row.Metrics) == 0 {
			t.Rows[i] = fix(t.Rows[i], "")
			i++
			continue
		}
		for _, c := range row.Metrics {
			t.Rows[i] = fix(t.Rows[i], c.MDEOf())
			i++
		}
	}
	return t
}

func unpairedTable(r *compare.Report, rows []compare.Row) Table {
	t := Table{
		Header: []string{"target", "endpoint", "load", "metric", "base", "new", "change", fmt.Sprintf("%g%% CI", 100*(1-r.Alpha)), "p", "verdict"},
		Right:  []bool{false, false, false, false, true, true, true, true, true},
	}
	var out [][]string
	for _, row := range rows {
		if len(row.Metrics) == 0 {
			out = append(out, []string{row.Target, row.Endpoint, row.Load, "", "", "", "", "", "", string(row.Status) + ": " + NoteText(row.Reason)})
			continue
		}
		for _, c := range row.Metrics {
			verdict := string(c.Status)
			if !c.Note.IsZero() {
				verdict += " (" + NoteText(c.Note) + ")"
			}
			line := []string{row.Target, row.Endpoint, row.Load, c.Metric, "", "", "", "", "", verdict}
			if c.BaseN > 0 && c.NewN > 0 {
				f := func(v float64) string { return fmt.Sprintf("%.4g", v) }
				if _, _, format, err := compare.MetricInfo(c.Metric); err == nil {
					f = format
				}
				line[4] = fmt.Sprintf("%s (n=%d)", f(c.Base), c.BaseN)
				line[5] = fmt.Sprintf("%s (n=%d)", f(c.New), c.NewN)
				line[6] = signedPct(c.Delta)
				if c.DeltaLo != nil {
					line[7] = "[" + signedPct(c.DeltaLo) + ", " + signedPct(c.DeltaHi) + "]"
				} else {
					line[7] = "n/a"
				}
				line[8] = fmt.Sprintf("%.3f", c.P)
			}
			out = append(out, line)
		}
	}
	t.Rows = out
	return t
}

func signedPct(d *float64) string {
	if d == nil {
		return "?"
	}
	return fmt.Sprintf("%+.1f%%", *d*100)
}

// WriteCalibration writes c as a table and the suggested threshold.
func WriteCalibration(w io.Writer, c *compare.Calibration) error {
	r := c.Report
	fmt.Fprintf(w, "A/A calibration: %s vs %s (same build; every difference is noise)\n", r.Base, r.New)
	if err := writeHead(w, r, "", ""); err != nil {
		return err
	}
	if !r.Comparable {
		return nil
	}
	var rows [][]string
	for _, n := range c.Noise {
		if n.Rows == 0 {
			rows = append(rows, []string{n.Metric, "0", "", "", "", "", "", "not measured"})
			continue
		}
		rows = append(rows, []string{
			n.Metric, fmt.Sprint(n.Rows),
			fmt.Sprintf("%.1f%%", 100*n.MedianAbsDelta),
			fmt.Sprintf("%.1f%%", 100*n.MaxAbsDelta),
			fmt.Sprintf("%.1f%%", 100*n.MaxRoundSpread),
			fmt.Sprint(n.FalseAlarms),
			units.Percent(n.Suggested),
			n.MaxRow,
		})
	}
	fmt.Fprintln(w)
	t := Table{
		Header: []string{"metric", "rows", "median |Δ|", "max |Δ|", "round spread", "false alarms @" + units.Percent(r.Threshold), "suggested", "worst row"},
		Right:  []bool{false, false, false, false, true, true, true, true},
		Rows:   rows,
	}
	if err := t.Render(w, StyleText); err != nil {
		return err
	}
	_, err := fmt.Fprintf(w, "\nsuggested: --threshold %s (twice the largest A/A difference of any metric; per-metric values above)\n", units.Percent(c.Suggested))
	return err
}

// WritePairedCalibration writes an A/A `bench ab` as the noise per target
// and metric: the spread of the paired ratios and the minimum detectable
// effect at the run's rounds and threshold.
func WritePairedCalibration(w io.Writer, r *compare.Report, noise []compare.PairedNoise) error {
	fmt.Fprintf(w, "A/A paired calibration: %s vs %s (same build, same sitting; every difference is noise)\n", r.Base, r.New)
	if err := writeHead(w, r, "", ""); err != nil {
		return err
	}
	pct := func(v float64) string { return fmt.Sprintf("%.1f%%", 100*v) }
	t := Table{
		Header: []string{"target", "metric", "rows", "pairs", "median |r−1|", "max |r−1|", "sd(log r)", "max |effect|", "MDE", "false alarms @" + units.Percent(r.Threshold)},
		Right:  []bool{false, false, true, true, true, true, true, true, true, true},
	}
	for _, n := range noise {
		mde := "∞"
		if n.MDE != nil {
			mde = compare.FormatMDE(*n.MDE)
		}
		t.Rows = append(t.Rows, []string{n.Target, n.Metric, fmt.Sprint(n.Rows), fmt.Sprint(n.Pairs),
			pct(n.MedianAbs), pct(n.MaxAbs), fmt.Sprintf("%.3f", n.SD), pct(n.Effect), mde, fmt.Sprint(n.FalseAlarms)})
	}
	fmt.Fprintln(w)
	if err := t.Render(w, StyleText); err != nil {
		return err
	}
	_, err := fmt.Fprintf(w, "\nMDE: the smallest change a paired run with these rounds finds at alpha %g with 80%% power; a change below it (or below a threshold under it) is reported as \"%s\".\n", r.Alpha, compare.BelowDetection)
	return err
}
