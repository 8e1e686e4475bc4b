// Package reports turns result files into a report: a terminal summary,
// report.md, report.csv, charts as SVG and PNG, and report.html, one
// self-contained page with every chart inlined.
//
// It reads results.File values only: it never starts a target or sends a
// request, so a file from months ago, or from another machine, can be
// redrawn or overlaid on a newer one. Every figure comes from one
// reduction (Summarize): the median across rounds with its range, latency
// from intended send times for the open model, capacity from the closed
// model. What it cannot vouch for it says in the notes rather than
// dropping: saturated points, generator-bound points, errors, wide spread
// across rounds, partial runs.
package reports

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"slices"
	"strings"

	"forkbench/results"
)

// Output formats of Render.
const (
	FormatHTML = "html"
	FormatMD   = "md"
	FormatCSV  = "csv"
	FormatPNG  = "png"
	FormatSVG  = "svg"
)

// AllFormats lists every output format, the default of Render and Run.
func AllFormats() []string {
	return []string{FormatHTML, FormatMD, FormatCSV, FormatPNG, FormatSVG}
}

// Errors of Render and Run.
var (
	// ErrUnknownFormat is returned for an output format Render cannot write.
	ErrUnknownFormat = errors.New("reports: unknown format")
	// ErrNoFiles is returned when there is nothing to report on.
	ErrNoFiles = errors.New("reports: no result files")
)

// ParseFormats splits a comma-separated format list ("html,md"),
// rejecting unknown names; empty means every format.
func ParseFormats(s string) ([]string, error) {
	var out []string
	for f := range strings.SplitSeq(s, ",") {
		f = strings.ToLower(strings.TrimSpace(f))
		if f == "" {
			continue
		}
		if !slices.Contains(AllFormats(), f) {
			return nil, fmt.Errorf("%w %q (want %s)", ErrUnknownFormat, f, strings.Join(AllFormats(), ", "))
		}
		if !slices.Contains(out, f) {
			out = append(out, f)
		}
	}
	if len(out) == 0 {
		return AllFormats(), nil
	}
	return out, nil
}

// Render writes the report of files into outDir in formats (empty means
// all): report.html, report.md, report.csv, charts/*.svg, charts/*.png.
// Each file is written atomically. It returns the paths written, with
// report.html last when written.
func Render(ctx context.Context, files []*results.File, outDir string, formats []string) ([]string, error) {
	return RenderWith(ctx, files, outDir, formats, Options{})
}

// RenderWith is Render with options (the grouping of tables and charts).
func RenderWith(ctx context.Context, files []*results.File, outDir string, formats []string, opt Options) ([]string, error) {
	if len(files) == 0 {
		return nil, ErrNoFiles
	}
	formats, err := ParseFormats(strings.Join(formats, ","))
	if err != nil {
		return nil, err
	}
	want := func(f string) bool { return slices.Contains(formats, f) }
	if _, err := ParseGroupBy(opt.GroupBy); err != nil {
		return nil, err
	}
	s := summarize(files, opt)
	var written []string
	write := func(rel string, data []byte) error {
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("reports: %w", err)
		}
		path := filepath.Join(outDir, rel)
		if err := results.WriteFileAtomic(path, data); err != nil {
			return fmt.Errorf("reports: %w", err)
		}
		written = append(written, path)
		return nil
	}

	var cs []Chart
	if want(FormatHTML) || want(FormatSVG) || want(FormatPNG) {
		if cs, err = charts(s); err != nil {
			return written, err
		}
	}
	inline, links, err := writeCharts(cs, want, write)
	if err != nil {
		return written, err
	}
	// The documents, report.html last.
	for _, d := range []struct {
		format, name string
		render       func(io.Writer) error
	}{
		{FormatCSV, "report.csv", func(w io.Writer) error { return writeCSV(w, s) }},
		{FormatMD, "report.md", func(w io.Writer) error { return writeMarkdown(w, s, links) }},
		{FormatHTML, "report.html", func(w io.Writer) error { return writeHTML(w, s, inline) }},
	} {
		if !want(d.format) {
			continue
		}
		var b bytes.Buffer
		if err := d.render(&b); err != nil {
			return written, err
		}
		if err := write(d.name, b.Bytes()); err != nil {
			return written, err
		}
	}
	return written, nil
}

// writeCharts writes each chart as SVG and PNG as the formats want, and
// returns the charts to inline in report.html and to link from report.md.
func writeCharts(cs []Chart, want func(string) bool, write func(string, []byte) error) ([]htmlChart, []chartLink, error) {
	var inline []htmlChart
	var links []chartLink
	for _, c := range cs {
		if want(FormatSVG) || want(FormatHTML) {
			svg, err := c.SVG()
			if err != nil {
				return nil, nil, err
			}
			if want(FormatSVG) {
				rel := filepath.Join("charts", c.Name+".svg")
				if err := write(rel, svg); err != nil {
					return nil, nil, err
				}
				links = append(links, chartLink{c.Title, filepath.ToSlash(rel)})
			}
			inline = append(inline, htmlChart{Name: c.Name, Title: c.Title, SVG: inlineSVG(svg)})
		}
		if want(FormatPNG) {
			png, err := c.PNG()
			if err != nil {
				return nil, nil, err
			}
			rel := filepath.Join("charts", c.Name+".png")
			if err := write(rel, png); err != nil {
				return nil, nil, err
			}
			if !want(FormatSVG) {
				links = append(links, chartLink{c.Title, filepath.ToSlash(rel)})
			}
		}
	}
	return inline, links, nil
}
