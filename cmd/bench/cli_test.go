package main

// In-process tests of the commands that only read and write files:
// report, compare, export, calibrate, history, and the shared flag parser.

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"forkbench/compare"
	"forkbench/reports"
	"forkbench/results"
)

// fixturePath is the reports package's fixture: 3 rounds of closed, open
// and sweep points.
var fixturePath = filepath.Join("..", "..", "reports", "testdata", "results.json")

func readFixture(t *testing.T) *results.File {
	t.Helper()
	f, err := results.Read(fixturePath)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func writeResults(t *testing.T, dir, name string, f *results.File) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := results.Write(p, f); err != nil {
		t.Fatal(err)
	}
	return p
}

// cmdByName returns the named command as main dispatches it.
func cmdByName(name string) func(context.Context, []string, io.Writer, io.Writer) error {
	for _, c := range commands() {
		if c.name == name {
			return c.run
		}
	}
	panic("no command " + name)
}

// code is the exit status bench gives err.
func code(err error) int { return exitCode(err, new(bytes.Buffer)) }

func TestParseArgs(t *testing.T) {
	for _, c := range []struct {
		args []string
		pos  string
		out  string
	}{
		{[]string{"a", "b", "--out", "x"}, "a b", "x"},
		{[]string{"--out", "x", "a"}, "a", "x"},
		{[]string{"a", "--out", "x", "b"}, "a b", "x"},
		{[]string{"a", "--", "--out", "y"}, "a --out y", ""},
	} {
		fs := flag.NewFlagSet("t", flag.ContinueOnError)
		out := fs.String("out", "", "")
		pos, err := parseArgs(fs, c.args)
		if err != nil || strings.Join(pos, " ") != c.pos || *out != c.out {
			t.Errorf("parseArgs(%q) = %q, --out %q, %v; want %q, %q", c.args, pos, *out, err, c.pos, c.out)
		}
	}
}

func TestCompareExitCodes(t *testing.T) {
	dir := t.TempDir()
	fx := readFixture(t)
	base := writeResults(t, dir, "base.json", fx)
	slow := readFixture(t)
	for i := range slow.Points {
		slow.Points[i].Throughput /= 2
	}
	slowPath := writeResults(t, dir, "slow.json", slow)
	other := readFixture(t)
	other.Environment.CPUs = 64
	otherPath := writeResults(t, dir, "other.json", other)
	newer := filepath.Join(dir, "newer.json")
	if err := os.WriteFile(newer, []byte(`{"schema_version": 999, "points": []}`), 0o644); err != nil {
		t.Fatal(err)
	}
	// Three rounds a side reach p = 0.1 at best: alpha 0.2 lets a
	// complete separation count.
	loose := []string{"--alpha", "0.2", "--metrics", "throughput"}
	tests := []struct {
		name string
		args []string
		code int
		out  string
	}{
		{"no change", []string{base, base}, 0, "no regression"},
		{"regression", append([]string{base, slowPath}, loose...), 1, "REGRESSION"},
		{"regression markdown", append([]string{base, slowPath, "--format", "md"}, loose...), 1, "### Changed"},
		{"regression json", append([]string{"--format", "json", base, slowPath}, loose...), 1, `"status": "regressed"`},
		{"sweep steps are rows", append([]string{base, base}, loose...), 0, "sweep@0.5x"},
		{"newer schema", []string{base, newer}, 2, ""},
		{"missing file", []string{base, filepath.Join(dir, "nope.json")}, 2, ""},
		{"other machine", []string{base, otherPath}, 2, "machine CPU count differs: 2 vs 64"},
		{"one file", []string{base}, 2, ""},
		{"bad threshold", []string{base, base, "--threshold", "five"}, 2, ""},
		{"bad metric", []string{base, base, "--metrics", "p42"}, 2, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out bytes.Buffer
			err := cmdByName("compare")(context.Background(), tt.args, &out, new(bytes.Buffer))
			if c := code(err); c != tt.code {
				t.Errorf("exit code = %d (err %v); want %d", c, err, tt.code)
			}
			if tt.code == 2 && !errors.Is(err, compare.ErrBadInput) && !errors.Is(err, compare.ErrNotComparable) {
				t.Errorf("err = %v; want ErrBadInput or ErrNotComparable", err)
			}
			if !strings.Contains(out.String(), tt.out) {
				t.Errorf("output lacks %q:\n%s", tt.out, out.String())
			}
		})
	}
	out := filepath.Join(dir, "compare.md")
	err := cmdByName("compare")(context.Background(), append([]string{base, slowPath, "--format", "md", "--out", out}, loose...), new(bytes.Buffer), new(bytes.Buffer))
	if !errors.Is(err, compare.ErrRegression) {
		t.Fatalf("--out: err = %v; want ErrRegression", err)
	}
	if data, err := os.ReadFile(out); err != nil || !strings.Contains(string(data), "| embedded") {
		t.Errorf("compare.md lacks the table (%v):\n%s", err, data)
	}
}

func TestExportAndCalibrate(t *testing.T) {
	dir := t.TempDir()
	in := writeResults(t, dir, "results.json", readFixture(t))
	var out bytes.Buffer
	if err := cmdByName("export")(context.Background(), []string{in}, &out, new(bytes.Buffer)); err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(out.String(), "BenchmarkServe/"); n != len(readFixture(t).Points) {
		t.Errorf("export wrote %d result lines; want one per point", n)
	}
	if c := code(cmdByName("export")(context.Background(), []string{filepath.Join(dir, "missing.json")}, new(bytes.Buffer), new(bytes.Buffer))); c != 2 {
		t.Errorf("export of a missing file: exit %d; want 2", c)
	}
	out.Reset()
	if err := cmdByName("calibrate")(context.Background(), []string{in, in}, &out, new(bytes.Buffer)); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "suggested: --threshold") {
		t.Errorf("calibrate output lacks the suggestion:\n%s", out.String())
	}
	if c := code(cmdByName("calibrate")(context.Background(), []string{in}, new(bytes.Buffer), new(bytes.Buffer))); c != 2 {
		t.Errorf("calibrate with one file: exit %d; want 2", c)
	}
}

func TestHistoryCLI(t *testing.T) {
	dir := t.TempDir()
	store := filepath.Join(dir, "h")
	res := writeResults(t, dir, "results.json", readFixture(t))
	ctx := context.Background()
	if c := code(historyCmd(ctx, []string{"baseline", "--store", store}, new(bytes.Buffer), new(bytes.Buffer))); c != exitNoBaseline {
		t.Errorf("baseline of an empty store: exit %d; want %d", c, exitNoBaseline)
	}
	if err := historyCmd(ctx, []string{"add", res, "--store", store, "--branch", "main"}, new(bytes.Buffer), new(bytes.Buffer)); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := historyCmd(ctx, []string{"baseline", "--store", store, "--like", res}, &out, new(bytes.Buffer)); code(err) != exitNoBaseline {
		t.Errorf("baseline --like the only run: err %v; want no baseline (a run is not its own baseline)", err)
	}
	out.Reset()
	if err := historyCmd(ctx, []string{"baseline", "--store", store}, &out, new(bytes.Buffer)); err != nil {
		t.Fatal(err)
	}
	p := strings.TrimSpace(out.String())
	if f, err := results.Read(p); err != nil || f.Environment.GitCommit != readFixture(t).Environment.GitCommit {
		t.Errorf("baseline printed %q: %v", p, err)
	}
	out.Reset()
	if err := historyCmd(ctx, []string{"trend", "--store", store, "--metrics", "p50"}, &out, new(bytes.Buffer)); err != nil || !strings.Contains(out.String(), "trend.md") {
		t.Errorf("trend: %v, printed %q", err, out.String())
	}
	for _, args := range [][]string{{"add"}, {"add", filepath.Join(dir, "missing.json"), "--store", store}, {"nope"}, {}} {
		if c := code(historyCmd(ctx, args, new(bytes.Buffer), new(bytes.Buffer))); c != 2 {
			t.Errorf("history %q: exit %d; want 2", args, c)
		}
	}
}

func TestReportBadInput(t *testing.T) {
	dir := t.TempDir()
	full, err := os.ReadFile(fixturePath)
	if err != nil {
		t.Fatal(err)
	}
	truncated := filepath.Join(dir, "truncated.json")
	newer := filepath.Join(dir, "newer.json")
	missing := filepath.Join(dir, "missing.json")
	good := filepath.Join(dir, "good.json")
	for p, data := range map[string][]byte{
		truncated: full[:len(full)/2],
		newer:     []byte(`{"schema_version": 99, "points": []}`),
		good:      full,
	} {
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for _, tc := range []struct {
		name string
		args []string
		want error
		file string
	}{
		{"truncated", []string{truncated}, results.ErrCorrupt, truncated},
		{"newer schema", []string{newer}, results.ErrNewerSchema, newer},
		{"missing", []string{missing}, fs.ErrNotExist, missing},
		{"second file bad", []string{good, truncated}, results.ErrCorrupt, truncated},
		{"unknown format", []string{good, "--format", "html,pdf"}, reports.ErrUnknownFormat, "pdf"},
		{"no files", []string{"--out", dir}, reports.ErrNoFiles, "usage"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			err := cmdByName("report")(context.Background(), append(tc.args, "--out", t.TempDir()), &stdout, &stderr)
			if !errors.Is(err, tc.want) {
				t.Fatalf("Run(%v) error = %v; want %v", tc.args, err, tc.want)
			}
			if msg := err.Error(); !strings.Contains(msg, tc.file) || strings.Contains(msg, "\n") {
				t.Errorf("Run(%v) error = %q; want one line naming %s", tc.args, msg, tc.file)
			}
			if stdout.Len() != 0 {
				t.Errorf("Run(%v) printed %q on failure", tc.args, stdout.String())
			}
		})
	}
}

func TestReportPrintsPaths(t *testing.T) {
	dir := t.TempDir()
	src := filepath.Join(dir, "in", "baseline.json")
	fx := readFixture(t)
	fx.Label = "" // Run labels it by file name
	if err := results.Write(src, fx); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "out")
	var stdout, stderr bytes.Buffer
	// Flags after the files, two files overlaid.
	if err := cmdByName("report")(context.Background(), []string{fixturePath, src, "--out", out, "--format", "html,csv"}, &stdout, &stderr); err != nil {
		t.Fatalf("Run: %v (stderr %s)", err, stderr.String())
	}
	lines := strings.Split(strings.TrimSpace(stdout.String()), "\n")
	want := []string{filepath.Join(out, "report.csv"), filepath.Join(out, "report.html")}
	if strings.Join(lines, " ") != strings.Join(want, " ") {
		t.Errorf("Run printed %q; want %q", lines, want)
	}
	page, err := os.ReadFile(filepath.Join(out, "report.html"))
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{"cgi (fixture)", "cgi (baseline)", "forkbench report: fixture vs baseline"} {
		if !strings.Contains(string(page), s) {
			t.Errorf("overlay report.html lacks %q", s)
		}
	}

	// Default --out is the directory of the first file.
	stdout.Reset()
	if err := cmdByName("report")(context.Background(), []string{"--format", "md", src}, &stdout, &stderr); err != nil {
		t.Fatal(err)
	}
	if got, want := strings.TrimSpace(stdout.String()), filepath.Join(dir, "in", "report.md"); got != want {
		t.Errorf("Run without --out wrote %q; want %q", got, want)
	}
}
