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
