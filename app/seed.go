package app

// This file creates the database the application reads: Seed is run once,
// before any deployment starts, never by a request.

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
)

// Seed creates the SQLite database at path with tables world (WorldRows
// rows, see RandomNumber) and fortune (SeedFortunes). The content is
// deterministic and Seed is idempotent: it always builds a fresh file and
// renames it over path, so running it again leaves the same database. The
// rename makes it atomic: readers see the old file or the new one, never a
// half-written one, and a failed or cancelled Seed leaves no temporary file
// behind and path untouched. The file is made readable by all (0644).
func Seed(ctx context.Context, path string) (err error) {
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	f, err := os.CreateTemp(dir, "."+base+".tmp-*")
	if err != nil {
		return fmt.Errorf("app: seed: %w", err)
	}
	tmp := f.Name()
	// CreateTemp makes the file private; the database is meant to be read by
	// whatever user a CGI host runs its children as.
	if err := errors.Join(f.Chmod(0o644), f.Close()); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("app: seed: %w", err)
	}
	defer func() {
		if err != nil {
			os.Remove(tmp)
			os.Remove(tmp + "-journal")
			err = fmt.Errorf("app: seed %s: %w", path, err)
		}
	}()

	if err := build(ctx, tmp); err != nil {
		return err
	}
	if err := syncPath(tmp); err != nil {
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		return err
	}
	// Make the rename itself durable.
	return syncPath(dir)
}

// build writes the schema and rows into the empty file at path.
func build(ctx context.Context, path string) (err error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return err
	}
	// The file is private until renamed, so the journal buys nothing and
	// durability comes from syncPath afterwards.
	u := url.URL{Scheme: "file", Path: filepath.ToSlash(abs),
		RawQuery: "_pragma=journal_mode(memory)&_pragma=synchronous(off)"}
	db, err := sql.Open("sqlite", u.String())
	if err != nil {
		return err
	}
	defer func() { err = errors.Join(err, db.Close()) }()
	db.SetMaxOpenConns(1)

	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()

	for _, q := range []string{
		"CREATE TABLE world (id INTEGER PRIMARY KEY, randomNumber INTEGER NOT NULL)",
		"CREATE TABLE fortune (id INTEGER PRIMARY KEY, message TEXT NOT NULL)",
	} {
		if _, err := tx.ExecContext(ctx, q); err != nil {
			return err
		}
	}

	ins, err := tx.PrepareContext(ctx, "INSERT INTO world (id, randomNumber) VALUES (?, ?)")
	if err != nil {
		return err
	}
	defer ins.Close()
	for id := 1; id <= WorldRows; id++ {
		if _, err := ins.ExecContext(ctx, id, RandomNumber(id)); err != nil {
			return err
		}
	}
	for _, f := range SeedFortunes() {
		if _, err := tx.ExecContext(ctx, "INSERT INTO fortune (id, message) VALUES (?, ?)", f.ID, f.Message); err != nil {
			return err
		}
	}
	return tx.Commit()
}

// syncPath flushes a file or directory to stable storage.
func syncPath(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	return errors.Join(f.Sync(), f.Close())
}
