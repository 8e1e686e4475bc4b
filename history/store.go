// Package history keeps the results of past runs for the nightly
// regression job: a store of result files keyed by time and commit, the
// choice of a baseline (the latest comparable run on main, or a pinned
// commit), and trend charts of the headline metrics with change points
// flagged.
//
// The store is a plain directory: one result file per run
// (STAMP-COMMIT.json) and index.json listing them; every write is atomic,
// so an interrupted job leaves the store as it was. No server is needed
// and the directory can be cached or committed by any CI.
package history

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"forkbench/results"
)

// DefaultStore is the store directory when none is given.
const DefaultStore = "out/history"

// indexVersion is the version of index.json this package writes.
const indexVersion = 1

// Errors of the store.
var (
	// ErrNoBaseline means no stored run qualifies as a baseline.
	ErrNoBaseline = errors.New("history: no baseline")
	// ErrBadStore means index.json is unreadable or newer than this
	// forkbench.
	ErrBadStore = errors.New("history: bad store")
	// ErrBadCommit means a commit id is not a git object name: 7 to 64
	// lower-case hex digits (a prefix of one, for a pin). A commit id
	// becomes part of a file name, so nothing else is accepted.
	ErrBadCommit = errors.New("history: malformed commit id")
)

// ValidCommit reports whether s is a git commit id, abbreviated (at least
// 7 digits) or full (40 for SHA-1, 64 for SHA-256).
func ValidCommit(s string) bool {
	if len(s) < 7 || len(s) > 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if (s[i] < '0' || s[i] > '9') && (s[i] < 'a' || s[i] > 'f') {
			return false
		}
	}
	return true
}

// lock takes the store's lock (an flock on index.lock), which serialises
// every read-modify-write of index.json across processes, so two jobs
// adding runs at once cannot lose one.
func (s Store) lock() (unlock func(), err error) {
	if err := os.MkdirAll(s.Dir, 0o755); err != nil {
		return nil, fmt.Errorf("history: %w", err)
	}
	f, err := os.OpenFile(filepath.Join(s.Dir, "index.lock"), os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("history: %w", err)
	}
	for {
		err = unix.Flock(int(f.Fd()), unix.LOCK_EX)
		if err != unix.EINTR {
			break
		}
	}
	if err != nil {
		_ = f.Close()
		return nil, fmt.Errorf("history: lock %s: %w", f.Name(), err)
	}
	return func() { _ = f.Close() }, nil // closing releases the lock
}

// Entry is one stored run.
type Entry struct {
	// File is the result file's name within the store.
	File      string    `json:"file"`
	Commit    string    `json:"commit"`
	Dirty     bool      `json:"dirty,omitempty"`
	Branch    string    `json:"branch,omitempty"`
	StartedAt time.Time `json:"started_at"`
	AddedAt   time.Time `json:"added_at"`
	Scenario  string    `json:"scenario"`
	Partial   bool      `json:"partial,omitempty"`
	// Regressed marks a run the nightly job judged a regression: it is
	// history, never a baseline.
	Regressed bool `json:"regressed,omitempty"`
	// Machine and Settings summarise what must match for two runs to be
	// comparable (results.Fingerprint), for people reading the index;
	// baselines are chosen by results.Comparable on the files themselves.
	Machine  string `json:"machine"`
	Settings string `json:"settings"`
}

// Index is the store's index.json.
type Index struct {
	Version int     `json:"version"`
	Entries []Entry `json:"entries"` // oldest first
}

// Store is a history directory.
type Store struct {
	Dir string
}

// Load reads the index; a store that does not exist yet is empty.
func (s Store) Load() (*Index, error) {
	data, err := os.ReadFile(filepath.Join(s.Dir, "index.json"))
	if errors.Is(err, os.ErrNotExist) {
		return &Index{Version: indexVersion}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("history: %w", err)
	}
	var idx Index
	if err := json.Unmarshal(data, &idx); err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrBadStore, s.Dir, err)
	}
	if idx.Version > indexVersion {
		return nil, fmt.Errorf("%w: %s: index version %d is newer than %d", ErrBadStore, s.Dir, idx.Version, indexVersion)
	}
	return &idx, nil
}

// Add stores f (recorded as made on branch, regressed or not) and returns
// its entry. The
// result file is written before the index, so a crash between the two
// leaves an unlisted file, never a listed file that is missing.
func (s Store) Add(f *results.File, branch string, regressed bool, now time.Time) (Entry, error) {
	e := EntryFor(f)
	if e.Commit != "" && !ValidCommit(e.Commit) {
		return Entry{}, fmt.Errorf("%w: %q in the result file", ErrBadCommit, e.Commit)
	}
	unlock, err := s.lock()
	if err != nil {
		return Entry{}, err
	}
	defer unlock()
	idx, err := s.Load()
	if err != nil {
		return Entry{}, err
	}
	e.Branch, e.AddedAt, e.Regressed = branch, now.UTC(), regressed
	commit := e.Commit
	if len(commit) > 12 {
		commit = commit[:12]
	}
	if commit == "" {
		commit = "nocommit"
	}
	base := e.StartedAt.UTC().Format("20060102T150405Z") + "-" + commit
	e.File = base + ".json"
	for i := 2; slices.ContainsFunc(idx.Entries, func(x Entry) bool { return x.File == e.File }); i++ {
		e.File = fmt.Sprintf("%s-%d.json", base, i)
	}
	if err := results.Write(filepath.Join(s.Dir, e.File), f); err != nil {
		return Entry{}, fmt.Errorf("history: %w", err)
	}
	idx.Version = indexVersion
	idx.Entries = append(idx.Entries, e)
	slices.SortStableFunc(idx.Entries, func(a, b Entry) int { return a.StartedAt.Compare(b.StartedAt) })
	data, err := json.MarshalIndent(idx, "", "  ")
	if err != nil {
		return Entry{}, fmt.Errorf("history: %w", err)
	}
	if err := results.WriteFileAtomic(filepath.Join(s.Dir, "index.json"), append(data, '\n')); err != nil {
		return Entry{}, fmt.Errorf("history: %w", err)
	}
	return e, nil
}

// validPin accepts a commit id prefix of at least 4 hex digits, as git
// does.
func validPin(s string) bool {
	return len(s) >= 4 && ValidCommit(s+strings.Repeat("0", max(0, 7-len(s))))
}

// Path returns the path of e's result file.
func (s Store) Path(e Entry) string { return filepath.Join(s.Dir, e.File) }

// Read loads e's result file.
func (s Store) Read(e Entry) (*results.File, error) {
	if e.File == "" || e.File != filepath.Base(e.File) || strings.HasPrefix(e.File, ".") {
		return nil, fmt.Errorf("%w: %s: entry names file %q outside the store", ErrBadStore, s.Dir, e.File)
	}
	return results.Read(s.Path(e))
}

// EntryFor describes f as the index would (without file, branch or time
// added).
func EntryFor(f *results.File) Entry {
	machine, settings := results.Fingerprint(f)
	return Entry{
		Commit:    f.Environment.GitCommit,
		Dirty:     f.Environment.GitDirty,
		StartedAt: f.StartedAt.UTC(),
		Scenario:  f.Settings.Scenario,
		Partial:   f.Partial,
		Machine:   machine,
		Settings:  settings,
	}
}

// comparable reports whether e's run may be compared with f
// (results.Comparable); an unreadable file is not.
func (s Store) comparable(e Entry, f *results.File) bool {
	ef, err := s.Read(e)
	return err == nil && len(results.Comparable(ef, f)) == 0
}

// Query selects a baseline.
type Query struct {
	// Branch restricts the choice to runs recorded on it; "" means any.
	Branch string
	// Pin, when set, selects the latest run whose commit starts with it,
	// on any branch.
	Pin string
	// Like, when set, restricts the choice to runs comparable with it
	// (same machine and settings) and made before it.
	Like *results.File
}

// Baseline returns the latest complete (not partial), not regressed run
// matching q.
func (s Store) Baseline(q Query) (Entry, error) {
	if q.Pin != "" && !validPin(q.Pin) {
		return Entry{}, fmt.Errorf("%w: pin %q", ErrBadCommit, q.Pin)
	}
	idx, err := s.Load()
	if err != nil {
		return Entry{}, err
	}
	for i := len(idx.Entries) - 1; i >= 0; i-- {
		e := idx.Entries[i]
		switch {
		case e.Partial, e.Regressed && q.Pin == "":
		case q.Pin != "" && !strings.HasPrefix(e.Commit, q.Pin):
		case q.Pin == "" && q.Branch != "" && e.Branch != q.Branch:
		case q.Like != nil && !e.StartedAt.Before(q.Like.StartedAt.UTC()):
		case q.Like != nil && !s.comparable(e, q.Like):
		default:
			return e, nil
		}
	}
	what := "on branch " + q.Branch
	if q.Pin != "" {
		what = "at commit " + q.Pin
	} else if q.Branch == "" {
		what = "on any branch"
	}
	if q.Like != nil {
		what += " with the same machine and settings"
	}
	return Entry{}, fmt.Errorf("%w %s in %s", ErrNoBaseline, what, s.Dir)
}
