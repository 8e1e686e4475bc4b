package results

import "strings"

// SplitTarget splits a labelled target name, as `bench ab` names its
// two builds' targets, "kind@label" into its parts; ok is
// false for a name without a label.
func SplitTarget(name string) (kind, label string, ok bool) {
	i := strings.LastIndexByte(name, '@')
	if i <= 0 || i == len(name)-1 {
		return name, "", false
	}
	return name[:i], name[i+1:], true
}
