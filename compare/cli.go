package compare

// This file is the command line: `bench compare`, `bench export`.

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"

	"forkbench/results"
)

// ExitError carries the exit status a subcommand asks for: cmd/bench
// honours any error with an ExitCode method.
type ExitError struct {
	Code int
	Err  error
}

func (e *ExitError) Error() string { return e.Err.Error() }

// Unwrap returns the cause, so errors.Is finds the sentinels.
func (e *ExitError) Unwrap() error { return e.Err }

// ExitCode is 1 for a regression, 2 for bad input.
func (e *ExitError) ExitCode() int { return e.Code }

// badInput wraps err as exit status 2, adding ErrBadInput unless err is
// already one of the package's sentinels.
func badInput(err error) error {
	if !errors.Is(err, ErrBadInput) && !errors.Is(err, ErrNotComparable) {
		err = fmt.Errorf("%w: %w", ErrBadInput, err)
	}
	return &ExitError{Code: 2, Err: err}
}

// Run implements `bench compare BASE.json NEW.json`. It exits (through
// the returned error's ExitCode) 0 when nothing regressed, 1 when a row
// regressed beyond the threshold, 2 on bad input or incomparable files.
func Run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("bench compare", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: bench compare BASE.json NEW.json [flags]")
		fs.PrintDefaults()
	}
	thr := fs.String("threshold", "5%", "smallest change flagged, e.g. 5% or 0.05")
	alpha := fs.Float64("alpha", DefaultAlpha, "significance level of the Mann–Whitney U test")
	mets := fs.String("metrics", strings.Join(MetricNames(), ","), "metrics compared, comma-separated")
	formats := fs.String("format", FormatText, "output formats, comma-separated: text, md, json")
	out := fs.String("out", "", "write the output to `file` instead of stdout (one format only)")
	files, err := parseInterspersed(fs, args)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return badInput(err)
	}
	if len(files) != 2 {
		fs.Usage()
		return badInput(fmt.Errorf("want two result files, got %d", len(files)))
	}
	threshold, err := ParseThreshold(*thr)
	if err != nil {
		return badInput(err)
	}
	fmts, err := parseFormats(*formats)
	if err != nil {
		return badInput(err)
	}
	if *out != "" && len(fmts) > 1 {
		return badInput(errors.New("--out takes one --format"))
	}
	base, err := readOrBad(files[0])
	if err != nil {
		return err
	}
	newF, err := readOrBad(files[1])
	if err != nil {
		return err
	}
	r, err := Compare(base, newF, Options{Threshold: threshold, Alpha: *alpha, Metrics: splitList(*mets)})
	if err != nil {
		return badInput(err)
	}
	var buf bytes.Buffer
	for i, f := range fmts {
		if i > 0 {
			fmt.Fprintln(&buf)
		}
		if err := Write(&buf, r, f); err != nil {
			return err
		}
	}
	if *out != "" {
		if err := results.WriteFileAtomic(*out, buf.Bytes()); err != nil {
			return fmt.Errorf("compare: %w", err)
		}
	} else if _, err := stdout.Write(buf.Bytes()); err != nil {
		return fmt.Errorf("compare: %w", err)
	}
	return Verdict(r)
}

// Verdict turns a report into the command's error: nil when nothing
// regressed, exit status 1 on a regression, 2 when the files are not
// comparable.
func Verdict(r *Report) error {
	switch {
	case !r.Comparable:
		return &ExitError{Code: 2, Err: fmt.Errorf("%w: %s", ErrNotComparable, strings.Join(r.Reasons, "; "))}
	case r.Counts[Regressed] > 0:
		return &ExitError{Code: 1, Err: fmt.Errorf("%w: %d of %d rows regressed", ErrRegression, r.Counts[Regressed], len(r.Rows))}
	}
	return nil
}

// Write renders r in one format (text, md or json).
func Write(w io.Writer, r *Report, format string) error {
	switch format {
	case FormatText:
		return WriteText(w, r)
	case FormatMarkdown:
		return WriteMarkdown(w, r)
	case FormatJSON:
		return WriteJSON(w, r)
	}
	return badInput(fmt.Errorf("unknown format %q", format))
}

func parseFormats(s string) ([]string, error) {
	var out []string
	for _, f := range splitList(s) {
		switch f {
		case FormatText, FormatMarkdown, FormatJSON:
			out = append(out, f)
		case "markdown":
			out = append(out, FormatMarkdown)
		default:
			return nil, fmt.Errorf("unknown format %q (text, md, json)", f)
		}
	}
	if len(out) == 0 {
		return nil, errors.New("no --format given")
	}
	return out, nil
}

// ParseThreshold reads "5%" or "0.05" as 0.05.
func ParseThreshold(s string) (float64, error) {
	t := strings.TrimSpace(s)
	scale := 1.0
	if v, ok := strings.CutSuffix(t, "%"); ok {
		t, scale = v, 0.01
	}
	f, err := strconv.ParseFloat(t, 64)
	if err != nil || f < 0 {
		return 0, fmt.Errorf("%w: threshold %q: want e.g. 5%% or 0.05", ErrBadInput, s)
	}
	return f * scale, nil
}

func splitList(s string) []string {
	var out []string
	for _, v := range strings.Split(s, ",") {
		if v = strings.TrimSpace(v); v != "" {
			out = append(out, v)
		}
	}
	return out
}

// parseInterspersed parses flags that may follow the positional
// arguments (`bench compare a.json b.json --threshold 3%`), as users
// type them.
func parseInterspersed(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		rest := fs.Args()
		if len(rest) == 0 {
			return pos, nil
		}
		if n := len(args) - len(rest); n > 0 && args[n-1] == "--" {
			return append(pos, rest...), nil
		}
		pos = append(pos, rest[0])
		args = rest[1:]
	}
}

// Export implements `bench export results.json [--out FILE]`: the file's
// points in the Go benchmark format, for benchstat and continuous
// benchmarking services.
func Export(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("bench export", flag.ContinueOnError)
	fs.SetOutput(stderr)
	out := fs.String("out", "", "write to `file` instead of stdout")
	files, err := parseInterspersed(fs, args)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return badInput(err)
	}
	if len(files) != 1 {
		return badInput(fmt.Errorf("export: want one result file, got %d", len(files)))
	}
	f, err := results.Read(files[0])
	if err != nil {
		return badInput(err)
	}
	var buf bytes.Buffer
	if err := WriteBenchfmt(&buf, f); err != nil {
		return err
	}
	if *out == "" {
		_, err = stdout.Write(buf.Bytes())
		return err
	}
	if err := results.WriteFileAtomic(*out, buf.Bytes()); err != nil {
		return fmt.Errorf("compare: %w", err)
	}
	return nil
}

// readOrBad reads a result file, mapping failure to exit status 2.
func readOrBad(path string) (*results.File, error) {
	f, err := results.Read(path)
	if err != nil {
		return nil, badInput(err)
	}
	if f.Label == "" {
		f.Label = path
	}
	return f, nil
}

// benchExecutable is the bench binary calibrate --run starts.
func benchExecutable(flagValue string) (string, error) {
	if flagValue != "" {
		return flagValue, nil
	}
	exe, err := os.Executable()
	if err != nil {
		return "", fmt.Errorf("compare: %w", err)
	}
	return exe, nil
}
