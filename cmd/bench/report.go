package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"path/filepath"
	"strings"

	"forkbench/reports"
	"forkbench/results"
)

// reportCmd implements `bench report FILE.json [FILE2.json …] [--out DIR]
// [--format html,md,csv,png,svg] [--group-by front|protocol|language|none]`:
// it reads the files (several are overlaid, each labelled by its Label or
// its file name), renders the report and prints the paths written,
// report.html last. Flags may come before or after the files. A file that is missing, truncated or from a
// newer forkbench is a one-line error naming it.
func reportCmd(ctx context.Context, fs *flag.FlagSet, args []string, stdout, stderr io.Writer) error {
	out := fs.String("out", "", "output directory (default: the directory of the first file)")
	groupBy := fs.String("group-by", "", "order, section and colour tables and the throughput chart by front, protocol or language; none to turn off (default: by front when a file's targets span several fronts)")
	format := fs.String("format", strings.Join(reports.AllFormats(), ","), "comma-separated output formats: "+strings.Join(reports.AllFormats(), ", "))
	setUsage(fs, fmt.Sprintf("usage: bench report FILE.json [FILE2.json …] [--out DIR] [--format %s] [--group-by front|protocol|language|none]", strings.Join(reports.AllFormats(), ",")))
	paths, err := parseArgs(fs, args)
	if err != nil {
		return err
	}
	if len(paths) == 0 {
		fs.Usage()
		return fmt.Errorf("%w: usage: bench report FILE.json [FILE2.json …] [--out DIR] [--format …]", reports.ErrNoFiles)
	}
	formats, err := reports.ParseFormats(*format)
	if err != nil {
		return err
	}
	group, err := reports.ParseGroupBy(*groupBy)
	if err != nil {
		return err
	}
	files := make([]*results.File, 0, len(paths))
	for _, p := range paths {
		f, err := results.Read(p)
		if err != nil {
			return fmt.Errorf("report: %w", err)
		}
		if f.Label == "" {
			f.Label = strings.TrimSuffix(filepath.Base(p), filepath.Ext(p))
		}
		files = append(files, f)
	}
	dir := *out
	if dir == "" {
		dir = filepath.Dir(paths[0])
	}
	written, err := reports.RenderWith(ctx, files, dir, formats, reports.Options{GroupBy: group})
	for _, w := range written {
		fmt.Fprintln(stdout, w)
	}
	return err
}
