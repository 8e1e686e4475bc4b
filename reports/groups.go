package reports

// This file groups targets by what they are (results.File.Targets): the
// front facing the client, the protocol to the application, or the
// application's language, so that a matrix of real servers reads as
// "Apache vs nginx vs Go" or "CGI vs FastCGI" rather than as a flat list
// of fifteen names.

import (
	"cmp"
	"errors"
	"fmt"
	"slices"

	"forkbench/results"
)

// Groupings of the tables and the throughput chart (Options.GroupBy).
const (
	// GroupAuto groups by front a file whose targets span more than one
	// front, and does not group otherwise.
	GroupAuto     = ""
	GroupNone     = "none"
	GroupFront    = "front"
	GroupProtocol = "protocol"
	GroupLanguage = "language"
)

// ErrUnknownGroup is returned for a grouping ParseGroupBy does not know.
var ErrUnknownGroup = errors.New("reports: unknown grouping")

// ParseGroupBy checks a --group-by value: front, protocol, language,
// none, or empty for the automatic choice.
func ParseGroupBy(s string) (string, error) {
	switch s {
	case GroupAuto, GroupNone, GroupFront, GroupProtocol, GroupLanguage:
		return s, nil
	}
	return "", fmt.Errorf("%w %q (want front, protocol, language or none)", ErrUnknownGroup, s)
}

// Options tune a report beyond its formats.
type Options struct {
	// GroupBy orders and sections the tables and colours the throughput
	// chart by front, protocol or language (GroupAuto: by front when a
	// file's targets span several fronts). A file without target
	// descriptions (written before they were recorded) is never grouped.
	GroupBy string
}

// knownGroupOrder is the order of the values the suite's descriptors use
// (targets/fronts), so that a group keeps its place and colour in every
// report; other values follow in order of first appearance.
var knownGroupOrder = map[string][]string{
	GroupFront:    {"go", "apache", "nginx", "lighttpd"},
	GroupProtocol: {"cgi", "fastcgi", "in-process", "http-proxy", "uwsgi", "wsgi-daemon"},
	GroupLanguage: {"go", "python"},
}

// groupOther is the group of a target the file does not describe (an
// external URL).
const groupOther = "other"

// fronts returns the distinct fronts file f's targets run behind.
func fronts(f *results.File) []string {
	var out []string
	for _, t := range f.Targets {
		if t.Front != "" && !slices.Contains(out, t.Front) {
			out = append(out, t.Front)
		}
	}
	return out
}

// isMatrix reports whether f compares several fronts: its report then
// shows the grouped view and the matrix chart by default.
func isMatrix(f *results.File) bool { return len(fronts(f)) > 1 }

// groupingOf resolves the grouping of file f under opt: none for a file
// without target descriptions.
func groupingOf(f *results.File, opt Options) string {
	if len(f.Targets) == 0 {
		return GroupNone
	}
	switch opt.GroupBy {
	case GroupAuto:
		if isMatrix(f) {
			return GroupFront
		}
		return GroupNone
	}
	return opt.GroupBy
}

// groupValue is the value of target's attribute by (front, protocol or
// language) in f, groupOther when f does not say.
func groupValue(f *results.File, by, target string) string {
	ti, _ := f.TargetInfoOf(target)
	v := ""
	switch by {
	case GroupFront:
		v = ti.Front
	case GroupProtocol:
		v = ti.Protocol
	case GroupLanguage:
		v = ti.Language
	}
	if v == "" {
		return groupOther
	}
	return v
}

// groupRanks ranks the values of attribute by across files: the known
// values first, in knownGroupOrder, then the others as they appear,
// groupOther last.
func groupRanks(files []*results.File, by string) map[string]int {
	o := map[string]int{}
	add := func(v string) {
		if _, ok := o[v]; !ok {
			o[v] = len(o)
		}
	}
	for _, v := range knownGroupOrder[by] {
		add(v)
	}
	for _, f := range files {
		for _, t := range f.Targets {
			if v := groupValue(f, by, t.Name); v != groupOther {
				add(v)
			}
		}
	}
	add(groupOther)
	return o
}

// orderByGroup orders rows (of file f) by group, keeping their order within
// a group, and returns each row's group.
func orderByGroup(files []*results.File, f *results.File, by string, rows []*Row) ([]*Row, []string) {
	rank := groupRanks(files, by)
	out := slices.Clone(rows)
	slices.SortStableFunc(out, func(a, b *Row) int {
		return cmp.Compare(rank[groupValue(f, by, a.Target)], rank[groupValue(f, by, b.Target)])
	})
	gs := make([]string, len(out))
	for i, r := range out {
		gs[i] = groupValue(f, by, r.Target)
	}
	return out, gs
}
