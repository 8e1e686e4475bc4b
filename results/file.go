package results

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// Errors returned by Read, so callers can tell the user what is wrong with
// a file in one line.
var (
	// ErrNewerSchema means the file was written by a newer forkbench.
	ErrNewerSchema = errors.New("results: file has a newer schema version than this forkbench reads")
	// ErrCorrupt means the file is not a result file (truncated, not JSON,
	// or missing its schema version).
	ErrCorrupt = errors.New("results: not a valid result file")
)

// Write stores f at path atomically: it writes a temporary file in the same
// directory, syncs it and renames it over path, so a reader (or a crash)
// never sees half a file. The directory is created if needed.
func Write(path string, f *File) (err error) {
	if f.SchemaVersion == 0 {
		f.SchemaVersion = SchemaVersion
	}
	data, err := json.MarshalIndent(f, "", "  ")
	if err != nil {
		return fmt.Errorf("results: encode: %w", err)
	}
	data = append(data, '\n')
	return WriteFileAtomic(path, data)
}

// WriteFileAtomic writes data to path via a temporary file, synced, and a
// rename; then it syncs the directory, so that once it returns the new file
// survives a crash, and before it returns a reader sees the old file or the
// new one, never a mixture.
func WriteFileAtomic(path string, data []byte) (err error) {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("results: %w", err)
	}
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return fmt.Errorf("results: %w", err)
	}
	defer func() {
		if err != nil {
			_ = os.Remove(tmp.Name())
		}
	}()
	if _, err := tmp.Write(data); err != nil {
		_ = tmp.Close()
		return fmt.Errorf("results: write %s: %w", path, err)
	}
	if err := tmp.Sync(); err != nil {
		_ = tmp.Close()
		return fmt.Errorf("results: sync %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("results: close %s: %w", path, err)
	}
	if err := os.Chmod(tmp.Name(), 0o644); err != nil {
		return fmt.Errorf("results: %w", err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("results: %w", err)
	}
	return SyncDir(dir)
}

// SyncDir makes the renames in dir durable (a rename is an update of the
// directory, which fsync of the file does not cover). Everything that
// publishes a file or link by renaming it syncs through it.
func SyncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("results: %w", err)
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("results: sync %s: %w", dir, err)
	}
	return nil
}

// Read loads a result file. Unknown fields are ignored (files from older
// or newer minor revisions still read); a newer schema version, a
// truncated file or a file that is not a result file is an error that
// names the path.
func Read(path string) (*File, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("results: %w", err)
	}
	f, err := Decode(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return f, nil
}

// Decode reads a result file from r; see Read.
func Decode(r io.Reader) (*File, error) {
	var probe struct {
		SchemaVersion *int `json:"schema_version"`
	}
	data, err := io.ReadAll(r)
	if err != nil {
		return nil, fmt.Errorf("results: %w", err)
	}
	if err := json.Unmarshal(data, &probe); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrCorrupt, err)
	}
	if probe.SchemaVersion == nil {
		return nil, fmt.Errorf("%w: no schema_version", ErrCorrupt)
	}
	if v := *probe.SchemaVersion; v > SchemaVersion {
		return nil, fmt.Errorf("%w (file: %d, supported: %d)", ErrNewerSchema, v, SchemaVersion)
	} else if v < 1 {
		return nil, fmt.Errorf("%w: schema_version %d", ErrCorrupt, v)
	}
	var f File
	if err := json.Unmarshal(data, &f); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrCorrupt, err)
	}
	return &f, nil
}
