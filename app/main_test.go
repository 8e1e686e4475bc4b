package app

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// testDB is the database every handler test reads, seeded once in TestMain.
var testDB string

func TestMain(m *testing.M) { os.Exit(runTests(m)) }

// runTests seeds testDB in a temporary directory, runs the tests and
// removes the directory, whatever happened, before TestMain exits.
func runTests(m *testing.M) int {
	dir, err := os.MkdirTemp("", "app-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	testDB = filepath.Join(dir, "world.db")
	if err := Seed(context.Background(), testDB); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return m.Run()
}

// testNow is the fixed clock of the handler tests, and testDate its Date.
var testNow = time.Date(2024, time.January, 2, 3, 4, 5, 0, time.UTC)

const testDate = "Tue, 02 Jan 2024 03:04:05 GMT"

// newTestApp starts an App over the shared database with cfg's limits.
func newTestApp(t testing.TB, cfg Config) *App {
	t.Helper()
	cfg.DBPath = testDB
	if cfg.Now == nil {
		cfg.Now = func() time.Time { return testNow }
	}
	if cfg.Logf == nil {
		cfg.Logf = t.Logf
	}
	a, err := New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() {
		if err := a.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return a
}
