package app

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// dirNames lists the names in dir.
func dirNames(t *testing.T, dir string) []string {
	t.Helper()
	es, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range es {
		names = append(names, e.Name())
	}
	return names
}

func TestSeedIdempotentAndDeterministic(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "w.db")
	if err := Seed(context.Background(), path); err != nil {
		t.Fatalf("first Seed: %v", err)
	}
	first, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := Seed(context.Background(), path); err != nil {
		t.Fatalf("second Seed: %v", err)
	}
	second, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(first, second) {
		t.Errorf("Seed twice gave different files (%d and %d bytes)", len(first), len(second))
	}
	shared, err := os.ReadFile(testDB)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(first, shared) {
		t.Errorf("Seed in another directory gave a different file")
	}
	if got := dirNames(t, dir); !slices.Equal(got, []string{"w.db"}) {
		t.Errorf("directory after Seed = %v; want only w.db", got)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o644 {
		t.Errorf("mode = %v; want 0644", fi.Mode().Perm())
	}
}

func TestSeedFailureLeavesNothing(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "w.db")
	const old = "previous content"
	if err := os.WriteFile(path, []byte(old), 0o644); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := Seed(ctx, path); err == nil {
		t.Fatal("Seed with a cancelled context succeeded")
	}
	if got := dirNames(t, dir); !slices.Equal(got, []string{"w.db"}) {
		t.Errorf("directory after failed Seed = %v; want only w.db", got)
	}
	if b, _ := os.ReadFile(path); string(b) != old {
		t.Errorf("failed Seed changed %s to %q", path, b)
	}
}

func TestSeedMissingDir(t *testing.T) {
	path := filepath.Join(t.TempDir(), "no", "such", "w.db")
	if err := Seed(context.Background(), path); err == nil {
		t.Errorf("Seed(%s) succeeded; want an error", path)
	}
}

func TestSeedRelativePath(t *testing.T) {
	t.Chdir(t.TempDir())
	if err := Seed(context.Background(), "w.db"); err != nil {
		t.Fatalf("Seed(w.db): %v", err)
	}
	a, err := New(Config{DBPath: "w.db"})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	if err := a.Close(); err != nil {
		t.Error(err)
	}
}

func TestSeedOddPath(t *testing.T) {
	// SQLite URIs give '?', '#' and '%' meanings; the path must survive them.
	dir := filepath.Join(t.TempDir(), "a ?b#c%20d")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "w?.db")
	if err := Seed(context.Background(), path); err != nil {
		t.Fatalf("Seed: %v", err)
	}
	a, err := New(Config{DBPath: path})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	defer a.Close()
	if got := dirNames(t, dir); !slices.Equal(got, []string{"w?.db"}) {
		t.Errorf("directory = %v; want only w?.db", got)
	}
}
