package results

import (
	"fmt"
	"strconv"
	"strings"
)

// fact is one property two files must share for their figures to be
// comparable, or one that may differ but is worth naming.
type fact struct {
	what  string
	value string
}

// machineFacts are the machine properties comparable files share.
func machineFacts(f *File) []fact {
	e := f.Environment
	return []fact{
		{"machine OS", e.OS},
		{"machine architecture", e.Arch},
		{"machine CPU model", e.CPUModel},
		{"machine CPU count", strconv.Itoa(e.CPUs)},
	}
}

// settingsFacts are the settings comparable files share: how the load was
// made, not where the binaries are.
func settingsFacts(f *File) []fact {
	s := f.Settings
	secs := func(ns int64) string { return strconv.FormatFloat(float64(ns)/1e9, 'f', -1, 64) + "s" }
	out := []fact{
		{"setting connections", strconv.Itoa(s.Connections)},
		{"setting duration", secs(s.DurationNs)},
		{"setting warmup", secs(s.WarmupNs)},
		{"setting timeout", secs(s.TimeoutNs)},
		{"setting rates", fmt.Sprint(s.Rates)},
		{"setting sweep factors", fmt.Sprint(s.SweepFactors)},
		{"setting keep-alive", strconv.FormatBool(s.KeepAlive)},
		{"setting transport", s.Transport},
		{"setting body bytes", strconv.Itoa(s.BodyBytes)},
		{"setting CPU pinning", strconv.FormatBool(f.Pinning.Enabled)},
	}
	var o TargetOptions
	if s.TargetOptions != nil {
		o = *s.TargetOptions
	}
	for _, opt := range o.fields() {
		if !opt.path {
			out = append(out, fact{"target option " + opt.name, orNone(opt.value)})
		}
	}
	return out
}

// Comparable names every difference between a and b that makes their
// figures incomparable: schema version, machine (OS, architecture, CPU
// model and count) and settings (connections, durations, rates,
// transport, pinning, target options other than paths). None means the
// files may be compared. It is the one rule `bench compare` and the
// history's choice of a baseline apply.
//
// Each difference is a NoteIncomparable note: reports words it.
func Comparable(a, b *File) []Note {
	differs := func(what, x, y string) Note {
		return Note{Kind: NoteIncomparable, Subject: what, Detail: []string{x, y}}
	}
	var out []Note
	if a.SchemaVersion != b.SchemaVersion {
		out = append(out, differs("schema version", strconv.Itoa(a.SchemaVersion), strconv.Itoa(b.SchemaVersion)))
	}
	fa := append(machineFacts(a), settingsFacts(a)...)
	fb := append(machineFacts(b), settingsFacts(b)...)
	for i := range fa {
		if fa[i].value != fb[i].value {
			out = append(out, differs(fa[i].what, fa[i].value, fb[i].value))
		}
	}
	return out
}

// Fingerprint summarises what Comparable looks at in two lines, machine
// and settings: files with equal fingerprints are comparable (up to the
// schema version). The history index records them for people reading it.
func Fingerprint(f *File) (machine, settings string) {
	join := func(fs []fact) string {
		parts := make([]string, len(fs))
		for i, x := range fs {
			parts[i] = x.value
		}
		return strings.Join(parts, " ")
	}
	return join(machineFacts(f)), join(settingsFacts(f))
}

// PathOptions names the target options that say where something is and
// differ between checkouts without changing what is measured, with their
// values in a and b; compare lists the differences as notes.
func PathOptions(a, b *File) (names, va, vb []string) {
	var oa, ob TargetOptions
	if a.Settings.TargetOptions != nil {
		oa = *a.Settings.TargetOptions
	}
	if b.Settings.TargetOptions != nil {
		ob = *b.Settings.TargetOptions
	}
	fa, fb := oa.fields(), ob.fields()
	for i := range fa {
		if fa[i].path {
			names = append(names, fa[i].name)
			va = append(va, fa[i].value)
			vb = append(vb, fb[i].value)
		}
	}
	return names, va, vb
}

func orNone(s string) string {
	if s == "" {
		return "(none)"
	}
	return s
}
