package spawncost

// This file builds, at run time, the binaries the suite does not ship: the
// static C no-op (the OS floor), the empty Go program (the Go runtime's
// floor, and a copy padded to the app's size), and variants of the sample
// app that differ in one factor (symbols stripped, dynamically linked).
// Builds go to a cache directory; a missing compiler skips the rows that
// need it, with a note.

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

// emptyGoSource is noop/empty.go, `func main() {}`; its ignore build
// constraint keeps it out of the module, and a single named file is built
// regardless of it.
//
//go:embed noop/empty.go
var emptyGoSource []byte

// paddedGoSource is the empty program carrying pad.bin, an embedded blob
// it never reads but the header of, so that the binary is as large as the
// app's while the pages it touches stay the empty program's.
const paddedGoSource = `package main

import _ "embed"

//go:embed pad.bin
var pad string

func main() {
	if len(pad) == 0 {
		panic("no pad")
	}
}
`

// ErrNoTool is wrapped by build errors when the compiler (gcc or go) is not
// installed; the rows that need it are skipped with a note.
var ErrNoTool = errors.New("spawncost: build tool not found")

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
		return "", fmt.Errorf("spawncost: %w", err)
	}
	src := filepath.Join(cacheDir, "noop.c")
	if err := os.WriteFile(src, noopSource, 0o644); err != nil {
		return "", fmt.Errorf("spawncost: %w", err)
	}
	tmp := out + ".tmp"
	cmd := exec.CommandContext(ctx, gcc, "-static", "-O2", "-o", tmp, src)
	if b, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("spawncost: gcc -static noop.c: %w: %s", err, bytes.TrimSpace(b))
	}
	if err := os.Rename(tmp, out); err != nil {
		return "", fmt.Errorf("spawncost: %w", err)
	}
	return out, nil
}

// buildGoEmpty builds the empty Go program with gotool (CGO_ENABLED=0,
// -trimpath) into cacheDir and returns its path. It always runs the go
// tool, whose build cache makes a rebuild a relink, so that the binary is
// the installed toolchain's, not a stale one's.
func buildGoEmpty(ctx context.Context, gotool, cacheDir string) (string, error) {
	return buildGoFile(ctx, gotool, cacheDir, "go-empty", emptyGoSource, nil)
}

// buildGoPadded builds the empty program padded with padBytes of
// pseudo-random bytes (incompressible, and no page shared with anything)
// into cacheDir and returns its path.
func buildGoPadded(ctx context.Context, gotool, cacheDir string, padBytes int64) (string, error) {
	if padBytes <= 0 {
		return "", fmt.Errorf("spawncost: padding of %d bytes", padBytes)
	}
	pad := make([]byte, padBytes)
	// A fixed-seed generator: the same padding every run, so the
	// binary is reproducible; its content does not matter, only that
	// it does not compress or deduplicate.
	var x uint64 = 0x9e3779b97f4a7c15
	for i := range pad {
		x ^= x << 13
		x ^= x >> 7
		x ^= x << 17
		pad[i] = byte(x)
	}
	return buildGoFile(ctx, gotool, cacheDir, "go-padded", []byte(paddedGoSource), pad)
}

// buildGoFile writes src as main.go (and pad, if any, as pad.bin) into a
// temporary directory of cacheDir and builds it as a single file, outside
// any module, into cacheDir/name.
func buildGoFile(ctx context.Context, gotool, cacheDir, name string, src, pad []byte) (string, error) {
	if err := os.MkdirAll(cacheDir, 0o755); err != nil {
		return "", fmt.Errorf("spawncost: %w", err)
	}
	dir, err := os.MkdirTemp(cacheDir, name+"-src-")
	if err != nil {
		return "", fmt.Errorf("spawncost: %w", err)
	}
	defer os.RemoveAll(dir)
	if err := os.WriteFile(filepath.Join(dir, "main.go"), src, 0o644); err != nil {
		return "", fmt.Errorf("spawncost: %w", err)
	}
	if pad != nil {
		if err := os.WriteFile(filepath.Join(dir, "pad.bin"), pad, 0o644); err != nil {
			return "", fmt.Errorf("spawncost: %w", err)
		}
	}
	out := filepath.Join(cacheDir, name)
	cmd := exec.CommandContext(ctx, gotool, "build", "-trimpath", "-o", out, "main.go")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOTOOLCHAIN=local", "GO111MODULE=on", "GOWORK=off", "GOFLAGS=")
	if b, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("spawncost: go build %s: %w: %s", name, err, bytes.TrimSpace(b))
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
		return "", fmt.Errorf("spawncost: go env GOMOD: %w", err)
	}
	mod := strings.TrimSpace(string(out))
	if mod == "" || mod == os.DevNull {
		return "", errors.New("spawncost: not inside the forkbench module: cannot build app variants")
	}
	root := filepath.Dir(mod)
	if !fileExists(filepath.Join(root, "cmd", "sampleapp", "main.go")) {
		return "", fmt.Errorf("spawncost: %s is not the forkbench module", root)
	}
	return root, nil
}

// buildVariant builds ./cmd/sampleapp of module root as v into cacheDir.
// Go's build cache makes a rebuild of unchanged sources a relink; the
// first cgo build on a cold cache takes minutes.
func buildVariant(ctx context.Context, gotool, root, cacheDir string, v variant) (string, error) {
	if err := os.MkdirAll(cacheDir, 0o755); err != nil {
		return "", fmt.Errorf("spawncost: %w", err)
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
		return "", fmt.Errorf("spawncost: go build %s variant: %w: %s", v.name, err, bytes.TrimSpace(b))
	}
	return out, nil
}

// linkage reports "dynamic" for an ELF executable with a program
// interpreter (the dynamic loader runs before main) and "static" without.
func linkage(path string) (string, error) {
	f, err := elf.Open(path)
	if err != nil {
		return "", fmt.Errorf("spawncost: %w", err)
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
