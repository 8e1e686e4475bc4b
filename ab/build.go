// Package ab builds two revisions of forkbench so that `bench ab` can
// measure them side by side in one sitting: the baseline (A) and the
// candidate (B) run as targets of the same run, in interleaved rounds, so
// the machine's drift between sittings cancels out of their paired ratios.
//
// A build is a directory holding the two binaries a run needs, `bench`
// (the front that serves the embedded deployment and supervises the
// others) and `sampleapp` (what CGI execs and the FastCGI daemon runs).
// Builds of a revision are made in a temporary git worktree, so the
// caller's checkout is never touched, and kept in a cache keyed by commit
// and build tags: a nightly job rebuilds only what changed.
package ab

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
)

// Build is one side of a comparison.
type Build struct {
	// Label names the side in results and reports ("base", "new").
	Label string `json:"label"`
	// Rev is what the user asked for (a revision or a directory).
	Rev string `json:"rev"`
	// Commit is the full commit id Rev resolved to; "" for a directory
	// of binaries built elsewhere.
	Commit string `json:"commit,omitempty"`
	// Tags are the Go build tags the binaries were built with.
	Tags string `json:"tags,omitempty"`
	// Dir holds bench and sampleapp.
	Dir string `json:"dir"`
}

// Bench is the build's bench binary.
func (b Build) Bench() string { return filepath.Join(b.Dir, "bench") }

// SampleApp is the build's sample app binary.
func (b Build) SampleApp() string { return filepath.Join(b.Dir, "sampleapp") }

// ErrBuild is wrapped by every error of Prepare.
var ErrBuild = errors.New("ab: build")

// Options say where and how to build.
type Options struct {
	// Repo is the git checkout revisions are resolved in; "" means the
	// current directory.
	Repo string
	// Cache is the directory builds are kept in, one subdirectory per
	// commit and tags; "" means Repo/out/ab/builds.
	Cache string
	// Log receives one line per build step; nil discards them.
	Log io.Writer
}

// validTags are Go build tags as the go command accepts them, comma-separated.
var validTags = regexp.MustCompile(`^[A-Za-z0-9_.,]*$`)

// Prepare returns the build for rev: a directory already holding bench and
// sampleapp is used as it is; anything else is a git revision, resolved in
// opt.Repo and built with tags (unless the cache has it already).
func Prepare(ctx context.Context, label, rev, tags string, opt Options) (Build, error) {
	b := Build{Label: label, Rev: rev, Tags: tags}
	if !validTags.MatchString(tags) {
		return b, fmt.Errorf("%w: bad build tags %q", ErrBuild, tags)
	}
	if st, err := os.Stat(rev); err == nil && st.IsDir() {
		if tags != "" {
			return b, fmt.Errorf("%w: %s is a directory of binaries: build tags do not apply", ErrBuild, rev)
		}
		b.Dir = rev
		for _, p := range []string{b.Bench(), b.SampleApp()} {
			if st, err := os.Stat(p); err != nil || st.IsDir() || st.Mode()&0o111 == 0 {
				return b, fmt.Errorf("%w: %s has no executable %s", ErrBuild, rev, filepath.Base(p))
			}
		}
		return b, nil
	}
	repo := opt.Repo
	if repo == "" {
		repo = "."
	}
	commit, err := git(ctx, repo, "rev-parse", "--verify", "--quiet", rev+"^{commit}")
	if err != nil {
		return b, fmt.Errorf("%w: %q is neither a directory of binaries nor a git revision in %s", ErrBuild, rev, repo)
	}
	b.Commit = commit
	cache := opt.Cache
	if cache == "" {
		cache = filepath.Join(repo, "out", "ab", "builds")
	}
	name := commit
	if tags != "" {
		name += "+" + strings.ReplaceAll(tags, ",", "+")
	}
	b.Dir = filepath.Join(cache, name)
	if isExec(b.Bench()) && isExec(b.SampleApp()) {
		logf(opt.Log, "ab: %s = %s%s (cached build)", label, short(commit), tagNote(tags))
		return b, nil
	}
	logf(opt.Log, "ab: building %s = %s%s", label, short(commit), tagNote(tags))
	if err := build(ctx, repo, commit, tags, b.Dir); err != nil {
		return b, err
	}
	return b, nil
}

// build checks commit out into a temporary worktree and builds both
// binaries into dir, atomically: a half-built directory is never left
// where the cache would take it for a finished one.
func build(ctx context.Context, repo, commit, tags, dir string) (err error) {
	tmp, err := os.MkdirTemp("", "forkbench-ab-")
	if err != nil {
		return fmt.Errorf("%w: %w", ErrBuild, err)
	}
	defer os.RemoveAll(tmp)
	src := filepath.Join(tmp, "src")
	if _, err := git(ctx, repo, "worktree", "add", "--detach", "--quiet", src, commit); err != nil {
		return fmt.Errorf("%w: checking out %s: %w", ErrBuild, short(commit), err)
	}
	defer func() {
		if _, rmErr := git(context.WithoutCancel(ctx), repo, "worktree", "remove", "--force", src); rmErr != nil && err == nil {
			err = fmt.Errorf("%w: removing worktree: %w", ErrBuild, rmErr)
		}
	}()
	stage := filepath.Join(tmp, "bin")
	steps := []struct {
		cgo  string
		args []string
	}{
		// As the Makefile builds them (the app static: it is what CGI
		// execs), both with -trimpath so that two worktrees of the same
		// source share the build cache.
		{"CGO_ENABLED=0", []string{"build", "-trimpath", "-tags", tags, "-o", filepath.Join(stage, "sampleapp"), "./cmd/sampleapp"}},
		{"", []string{"build", "-trimpath", "-tags", tags, "-o", filepath.Join(stage, "bench"), "./cmd/bench"}},
	}
	for _, s := range steps {
		cmd := exec.CommandContext(ctx, "go", s.args...)
		cmd.Dir = src
		cmd.Env = append(os.Environ(), "GOTOOLCHAIN=local")
		if s.cgo != "" {
			cmd.Env = append(cmd.Env, s.cgo)
		}
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		if err := cmd.Run(); err != nil {
			return fmt.Errorf("%w: go %s at %s: %w: %s", ErrBuild, strings.Join(s.args, " "), short(commit), err, strings.TrimSpace(stderr.String()))
		}
	}
	if err := os.MkdirAll(filepath.Dir(dir), 0o755); err != nil {
		return fmt.Errorf("%w: %w", ErrBuild, err)
	}
	_ = os.RemoveAll(dir) // a stale, incomplete build
	if err := os.Rename(stage, dir); err != nil {
		return fmt.Errorf("%w: %w", ErrBuild, err)
	}
	return nil
}

func git(ctx context.Context, repo string, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, "git", append([]string{"-C", repo}, args...)...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		if msg := strings.TrimSpace(stderr.String()); msg != "" {
			return "", fmt.Errorf("git %s: %w: %s", args[0], err, msg)
		}
		return "", fmt.Errorf("git %s: %w", args[0], err)
	}
	return strings.TrimSpace(string(out)), nil
}

func isExec(p string) bool {
	st, err := os.Stat(p)
	return err == nil && !st.IsDir() && st.Mode()&0o111 != 0
}

func short(c string) string {
	if len(c) > 12 {
		return c[:12]
	}
	return c
}

func tagNote(tags string) string {
	if tags == "" {
		return ""
	}
	return " -tags " + tags
}

func logf(w io.Writer, format string, a ...any) {
	if w != nil {
		fmt.Fprintf(w, format+"\n", a...)
	}
}
