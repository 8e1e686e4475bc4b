package compare_test

import (
	"bytes"
	"path/filepath"
	"strings"
	"testing"

	"forkbench/compare"
	"forkbench/reports"
)

// TestGolden pins the text and Markdown renderings of a comparison.
func TestGolden(t *testing.T) {
	base := compare.Synth(1, 1.02, 0.98, 1.01, 0.99)
	base.Label = "base.json"
	slow := compare.Synth(2, 2.1, 1.9, 2.05, 1.95)
	slow.Label = "new.json"
	slow.Environment.GitCommit = "fedcba9876543210"
	r, err := compare.Compare(base, slow, compare.Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, format := range []string{reports.FormatText, reports.FormatMarkdown} {
		t.Run(format, func(t *testing.T) {
			var b bytes.Buffer
			if err := reports.WriteComparison(&b, r, format); err != nil {
				t.Fatal(err)
			}
			compare.Golden(t, filepath.Join("testdata", "regression."+format+".golden"), b.Bytes())
		})
	}
}

func TestCalibrationRendering(t *testing.T) {
	c, err := compare.CalibrateFiles(compare.Synth(1, 1.02, 0.98, 1.01, 0.99), compare.Synth(1.03, 1.0, 0.97, 1.04, 1.01), compare.Options{})
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := reports.WriteCalibration(&out, c); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "suggested: --threshold 2%") {
		t.Errorf("calibration output lacks the suggestion:\n%s", out.String())
	}
}
