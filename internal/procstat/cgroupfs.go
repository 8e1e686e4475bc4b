package procstat

// This file finds the cgroup hierarchies of this process: which cgroup
// filesystems are mounted where (/proc/self/mountinfo) and which cgroup
// this process is in within each (/proc/self/cgroup).

import (
	"bufio"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
)

// hierarchy is one mounted cgroup hierarchy and this process's cgroup in
// it.
type hierarchy struct {
	v2 bool
	// controllers are the v1 controllers bound to the hierarchy (from
	// the mount's options); for v2, those available to a child of this
	// process's cgroup (its cgroup.subtree_control, read later).
	controllers []string
	// dir is this process's cgroup in the hierarchy, as a path under
	// the mount point.
	dir string
}

// wantV1 are the v1 controllers a Cgroup uses: cpuacct is required,
// memory adds the peak. (Processes are counted from cgroup.procs, forks by
// ForkCounter: the pids controller would add nothing.)
var wantV1 = []string{"cpuacct", "memory"}

// findHierarchies lists the cgroup hierarchies mounted in this mount
// namespace in which this process's cgroup can be located, from the text
// of /proc/self/mountinfo and /proc/self/cgroup. Bind mounts of a
// hierarchy are skipped after the first; v1 hierarchies without a
// controller the suite uses (name=systemd, devices, …) are left out.
func findHierarchies(mountinfo, selfCgroup string) []hierarchy {
	own := parseSelfCgroup(selfCgroup)
	var hs []hierarchy
	seen := make(map[string]bool)
	for _, m := range parseMountinfo(mountinfo) {
		var key string
		var ctrls []string
		switch m.fstype {
		case "cgroup2":
			key = "" // the one unified hierarchy: 0::PATH
		case "cgroup":
			for _, o := range strings.Split(m.superOpts, ",") {
				if slices.Contains(wantV1, o) {
					ctrls = append(ctrls, o)
				}
			}
			if len(ctrls) == 0 {
				continue
			}
			key = ownKey(own, ctrls[0])
		default:
			continue
		}
		p, ok := own[key]
		if !ok || seen[key] {
			continue
		}
		rel, ok := underRoot(p, m.root)
		if !ok {
			continue // this process's cgroup is not visible in the mount
		}
		seen[key] = true
		hs = append(hs, hierarchy{v2: m.fstype == "cgroup2", controllers: ctrls, dir: filepath.Join(m.mountPoint, rel)})
	}
	return hs
}

// ownKey is the key of parseSelfCgroup's map for the v1 hierarchy that
// has controller ctrl ("" if none).
func ownKey(own map[string]string, ctrl string) string {
	for k := range own {
		if k != "" && slices.Contains(strings.Split(k, ","), ctrl) {
			return k
		}
	}
	return "\x00" // matches nothing
}

// underRoot returns p relative to the mount's root, if it is under it.
func underRoot(p, root string) (string, bool) {
	if root == "/" {
		return p, true
	}
	if p == root {
		return "/", true
	}
	if rest, ok := strings.CutPrefix(p, root+"/"); ok {
		return "/" + rest, true
	}
	return "", false
}

// parseSelfCgroup maps each hierarchy's controller list ("" for v2, e.g.
// "cpu,cpuacct" for v1) to this process's cgroup path in it, from lines
// "ID:CONTROLLERS:PATH".
func parseSelfCgroup(text string) map[string]string {
	own := make(map[string]string)
	for _, line := range strings.Split(text, "\n") {
		_, rest, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		ctrls, p, ok := strings.Cut(rest, ":")
		if !ok || !strings.HasPrefix(p, "/") {
			continue
		}
		own[ctrls] = path.Clean(p)
	}
	return own
}

// mount is what findHierarchies needs of a line of /proc/self/mountinfo.
type mount struct {
	root, mountPoint  string
	fstype, superOpts string
}

// parseMountinfo reads lines "ID PARENT MAJ:MIN ROOT MOUNTPOINT OPTS
// [OPTIONAL…] - FSTYPE SOURCE SUPEROPTS" (proc(5)); malformed lines are
// skipped.
func parseMountinfo(text string) []mount {
	var ms []mount
	sc := bufio.NewScanner(strings.NewReader(text))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		sep := slices.Index(f, "-")
		if sep < 6 || len(f) < sep+4 {
			continue
		}
		ms = append(ms, mount{
			root:       unescapeMount(f[3]),
			mountPoint: unescapeMount(f[4]),
			fstype:     f[sep+1],
			superOpts:  f[sep+3],
		})
	}
	return ms
}

// unescapeMount undoes mountinfo's octal escapes (\040 for a space, …).
func unescapeMount(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) && isOctal(s[i+1]) && isOctal(s[i+2]) && isOctal(s[i+3]) {
			b.WriteByte((s[i+1]-'0')<<6 | (s[i+2]-'0')<<3 | (s[i+3] - '0'))
			i += 3
			continue
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

func isOctal(c byte) bool { return c >= '0' && c <= '7' }

// readSelfHierarchies reads this process's hierarchies from /proc.
func readSelfHierarchies() ([]hierarchy, error) {
	mi, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrCgroupUnavailable, err)
	}
	cg, err := os.ReadFile("/proc/self/cgroup")
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrCgroupUnavailable, err)
	}
	return findHierarchies(string(mi), string(cg)), nil
}
