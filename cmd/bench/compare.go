package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"io"
	"strings"

	"forkbench/compare"
	"forkbench/reports"
	"forkbench/results"
)

// compareCmd implements `bench compare BASE.json NEW.json`. It exits 0
// when nothing regressed, 1 when a row regressed beyond the threshold, 2
// on bad input or incomparable files.
func compareCmd(ctx context.Context, fs *flag.FlagSet, args []string, stdout, _ io.Writer) error {
	setUsage(fs, "usage: bench compare BASE.json NEW.json [flags]")
	var c comparisonFlags
	c.register(fs, "significance level of the Mann–Whitney U test", compare.MetricNames())
	out := fs.String("out", "", "write the output to `file` instead of stdout (one format only)")
	files, err := twoArgs(fs, args, "want two result files, got %d")
	if err != nil {
		return err
	}
	opt, fmts, err := c.parse("--out", *out)
	if err != nil {
		return err
	}
	r, err := judgePair(files, opt, compare.Compare)
	if err != nil {
		return err
	}
	data, err := renderComparison(r, fmts)
	if err != nil {
		return err
	}
	if err := writeOut(stdout, *out, data); err != nil {
		return err
	}
	return verdict(r)
}

// comparisonFlags are the flags that compare and ab share, registered and
// parsed in one place so that the two commands take them alike.
type comparisonFlags struct {
	threshold, metrics, formats string
	alpha                       float64
}

// register adds --threshold, --alpha, --metrics and --format to fs;
// alphaHelp names the test alpha is the level of, which differs by
// command.
func (c *comparisonFlags) register(fs *flag.FlagSet, alphaHelp string, metrics []string) {
	fs.StringVar(&c.threshold, "threshold", "5%", "smallest change flagged, e.g. 5% or 0.05")
	fs.Float64Var(&c.alpha, "alpha", compare.DefaultAlpha, alphaHelp)
	fs.StringVar(&c.metrics, "metrics", strings.Join(metrics, ","), "metrics compared, comma-separated")
	fs.StringVar(&c.formats, "format", reports.FormatText, "output formats, comma-separated: text, md, json")
}

// parse reads the flags into the comparison's options and its output
// formats; out is the value of outFlag, the flag writing the comparison
// to a file instead of stdout, which takes one format only.
func (c *comparisonFlags) parse(outFlag, out string) (compare.Options, []string, error) {
	opt, err := compareOptions(c.threshold, c.alpha, c.metrics)
	if err != nil {
		return opt, nil, err
	}
	fmts, err := parseCompareFormats(c.formats)
	if err != nil {
		return opt, nil, err
	}
	if out != "" && len(fmts) > 1 {
		return opt, nil, badInput(fmt.Errorf("%w: %s takes one --format", compare.ErrBadInput, outFlag))
	}
	return opt, fmts, nil
}

// twoArgs parses args, which must hold two positional arguments (base
// and new); another count shows the usage and is bad input, wantf saying
// what was wanted with a %d for the count given.
func twoArgs(fs *flag.FlagSet, args []string, wantf string) ([]string, error) {
	pos, err := parseArgs(fs, args)
	if err != nil {
		return nil, badInput(err)
	}
	if len(pos) != 2 {
		fs.Usage()
		return nil, badInput(fmt.Errorf("%w: "+wantf, compare.ErrBadInput, len(pos)))
	}
	return pos, nil
}

// renderComparison renders r in each of formats, a blank line between
// them.
func renderComparison(r *compare.Report, formats []string) ([]byte, error) {
	var buf bytes.Buffer
	for i, f := range formats {
		if i > 0 {
			fmt.Fprintln(&buf)
		}
		if err := reports.WriteComparison(&buf, r, f); err != nil {
			return nil, err
		}
	}
	return buf.Bytes(), nil
}

// compareOptions reads the options compare and calibrate share.
func compareOptions(threshold string, alpha float64, metrics string) (compare.Options, error) {
	thr, err := parseThreshold(threshold)
	if err != nil {
		return compare.Options{}, badInput(fmt.Errorf("%w: %w", compare.ErrBadInput, err))
	}
	return compare.Options{Threshold: thr, Alpha: alpha, Metrics: splitList(metrics)}, nil
}

// verdict turns a comparison into the command's error: nil when nothing
// regressed, exit status 1 on a regression, 2 when the files are not
// comparable.
func verdict(r *compare.Report) error {
	switch {
	case !r.Comparable:
		return &exitError{2, fmt.Errorf("%w: %s", compare.ErrNotComparable, reports.JoinNotes(r.Reasons, "; "))}
	case r.Counts[compare.Regressed] > 0:
		return &exitError{1, fmt.Errorf("%w: %d of %d rows regressed", compare.ErrRegression, r.Counts[compare.Regressed], len(r.Rows))}
	}
	return nil
}

func parseCompareFormats(s string) ([]string, error) {
	var out []string
	for _, f := range splitList(s) {
		switch f {
		case reports.FormatText, reports.FormatMarkdown, reports.FormatJSON:
			out = append(out, f)
		case "markdown":
			out = append(out, reports.FormatMarkdown)
		default:
			return nil, badInput(fmt.Errorf("%w: unknown format %q (text, md, json)", compare.ErrBadInput, f))
		}
	}
	if len(out) == 0 {
		return nil, badInput(fmt.Errorf("%w: no --format given", compare.ErrBadInput))
	}
	return out, nil
}

// judgePair reads the result files at paths[0] and paths[1] (readPair)
// and hands them to judge with opt: the step compare and calibrate share.
// A file judge rejects is bad input, as an unreadable one is (exit status
// 2).
func judgePair[R any](paths []string, opt compare.Options, judge func(a, b *results.File, opt compare.Options) (R, error)) (R, error) {
	a, b, err := readPair(paths[0], paths[1])
	if err != nil {
		var zero R
		return zero, err
	}
	r, err := judge(a, b, opt)
	return r, badInput(err)
}

// readPair reads two result files, labelled by their paths; failure is
// exit status 2.
func readPair(a, b string) (*results.File, *results.File, error) {
	var fs [2]*results.File
	for i, path := range []string{a, b} {
		f, err := results.Read(path)
		if err != nil {
			return nil, nil, badInput(fmt.Errorf("%w: %w", compare.ErrBadInput, err))
		}
		if f.Label == "" {
			f.Label = path
		}
		fs[i] = f
	}
	return fs[0], fs[1], nil
}

// writeOut writes data to the file path atomically, or to stdout when
// path is "".
func writeOut(stdout io.Writer, path string, data []byte) error {
	if path == "" {
		_, err := stdout.Write(data)
		return err
	}
	return results.WriteFileAtomic(path, data)
}

// exportCmd implements `bench export results.json [--out FILE]`: the
// file's points in the Go benchmark format, for benchstat and continuous
// benchmarking services.
func exportCmd(ctx context.Context, fs *flag.FlagSet, args []string, stdout, stderr io.Writer) error {
	out := fs.String("out", "", "write to `file` instead of stdout")
	files, err := parseArgs(fs, args)
	if err != nil {
		return badInput(err)
	}
	if len(files) != 1 {
		return badInput(fmt.Errorf("%w: export: want one result file, got %d", compare.ErrBadInput, len(files)))
	}
	f, err := results.Read(files[0])
	if err != nil {
		return badInput(fmt.Errorf("%w: %w", compare.ErrBadInput, err))
	}
	var buf bytes.Buffer
	if err := compare.WriteBenchfmt(&buf, f); err != nil {
		return err
	}
	return writeOut(stdout, *out, buf.Bytes())
}
