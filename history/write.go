package history

// This file writes the trend charts and trend.md.

import (
	"bytes"
	"fmt"
	"path/filepath"
	"strings"

	"forkbench/results"
)

// WriteTrend writes every chart as SVG and PNG into dir, and trend.md
// listing the charts and the change points; it returns the paths written.
func WriteTrend(dir string, charts []Chart) ([]string, error) {
	var paths []string
	var md bytes.Buffer
	fmt.Fprintf(&md, "# forkbench trends\n\n")
	var flagged []string
	for _, c := range charts {
		for _, s := range c.Series {
			for _, p := range s.Points {
				if p.Change != nil {
					load := s.Key.Load()
					if s.Paired {
						load += " (A/B, paired)"
					}
					flagged = append(flagged, fmt.Sprintf("| %s | %s | %s | %s | %s | %s | %+.1f%% | %.3f |",
						p.Time.UTC().Format("2006-01-02 15:04"), ShortCommit(p.Commit), s.Metric, s.Key.Target, s.Key.Endpoint, load, 100**p.Change, p.P))
				}
			}
		}
	}
	if len(flagged) == 0 {
		fmt.Fprintf(&md, "No change points.\n\n")
	} else {
		fmt.Fprintf(&md, "## Change points\n\n| run | commit | metric | target | endpoint | load | shift | p |\n|---|---|---|---|---|---|--:|--:|\n%s\n\n", strings.Join(flagged, "\n"))
	}
	fmt.Fprintf(&md, "## Charts\n\n")
	if len(charts) > 0 && len(charts[0].Series) > 0 && charts[0].Series[0].Paired {
		fmt.Fprintf(&md, "The ratio charts come first: each A/B night's paired ratio new/base (median of the per-round ratios, both builds measured in the same sitting), where the machine's drift between nights has cancelled; the dashed lines are the threshold. The absolute charts after them draw the new build of each night and move with the machine.\n\n")
	}
	for _, c := range charts {
		for _, format := range []string{"svg", "png"} {
			data, err := c.Render(format)
			if err != nil {
				return paths, err
			}
			p := filepath.Join(dir, c.Name+"."+format)
			if err := results.WriteFileAtomic(p, data); err != nil {
				return paths, fmt.Errorf("history: %w", err)
			}
			paths = append(paths, p)
		}
		fmt.Fprintf(&md, "### %s\n\n![%s](%s.svg)\n\n", c.Title, c.Title, c.Name)
	}
	p := filepath.Join(dir, "trend.md")
	if err := results.WriteFileAtomic(p, md.Bytes()); err != nil {
		return paths, fmt.Errorf("history: %w", err)
	}
	return append(paths, p), nil
}

// ShortCommit is a commit's first 12 characters, "-" when unknown.
func ShortCommit(c string) string {
	switch {
	case len(c) > 12:
		return c[:12]
	case c == "":
		return "-"
	}
	return c
}
