package app

// This file is the specification of what the endpoints answer: the seeded
// data and the deterministic generators behind /db, /queries, /work and
// /bytes. It is exported so that a verifier can compute the expected body of
// any response without a database.

import (
	"crypto/sha256"
	"math/rand/v2"
)

// WorldRows is the number of rows of table world: ids 1..WorldRows, each
// randomNumber in 1..WorldRows, as in TechEmpower.
const WorldRows = 10_000

// PCG seeds. worldSeed fixes the seeded randomNumbers; queriesStream is the
// second PCG word for /queries?seed=S.
const (
	worldSeed     = 0x666f726b62656e63 // "forkbenc"
	queriesStream = 0x7175657269657321 // "queries!"
)

// RandomNumber is the randomNumber Seed stores for world row id (1 <=
// id <= WorldRows). Each row has its own PCG stream so any row can be
// checked without generating the others.
func RandomNumber(id int) int {
	return rand.New(rand.NewPCG(worldSeed, uint64(id))).IntN(WorldRows) + 1
}

// queryRand is the generator of /queries?seed=S ids.
func queryRand(seed uint64) *rand.Rand {
	return rand.New(rand.NewPCG(seed, queriesStream))
}

// QueryIDs lists the world ids /queries?n=N&seed=S reads, in order, for the
// already clamped count n.
func QueryIDs(seed uint64, n int) []int {
	r := queryRand(seed)
	ids := make([]int, n)
	for i := range ids {
		ids[i] = r.IntN(WorldRows) + 1
	}
	return ids
}

// Fortune is one row of table fortune, and one row of the fortunes page.
type Fortune struct {
	ID      int
	Message string
}

// AdditionalFortune is the message /fortunes adds, with id 0, at request
// time (TechEmpower's rule: the page is not a cached copy of the table).
const AdditionalFortune = "Additional fortune added at request time."

// FortunesTemplate is TechEmpower's fortunes page, parsed with html/template
// so that the <script> fortune comes out escaped.
const FortunesTemplate = `<!DOCTYPE html><html><head><title>Fortunes</title></head><body><table><tr><th>id</th><th>message</th></tr>{{range .}}<tr><td>{{.ID}}</td><td>{{.Message}}</td></tr>{{end}}</table></body></html>`

// SeedFortunes returns the twelve TechEmpower fortunes Seed stores, in id
// order (a fresh slice on every call).
func SeedFortunes() []Fortune {
	return []Fortune{
		{1, "fortune: No such file or directory"},
		{2, "A computer scientist is someone who fixes things that aren't broken."},
		{3, "After enough decimal places, nobody gives a damn."},
		{4, "A bad random number generator: 1, 1, 1, 1, 1, 4.33e+67, 1, 1, 1"},
		{5, "A computer program does what you tell it to do, not what you want it to do."},
		{6, "Emacs is a nice operating system, but I prefer UNIX. — Tom Christaensen"},
		{7, "Any program that runs right is obsolete."},
		{8, "A list is only as strong as its weakest link. — Donald Knuth"},
		{9, "Feature: A bug with seniority."},
		{10, "Computers make very fast, very accurate mistakes."},
		{11, `<script>alert("This should not be displayed in a browser alert box.");</script>`},
		{12, "フレームワークのベンチマーク"},
	}
}

// WorkDigest is the /work?n=N result: N chained rounds of SHA-256 starting
// from 32 zero bytes (round k hashes the 32-byte digest of round k-1), so
// WorkDigest(0) is all zeros.
func WorkDigest(n int) [sha256.Size]byte {
	return chain([sha256.Size]byte{}, n)
}

// PayloadPeriod is the period of the /bytes payload: byte i of every /bytes
// body is byte(i % PayloadPeriod). A prime period makes a body stitched from
// misaligned chunks detectable.
const PayloadPeriod = 251

// payloadChunk is the size of the pattern App keeps for /bytes: a whole
// number of periods, so consecutive chunks continue the pattern.
const payloadChunk = PayloadPeriod * 256 // 64,256 bytes

// AppendPayload appends the first n bytes of the /bytes payload to dst.
func AppendPayload(dst []byte, n int) []byte {
	for i := range n {
		dst = append(dst, byte(i%PayloadPeriod))
	}
	return dst
}
