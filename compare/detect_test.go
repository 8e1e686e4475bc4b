package compare

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"forkbench/internal/testbin"
	"forkbench/results"
)

// TestDetectsRegressionOnRealRuns is the acceptance test of the
// regression job: real `bench run`s of the FastCGI deployment (whose
// daemon is the sample app binary), two of the normal build and one of a
// build with -tags forkbench_slow (2 ms more CPU per request, see
// cmd/sampleapp/slow.go). The normal pair must be judged no significant
// change, the slow build regressed with exit status 1.
//
// Robustness on a shared, noisy machine: each `bench run` measures one
// round, and the rounds of the three builds are interleaved (A B S, B S A,
// S A B, …), so a slow phase of the machine (another test starting, a
// thermal change) lands on all three builds instead of making one look
// slower than the other; the rounds are then merged into one file per
// build, exactly as `bench run --rounds 4` would have written them. Four
// rounds a side let the U test reach p = 0.029 < 0.05 (only with complete
// separation, which also makes a false alarm unlikely); the threshold is 30%: far
// above what two healthy runs differ by, far below the slowdown (the app's
// own cost per plaintext request is tens of microseconds, the slowdown
// 2 ms).
func TestDetectsRegressionOnRealRuns(t *testing.T) {
	if testing.Short() {
		t.Skip("runs real load; skipped with -short")
	}
	dir := t.TempDir()
	bins, err := testbin.Build(filepath.Join(dir, "bin"))
	if err != nil {
		t.Fatal(err)
	}
	slowApp := filepath.Join(dir, "slow", "sampleapp")
	buildSlow(t, slowApp)
	data := filepath.Join(dir, "data")

	const rounds = 4
	type build struct{ name, app string }
	builds := []build{{"a", bins.SampleApp}, {"b", bins.SampleApp}, {"slow", slowApp}}
	merged := map[string]*results.File{}
	for round := range rounds {
		for j := range builds {
			b := builds[(round+j)%len(builds)]
			out := filepath.Join(dir, b.name, fmt.Sprint(round+1))
			cmd := exec.CommandContext(t.Context(), bins.Bench, "run",
				"--targets", "fcgi", "--endpoints", "plaintext", "--model", "closed",
				"--rounds", "1", "--duration", "1s", "--warmup", "300ms",
				"--app-bin", b.app, "--data", data, "--out", out, "--no-report")
			if msg, err := cmd.CombinedOutput(); err != nil {
				t.Fatalf("bench run (%s, round %d): %v\n%s", b.name, round+1, err, msg)
			}
			f, err := results.Read(filepath.Join(out, "results.json"))
			if err != nil {
				t.Fatal(err)
			}
			if f.Partial || len(f.Points) != 1 {
				t.Fatalf("%s round %d: partial %v, %d points; want a complete run of one point", b.name, round+1, f.Partial, len(f.Points))
			}
			f.Points[0].Round = round + 1
			if m := merged[b.name]; m == nil {
				merged[b.name] = f
			} else {
				m.Points = append(m.Points, f.Points[0])
			}
		}
	}
	paths := map[string]string{}
	for name, f := range merged {
		f.Settings.Rounds = rounds
		paths[name] = filepath.Join(dir, name+".json")
		if err := results.Write(paths[name], f); err != nil {
			t.Fatal(err)
		}
	}

	compareRun := func(base, new string) (string, int) {
		out, err := exec.CommandContext(t.Context(), bins.Bench, "compare", paths[base], paths[new], "--threshold", "30%").CombinedOutput()
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			return string(out), ee.ExitCode()
		} else if err != nil {
			t.Fatalf("compare %s %s: %v", base, new, err)
		}
		return string(out), 0
	}
	if out, code := compareRun("a", "b"); code != 0 || !strings.Contains(out, "no regression") {
		t.Errorf("two runs of the same build: exit %d; want 0, no regression\n%s", code, out)
	} else {
		t.Logf("same build:\n%s", out)
	}
	out, code := compareRun("a", "slow")
	if code != 1 {
		t.Errorf("slowed build: exit %d; want 1 (regressed)\n%s", code, out)
	}
	for _, m := range []string{MetricThroughput, MetricCPU} {
		if !strings.Contains(out, "│ "+padRight(m, len("cpu_per_req"))+" │") || !regressedLine(out, m) {
			t.Errorf("slowed build: %s not regressed\n%s", m, out)
		}
	}
	t.Logf("slowed build:\n%s", out)
}

func padRight(s string, n int) string { return s + strings.Repeat(" ", max(0, n-len(s))) }

// regressedLine reports whether the table line of metric m says regressed.
func regressedLine(out, m string) bool {
	for line := range strings.Lines(out) {
		if strings.Contains(line, " "+m+" ") && strings.Contains(line, string(Regressed)) {
			return true
		}
	}
	return false
}

// buildSlow builds the sample app with the forkbench_slow tag.
func buildSlow(t *testing.T, out string) {
	t.Helper()
	goTool := testbin.GoTool()
	mod, err := exec.Command(goTool, "env", "GOMOD").Output()
	if err != nil {
		t.Fatalf("go env GOMOD: %v", err)
	}
	cmd := exec.Command(goTool, "build", "-tags", "forkbench_slow", "-o", out, "./cmd/sampleapp")
	cmd.Dir = filepath.Dir(strings.TrimSpace(string(mod)))
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if msg, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build -tags forkbench_slow: %v\n%s", err, msg)
	}
}
