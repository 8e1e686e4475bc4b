package compare

// This file is the A/A calibration: two runs of the same build, whose
// differences are the machine's noise, not the code's.

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"os/exec"
	"path/filepath"
	"slices"

	"github.com/olekukonko/tablewriter/renderer"

	"forkbench/results"
)

// Noise is the noise floor of one metric measured by an A/A comparison.
type Noise struct {
	Metric string `json:"metric"`
	Rows   int    `json:"rows"`
	// MedianAbsDelta and MaxAbsDelta are the typical and the largest
	// |new/base − 1| between the two runs' medians over the rows.
	MedianAbsDelta float64 `json:"median_abs_delta"`
	MaxAbsDelta    float64 `json:"max_abs_delta"`
	MaxRow         string  `json:"max_row"`
	// MaxRoundSpread is the largest (max − min)/median of one row's
	// rounds within one run: the between-round noise the U test sees.
	MaxRoundSpread float64 `json:"max_round_spread"`
	// FalseAlarms counts the rows the comparison flagged at the given
	// threshold although the build did not change.
	FalseAlarms int `json:"false_alarms"`
	// Suggested is the threshold this metric needs: twice the largest
	// difference seen between two runs of one build, rounded up to a
	// whole percent, at least 1%.
	Suggested float64 `json:"suggested_threshold"`
}

// Calibration is the result of an A/A comparison.
type Calibration struct {
	Report *Report `json:"report"`
	Noise  []Noise `json:"noise"`
	// Suggested is the largest per-metric suggestion: one threshold that
	// would not have flagged any of the metrics.
	Suggested float64 `json:"suggested_threshold"`
}

// CalibrateFiles measures the noise floor from two runs of one build.
func CalibrateFiles(a, b *results.File, opt Options) (*Calibration, error) {
	r, err := Compare(a, b, opt)
	if err != nil {
		return nil, err
	}
	c := &Calibration{Report: r}
	if !r.Comparable {
		return c, nil
	}
	_, sa := groupPoints(a)
	_, sb := groupPoints(b)
	for _, name := range r.Metrics {
		n := Noise{Metric: name}
		m, _ := selectMetrics([]string{name})
		var deltas []float64
		for _, row := range r.Rows {
			for _, ch := range row.Metrics {
				if ch.Metric != name || ch.Delta == nil {
					continue
				}
				d := math.Abs(*ch.Delta)
				deltas = append(deltas, d)
				if d >= n.MaxAbsDelta {
					n.MaxAbsDelta, n.MaxRow = d, row.Key.String()
				}
				if ch.Status == Regressed || ch.Status == Improved {
					n.FalseAlarms++
				}
			}
			for _, s := range []*series{sa[row.Key], sb[row.Key]} {
				if s == nil {
					continue
				}
				n.MaxRoundSpread = max(n.MaxRoundSpread, spread(s.values(m[0])))
			}
		}
		n.Rows = len(deltas)
		if len(deltas) > 0 {
			slices.Sort(deltas)
			n.MedianAbsDelta = deltas[len(deltas)/2]
			if len(deltas)%2 == 0 {
				n.MedianAbsDelta = (deltas[len(deltas)/2-1] + deltas[len(deltas)/2]) / 2
			}
			n.Suggested = max(0.01, math.Ceil(200*n.MaxAbsDelta-1e-9)/100)
			c.Suggested = max(c.Suggested, n.Suggested)
		}
		c.Noise = append(c.Noise, n)
	}
	return c, nil
}

func spread(v []float64) float64 {
	if len(v) < 2 {
		return 0
	}
	v = slices.Clone(v)
	slices.Sort(v)
	med := v[len(v)/2]
	if med == 0 {
		return 0
	}
	return (v[len(v)-1] - v[0]) / math.Abs(med)
}

// WriteCalibration writes c as a table and the suggested threshold.
func WriteCalibration(w io.Writer, c *Calibration) error {
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
			pct(n.Suggested),
			n.MaxRow,
		})
	}
	fmt.Fprintln(w)
	hdr := []string{"metric", "rows", "median |Δ|", "max |Δ|", "round spread", "false alarms @" + pct(r.Threshold), "suggested", "worst row"}
	if err := renderTable(w, renderer.NewBlueprint(), hdr, rows, func(s string) string { return s }); err != nil {
		return err
	}
	_, err := fmt.Fprintf(w, "\nsuggested: --threshold %s (twice the largest A/A difference of any metric; per-metric values above)\n", pct(c.Suggested))
	return err
}

// Calibrate implements `bench calibrate A.json B.json`, or with --run
// makes the two runs itself: `bench calibrate --run [--out DIR] -- RUN
// FLAGS…` executes `bench run RUN FLAGS… --out DIR/a` and then `…/b`.
func Calibrate(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("bench calibrate", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: bench calibrate A.json B.json [flags]\n       bench calibrate --run [--out DIR] [-- BENCH RUN FLAGS]")
		fs.PrintDefaults()
	}
	run := fs.Bool("run", false, "make the two runs: exec `bench run` twice with the flags after --")
	outDir := fs.String("out", "out/calibrate", "with --run: directory of the two runs (a/, b/)")
	bench := fs.String("bench", "", "with --run: bench binary (default: this executable)")
	thr := fs.String("threshold", "5%", "threshold whose false alarms are counted")
	alpha := fs.Float64("alpha", DefaultAlpha, "significance level of the Mann–Whitney U test")
	mets := fs.String("metrics", "", "metrics, comma-separated (default all)")
	format := fs.String("format", FormatText, "text or json")
	var pos []string
	var err error
	if pos, err = parseInterspersed(fs, args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return badInput(err)
	}
	threshold, err := ParseThreshold(*thr)
	if err != nil {
		return badInput(err)
	}
	var paths []string
	if *run {
		exe, err := benchExecutable(*bench)
		if err != nil {
			return err
		}
		for _, sub := range []string{"a", "b"} {
			dir := filepath.Join(*outDir, sub)
			argv := append([]string{"run"}, pos...)
			argv = append(argv, "--out", dir, "--no-report")
			fmt.Fprintf(stderr, "calibrate: %s %v\n", exe, argv)
			cmd := exec.CommandContext(ctx, exe, argv...)
			cmd.Stdout, cmd.Stderr = stderr, stderr
			if err := cmd.Run(); err != nil {
				return fmt.Errorf("compare: calibrate: bench run: %w", err)
			}
			paths = append(paths, filepath.Join(dir, "results.json"))
		}
	} else {
		if len(pos) != 2 {
			fs.Usage()
			return badInput(fmt.Errorf("calibrate: want two result files of the same build, got %d", len(pos)))
		}
		paths = pos
	}
	a, err := readOrBad(paths[0])
	if err != nil {
		return err
	}
	b, err := readOrBad(paths[1])
	if err != nil {
		return err
	}
	c, err := CalibrateFiles(a, b, Options{Threshold: threshold, Alpha: *alpha, Metrics: splitList(*mets)})
	if err != nil {
		return badInput(err)
	}
	switch *format {
	case FormatJSON:
		err = writeJSONValue(stdout, c)
	case FormatText:
		err = WriteCalibration(stdout, c)
	default:
		return badInput(fmt.Errorf("calibrate: unknown format %q (text, json)", *format))
	}
	if err != nil {
		return err
	}
	if !c.Report.Comparable {
		return Verdict(c.Report)
	}
	return nil
}
