package app

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"forkbench/internal/testbin"
)

// testDB is the database every handler test reads, seeded once in TestMain.
var testDB string

// TestMain seeds testDB in a temporary directory, removed when the tests
// are done.
func TestMain(m *testing.M) {
	testbin.MainInTempDir(m, "app-test-", func(dir string) error {
		testDB = filepath.Join(dir, "world.db")
		return Seed(context.Background(), testDB)
	})
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
