package results

import "encoding/json"

// NoteKind names what a Note is about; reports owns the sentence each
// kind is rendered as.
type NoteKind string

// The kinds of note a result file holds. Only facts the points do not
// show are notes: what can be read off the points (a saturated point,
// errors, spawns counted system-wide, pinning off) the reports derive
// from the points themselves, so it is never stated twice.
const (
	// NoteText is a sentence written by hand (a test fixture) or by a
	// forkbench that stored notes as sentences; Text holds it.
	NoteText NoteKind = "text"
	// NoteVerifySkipped: the run measured without checking the
	// deployments' answers against the app's specification.
	NoteVerifySkipped NoteKind = "verify-skipped"
	// NoteShardNotInStep: a shard (Subject "i/N") ran without --start-at,
	// so its load points were not in step with the other shards'.
	NoteShardNotInStep NoteKind = "shard-not-in-step"
	// NoteAgent: server figures were read through a remote agent
	// (Subject its URL; figures clock_offset_ns, clock_error_ns, cpus).
	NoteAgent NoteKind = "agent"
	// NoteMerged: the file merges shards (figure shards).
	NoteMerged NoteKind = "merged"
	// NoteKneesNotMerged: a merged file's knees were not recomputed.
	NoteKneesNotMerged NoteKind = "knees-not-merged"
	// NoteIncomparable: two files differ in Subject (a machine property,
	// a setting, the schema version), Detail holding the two values:
	// their figures may not be compared (Comparable).
	NoteIncomparable NoteKind = "incomparable"
)

// Note is a fact about a run, as data: a kind, what it is about, and the
// figures behind it; reports turns it into a sentence.
type Note struct {
	Kind NoteKind `json:"kind"`
	// Subject names what the note is about (a target, a load point);
	// "" for the whole run.
	Subject string             `json:"subject,omitempty"`
	Figures map[string]float64 `json:"figures,omitempty"`
	// Values is a list of figures of one kind (the rates a knee left
	// out), in the order the sentence names them.
	Values []float64 `json:"values,omitempty"`
	// Detail holds what is text by nature (the two values of a setting
	// that differs, an error's message); never a sentence.
	Detail []string `json:"detail,omitempty"`
	// Text is the sentence of a NoteText.
	Text string `json:"text,omitempty"`
}

// IsZero reports that n is no note, so that an optional note field
// (`json:",omitzero"`) is left out of a file.
func (n Note) IsZero() bool { return n.Kind == "" }

// TextNote is a NoteText holding s.
func TextNote(s string) Note { return Note{Kind: NoteText, Text: s} }

// UnmarshalJSON reads a note, or a plain sentence as files written before
// notes were data hold them.
func (n *Note) UnmarshalJSON(data []byte) error {
	var s string
	if err := json.Unmarshal(data, &s); err == nil {
		*n = TextNote(s)
		return nil
	}
	type plain Note
	return json.Unmarshal(data, (*plain)(n))
}
