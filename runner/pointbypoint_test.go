package runner

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// TestRunPointByPoint checks the A/B order: the two builds of a kind are
// started together and measured point by point, their order alternating
// from point to point and round to round (A B B A …), while a target of
// its own kind is measured on its own.
func TestRunPointByPoint(t *testing.T) {
	sc := twoShortRounds(t, "x@base", "x@new", "y")
	sc.Endpoints = []string{"plaintext", "json"}
	sc.Duration.Duration = 50 * time.Millisecond
	f, log := runFakes(t, Config{Scenario: sc, PointByPoint: true})
	if got, want := strings.Join(log.started, " "), "x@base x@new y y x@new x@base"; got != want {
		t.Errorf("targets started %s; want %s", got, want)
	}
	if log.stopped != 6 {
		t.Errorf("%d targets stopped; want 6", log.stopped)
	}
	var order []string
	for _, p := range f.Points {
		order = append(order, fmt.Sprintf("%s/%s/r%d", p.Target, p.Endpoint, p.Round))
	}
	want := []string{
		"x@base/plaintext/r1", "x@new/plaintext/r1", "x@new/json/r1", "x@base/json/r1",
		"y/plaintext/r1", "y/json/r1",
		"y/plaintext/r2", "y/json/r2",
		"x@new/plaintext/r2", "x@base/plaintext/r2", "x@base/json/r2", "x@new/json/r2",
	}
	if got := strings.Join(order, " "); got != strings.Join(want, " ") {
		t.Errorf("points:\n got %s\nwant %s", got, strings.Join(want, " "))
	}
}
