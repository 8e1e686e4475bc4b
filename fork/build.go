package fork

// This file builds, at run time, the binaries the suite does not ship: the
// static C no-op (the OS floor) and variants of the sample app that differ
// in one factor (symbols stripped, dynamically linked). Builds go to a
// cache directory; a missing compiler skips the rows that need it, with a
// note.

import (
	"bytes"
	"context"
	"crypto/sha256"
	"debug/elf"
	_ "embed"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

//go:embed noop/noop.c
var noopSource []byte

// ErrNoTool is wrapped by build errors when the compiler (gcc or go) is not
// installed; the rows that need it are skipped with a note.
var ErrNoTool = errors.New("fork: build tool not found")

// buildNoop compiles noop.c with gcc -static -O2 into cacheDir, reusing a
// binary built from the same source, and returns its path.
func buildNoop(ctx context.Context, cacheDir string) (string, error) {
	gcc, err := exec.LookPath("gcc")
	if err != nil {
		return "", fmt.Errorf("%w: gcc: %v", ErrNoTool, err)
	}
	sum := sha256.Sum256(noopSource)
	out := filepath.Join(cacheDir, "noop-"+hex.EncodeToString(sum[:6]))
	if st, err := os.Stat(out); err == nil && st.Mode().IsRegular() {
		return out, nil
	}
	if err := os.MkdirAll(cacheDir, 0o755); err != nil {
		return "", fmt.Errorf("fork: %w", err)
	}
	src := filepath.Join(cacheDir, "noop.c")
	if err := os.WriteFile(src, noopSource, 0o644); err != nil {
		return "", fmt.Errorf("fork: %w", err)
	}
	tmp := out + ".tmp"
	cmd := exec.CommandContext(ctx, gcc, "-static", "-O2", "-o", tmp, src)
	if b, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("fork: gcc -static noop.c: %w: %s", err, bytes.TrimSpace(b))
	}
	if err := os.Rename(tmp, out); err != nil {
		return "", fmt.Errorf("fork: %w", err)
	}
	return out, nil
}

// variant is one build of the sample app.
type variant struct {
	name    string // row name
	cgo     string // CGO_ENABLED
	ldflags string
}

// appVariants are the builds compared by the binary-size and linkage
// factors. "full" is how `make build` ships the app (static, symbols
// kept); each other variant changes one thing.
func appVariants() []variant {
	return []variant{
		{name: "full", cgo: "0"},
		{name: "stripped", cgo: "0", ldflags: "-s -w"},
		{name: "dynamic", cgo: "1"},
	}
}

// goTool is the go command on PATH.
func goTool() (string, error) {
	p, err := exec.LookPath("go")
	if err != nil {
		return "", fmt.Errorf("%w: go: %v", ErrNoTool, err)
	}
	return p, nil
}

// moduleDir finds the forkbench module root from dir (the working
// directory when ""), where ./cmd/sampleapp can be built.
func moduleDir(ctx context.Context, gotool, dir string) (string, error) {
	cmd := exec.CommandContext(ctx, gotool, "env", "GOMOD")
	cmd.Dir = dir
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("fork: go env GOMOD: %w", err)
	}
	mod := strings.TrimSpace(string(out))
	if mod == "" || mod == os.DevNull {
		return "", errors.New("fork: not inside the forkbench module: cannot build app variants")
	}
	root := filepath.Dir(mod)
	if !fileExists(filepath.Join(root, "cmd", "sampleapp", "main.go")) {
		return "", fmt.Errorf("fork: %s is not the forkbench module", root)
	}
	return root, nil
}

// buildVariant builds ./cmd/sampleapp of module root as v into cacheDir.
// Go's build cache makes a rebuild of unchanged sources a relink; the
// first cgo build on a cold cache takes minutes.
func buildVariant(ctx context.Context, gotool, root, cacheDir string, v variant) (string, error) {
	if err := os.MkdirAll(cacheDir, 0o755); err != nil {
		return "", fmt.Errorf("fork: %w", err)
	}
	out := filepath.Join(cacheDir, "sampleapp-"+v.name)
	args := []string{"build", "-trimpath", "-o", out}
	if v.ldflags != "" {
		args = append(args, "-ldflags="+v.ldflags)
	}
	args = append(args, "./cmd/sampleapp")
	cmd := exec.CommandContext(ctx, gotool, args...)
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "CGO_ENABLED="+v.cgo, "GOTOOLCHAIN=local")
	if b, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("fork: go build %s variant: %w: %s", v.name, err, bytes.TrimSpace(b))
	}
	return out, nil
}

// linkage reports "dynamic" for an ELF executable with a program
// interpreter (the dynamic loader runs before main) and "static" without.
func linkage(path string) (string, error) {
	f, err := elf.Open(path)
	if err != nil {
		return "", fmt.Errorf("fork: %w", err)
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			return "dynamic", nil
		}
	}
	return "static", nil
}

func fileExists(p string) bool {
	st, err := os.Stat(p)
	return err == nil && st.Mode().IsRegular()
}
