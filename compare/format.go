package compare

// This file renders a Report: a terminal table, Markdown for a pull
// request comment or a CI job summary, and JSON for machines.

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"github.com/olekukonko/tablewriter"
	"github.com/olekukonko/tablewriter/renderer"
	"github.com/olekukonko/tablewriter/tw"
)

// Output formats accepted by --format.
const (
	FormatText     = "text"
	FormatMarkdown = "md"
	FormatJSON     = "json"
)

// WriteText writes r as terminal tables.
func WriteText(w io.Writer, r *Report) error {
	fmt.Fprintf(w, "base: %s\nnew:  %s\n", r.Base, r.New)
	fmt.Fprintf(w, "threshold %s, alpha %g (Mann–Whitney U across rounds)\n", pct(r.Threshold), r.Alpha)
	if err := writeHead(w, r, "", ""); err != nil {
		return err
	}
	if !r.Comparable {
		return nil
	}
	fmt.Fprintln(w)
	if err := renderTable(w, renderer.NewBlueprint(), header(r), cells(r, r.Rows), func(s string) string { return s }); err != nil {
		return err
	}
	fmt.Fprintln(w)
	_, err := fmt.Fprintln(w, summary(r))
	return err
}

// WriteMarkdown writes r as Markdown: the verdict first, then the rows
// that changed, then every row in a collapsed section.
func WriteMarkdown(w io.Writer, r *Report) error {
	fmt.Fprintf(w, "## forkbench comparison\n\n")
	fmt.Fprintf(w, "**%s**\n\n", summary(r))
	fmt.Fprintf(w, "Base `%s`, new `%s`; threshold %s, alpha %g (Mann–Whitney U across independent rounds).\n\n", r.Base, r.New, pct(r.Threshold), r.Alpha)
	if err := writeHead(w, r, "- ", "\n"); err != nil {
		return err
	}
	if !r.Comparable {
		return nil
	}
	var changed []Row
	for _, row := range r.Rows {
		if row.Status == Regressed || row.Status == Improved {
			changed = append(changed, row)
		}
	}
	if len(changed) > 0 {
		fmt.Fprintf(w, "### Changed\n\n")
		if err := renderTable(w, renderer.NewMarkdown(), header(r), cells(r, changed), mdEscape); err != nil {
			return err
		}
		fmt.Fprintln(w)
	}
	fmt.Fprintf(w, "<details><summary>All %d rows</summary>\n\n", len(r.Rows))
	if err := renderTable(w, renderer.NewMarkdown(), header(r), cells(r, r.Rows), mdEscape); err != nil {
		return err
	}
	_, err := fmt.Fprintf(w, "\n</details>\n")
	return err
}

// WriteJSON writes r as indented JSON.
func WriteJSON(w io.Writer, r *Report) error { return writeJSONValue(w, r) }

func writeJSONValue(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		return fmt.Errorf("compare: json: %w", err)
	}
	return nil
}

// writeHead writes the reasons, the power warning and the notes, one per
// line with prefix.
func writeHead(w io.Writer, r *Report, prefix, sep string) error {
	if !r.Comparable {
		fmt.Fprintf(w, "%sNOT COMPARABLE:\n%s", sep, sep)
		for _, s := range r.Reasons {
			fmt.Fprintf(w, "%s%s\n", prefixOr(prefix, "  "), s)
		}
	}
	if r.Power != "" {
		fmt.Fprintf(w, "%sWARNING: %s\n", sep, r.Power)
	}
	if len(r.Notes) > 0 {
		fmt.Fprintf(w, "%snotes:\n%s", sep, sep)
		for _, s := range r.Notes {
			fmt.Fprintf(w, "%s%s\n", prefixOr(prefix, "  "), s)
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
func summary(r *Report) string {
	if !r.Comparable {
		return "not comparable: " + strings.Join(r.Reasons, "; ")
	}
	var parts []string
	for _, s := range []Status{Regressed, Improved, NoChange, NotComparable} {
		if n := r.Counts[s]; n > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", n, s))
		}
	}
	if len(parts) == 0 {
		return "nothing to compare"
	}
	verdict := "no regression"
	if r.Counts[Regressed] > 0 {
		verdict = "REGRESSION"
	}
	return verdict + " (rows: " + strings.Join(parts, ", ") + ")"
}

func header(r *Report) []string {
	return []string{"target", "endpoint", "load", "metric", "base", "new", "change", fmt.Sprintf("%g%% CI", 100*(1-r.Alpha)), "p", "verdict"}
}

// cells renders one line per metric of each row.
func cells(r *Report, rows []Row) [][]string {
	var out [][]string
	for _, row := range rows {
		if len(row.Metrics) == 0 {
			out = append(out, []string{row.Target, row.Endpoint, row.Load, "", "", "", "", "", "", string(row.Status) + ": " + row.Reason})
			continue
		}
		for _, c := range row.Metrics {
			verdict := string(c.Status)
			if c.Note != "" {
				verdict += " (" + c.Note + ")"
			}
			line := []string{row.Target, row.Endpoint, row.Load, c.Metric, "", "", "", "", "", verdict}
			if c.BaseN > 0 && c.NewN > 0 {
				f := c.format
				if f == nil {
					f = func(v float64) string { return fmt.Sprintf("%.4g", v) }
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
	return out
}

func signedPct(d *float64) string {
	if d == nil {
		return "?"
	}
	return fmt.Sprintf("%+.1f%%", *d*100)
}

func renderTable(w io.Writer, rend tw.Renderer, hdr []string, rows [][]string, esc func(string) string) error {
	right := map[int]bool{4: true, 5: true, 6: true, 7: true, 8: true}
	aligns := make([]tw.Align, len(hdr))
	for i := range aligns {
		aligns[i] = tw.AlignLeft
		if right[i] {
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
	h := make([]any, len(hdr))
	for i, s := range hdr {
		h[i] = esc(s)
	}
	tb.Header(h...)
	for _, row := range rows {
		c := make([]string, len(row))
		for i, s := range row {
			c[i] = esc(s)
		}
		if err := tb.Append(c); err != nil {
			return fmt.Errorf("compare: table: %w", err)
		}
	}
	if err := tb.Render(); err != nil {
		return fmt.Errorf("compare: table: %w", err)
	}
	return nil
}

// mdEscape keeps a cell from breaking a Markdown table.
func mdEscape(s string) string {
	if s == "" {
		return " "
	}
	return strings.NewReplacer("|", `\|`, "\n", " ").Replace(s)
}
