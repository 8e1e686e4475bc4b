package runner

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"forkbench/scenario"
	"forkbench/targets"
)

// writeTree writes name→content files under dir.
func writeTree(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// assertTree checks that dir holds exactly files.
func assertTree(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(ents) != len(files) {
		t.Errorf("%s holds %d entries; want %d", dir, len(ents), len(files))
	}
	for name, want := range files {
		got, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil || string(got) != want {
			t.Errorf("%s/%s = %q, %v; want %q", dir, name, got, err, want)
		}
	}
}

var previousRun = map[string]string{
	"results.json": `{"schema_version": 1, "previous": true}`,
	"targets.log":  "previous log\n",
	"report.html":  "<p>previous report</p>\n",
}

// TestRunWithoutPointsPublishesNothing runs against a target that cannot
// start: the run has no point, so out/latest keeps the previous results
// and this run's log is kept in its own directory.
func TestRunWithoutPointsPublishesNothing(t *testing.T) {
	root := t.TempDir()
	final := filepath.Join(root, "out", "latest")
	writeTree(t, final, previousRun)
	app := filepath.Join(root, "sampleapp")
	writeTree(t, root, map[string]string{"sampleapp": "not run"})
	sc, err := scenario.Builtin("quick")
	if err != nil {
		t.Fatal(err)
	}
	sc.Targets = []string{"cgi"}
	cfg := Config{Scenario: sc, OutDir: final, NoVerify: true,
		NewTarget: func(kind string, cpus []int, stderr io.Writer) (targets.Target, error) {
			return &targets.Process{Label: kind, Path: "/bin/false", Stderr: stderr}, nil
		}}
	cfg.Targets.AppBin = app
	cfg.Targets.DataDir = filepath.Join(root, "data")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	f, err := Run(ctx, cfg)
	if err == nil || !strings.Contains(err.Error(), "left as it was") {
		t.Fatalf("Run with a target that cannot start = %v; want no points, nothing published", err)
	}
	if f != nil && len(f.Points) != 0 {
		t.Fatalf("Run measured %d points against /bin/false", len(f.Points))
	}
	assertTree(t, final, previousRun)
	runs, _ := filepath.Glob(filepath.Join(root, "out", "runs", "latest-*", "targets.log"))
	if len(runs) != 1 {
		t.Errorf("this run's targets.log: found %v; want one, kept in its own directory", runs)
	}
}

func TestRunDirPublish(t *testing.T) {
	root := t.TempDir()
	final := filepath.Join(root, "latest")
	writeTree(t, final, previousRun) // a real directory, as older versions left it
	now := time.Now().Add(time.Hour) // after the legacy directory's time
	var dirs []string
	for i := range KeepRuns + 3 {
		rd, err := NewRunDir(final, now.Add(time.Duration(i)*time.Second))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := os.Lstat(final); err != nil {
			t.Fatalf("NewRunDir touched %s: %v", final, err)
		}
		want := map[string]string{"results.json": fmt.Sprintf("run %d", i)}
		writeTree(t, rd.Dir, want)
		if err := rd.Publish(); err != nil {
			t.Fatalf("Publish() = %v", err)
		}
		assertTree(t, final, want) // through the link
		dirs = append(dirs, rd.Dir)
	}
	legacy, _ := filepath.Glob(filepath.Join(root, "runs", "latest-*-legacy"))
	if len(legacy) != 0 {
		// The legacy directory is the oldest run: pruned by now.
		t.Errorf("legacy directory %v survived %d newer runs", legacy, KeepRuns+3)
	}
	ents, _ := os.ReadDir(filepath.Join(root, "runs"))
	if len(ents) != KeepRuns {
		t.Errorf("runs/ holds %d directories; want KeepRuns = %d", len(ents), KeepRuns)
	}
	if _, err := os.Stat(dirs[len(dirs)-1]); err != nil {
		t.Errorf("the published run was pruned: %v", err)
	}
}

// TestRunDirKeepsLegacy checks that a real directory at the published
// path is moved aside intact, not deleted or overwritten.
func TestRunDirKeepsLegacy(t *testing.T) {
	root := t.TempDir()
	final := filepath.Join(root, "latest")
	writeTree(t, final, previousRun)
	rd, err := NewRunDir(final, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if err := rd.Publish(); err != nil {
		t.Fatal(err)
	}
	legacy, _ := filepath.Glob(filepath.Join(root, "runs", "latest-*-legacy"))
	if len(legacy) != 1 {
		t.Fatalf("legacy directories: %v; want one", legacy)
	}
	assertTree(t, legacy[0], previousRun)
	if target, err := os.Readlink(final); err != nil || target != filepath.Join("runs", filepath.Base(rd.Dir)) {
		t.Errorf("Readlink(%s) = %q, %v; want runs/%s", final, target, err, filepath.Base(rd.Dir))
	}
}
