// Package testbin gives tests the suite's real binaries: the ones `make
// build` put in $FORKBENCH_BIN, or, when tests run without make, fresh
// builds in a temporary directory. Tests exec the real app binary, as CGI
// and the FastCGI daemon do in production.
package testbin

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// Paths are the binaries' locations.
type Paths struct {
	Bench     string
	SampleApp string
}

// Build returns the binaries from $FORKBENCH_BIN if both exist there, or
// builds them into dir. It is meant for TestMain.
func Build(dir string) (Paths, error) {
	if bin := os.Getenv("FORKBENCH_BIN"); bin != "" {
		p := Paths{Bench: filepath.Join(bin, "bench"), SampleApp: filepath.Join(bin, "sampleapp")}
		if exists(p.Bench) && exists(p.SampleApp) {
			return p, nil
		}
	}
	root, err := moduleRoot()
	if err != nil {
		return Paths{}, err
	}
	p := Paths{Bench: filepath.Join(dir, "bench"), SampleApp: filepath.Join(dir, "sampleapp")}
	for _, b := range []struct{ out, pkg, cgo string }{
		{p.SampleApp, "./cmd/sampleapp", "0"},
		{p.Bench, "./cmd/bench", ""},
	} {
		cmd := exec.Command(GoTool(), "build", "-o", b.out, b.pkg)
		cmd.Dir = root
		cmd.Env = os.Environ()
		if b.cgo != "" {
			cmd.Env = append(cmd.Env, "CGO_ENABLED="+b.cgo)
		}
		if out, err := cmd.CombinedOutput(); err != nil {
			return Paths{}, fmt.Errorf("testbin: go build %s: %v\n%s", b.pkg, err, out)
		}
	}
	return p, nil
}

// MainInTempDir is TestMain for a package whose tests share files made
// once (built binaries, a seeded database): it makes a temporary directory
// named from prefix, has setup fill it, runs the tests, and removes the
// directory whatever happened before it exits with the tests' status, or
// with 1, the error printed, if the directory or setup failed.
func MainInTempDir(m *testing.M, prefix string, setup func(dir string) error) {
	os.Exit(runInTempDir(m, prefix, setup))
}

// runInTempDir is MainInTempDir but for the exit, so that its deferred
// removal runs before os.Exit.
func runInTempDir(m *testing.M, prefix string, setup func(dir string) error) int {
	dir, err := os.MkdirTemp("", prefix)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	if err := setup(dir); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return m.Run()
}

func exists(p string) bool {
	st, err := os.Stat(p)
	return err == nil && !st.IsDir()
}

// GoTool is the go command: the one on PATH, else the standard install.
func GoTool() string {
	if p, err := exec.LookPath("go"); err == nil {
		return p
	}
	if p := "/usr/local/go/bin/go"; exists(p) {
		return p
	}
	return "go"
}

func moduleRoot() (string, error) {
	out, err := exec.Command(GoTool(), "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("testbin: go env GOMOD: %w", err)
	}
	mod := strings.TrimSpace(string(out))
	if mod == "" || mod == os.DevNull {
		return "", fmt.Errorf("testbin: not inside the forkbench module")
	}
	return filepath.Dir(mod), nil
}
