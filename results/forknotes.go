package results

// This file names the notes of the spawn-cost document (Fork.Notes): what
// was not measured and why, what a derived figure holds, and whether the
// decomposition adds up. They are data; reports words them, so that a
// reader of fork.json gets the figures (durations in ns, rel a signed
// fraction) rather than a sentence to parse; a figure that was not finite
// (a ratio over a zero median) is left out, as JSON cannot hold it. Files
// written before notes were data hold sentences, read as NoteText.

// What a component row holds, or why it is missing (group components).
const (
	// ForkNoteBudgetCut: the row Subject ("group/name") stopped on its
	// time budget after figure samples of figure want; Detail is the
	// row's params as "k=v" pairs.
	ForkNoteBudgetCut NoteKind = "fork-budget-cut"
	// ForkNoteNoBinTrue: /bin/true was not found, so it has no row.
	ForkNoteNoBinTrue NoteKind = "fork-no-bin-true"
	// ForkNoteNoStaticNoop: the static C no-op was not built (Detail its
	// error): the OS floor is /bin/true, loader included.
	ForkNoteNoStaticNoop NoteKind = "fork-no-static-noop"
	// ForkNoteNoGoEmpty: the empty Go program was not built (Detail its
	// error): runtime-init then holds package-init too.
	ForkNoteNoGoEmpty NoteKind = "fork-no-go-empty"
	// ForkNoteUnreaped: the CGI host spawned more children (figure
	// spawned) than it reaped (figure reaped).
	ForkNoteUnreaped NoteKind = "fork-unreaped"
)

// What the decomposition holds and whether it adds up (group
// decomposition).
const (
	// ForkNoteNegativePart: the part Subject of deployment Detail[0] has
	// a negative median (figure wall_ns), the difference of two noisy
	// medians.
	ForkNoteNegativePart NoteKind = "fork-negative-part"
	// ForkNoteInitWhole: without the empty Go program runtime-init holds
	// the package initialisers too.
	ForkNoteInitWhole NoteKind = "fork-init-whole"
	// ForkNoteInitSplit: what runtime-init and package-init hold, with
	// the empty program's and the app's binary sizes (figures
	// go_empty_bytes, app_bytes; absent when unknown).
	ForkNoteInitSplit NoteKind = "fork-init-split"
	// ForkNoteNoInitTrace: GODEBUG=inittrace=1 could not be read (Detail
	// its error).
	ForkNoteNoInitTrace NoteKind = "fork-no-inittrace"
	// ForkNoteInitTrace: what the initialisers take by their own account,
	// one traced run each: the app's (figures app_inits, app_ns) and the
	// empty program's (figures empty_inits, empty_ns). Detail names the
	// app's largest origins (the standard library or a module); Values
	// holds, for each in turn, its initialisers' ns and its package count.
	ForkNoteInitTrace NoteKind = "fork-inittrace"
	// ForkNoteOrderHolds: the floors rise as they should; Detail names
	// the components in order, Values their median wall ns.
	ForkNoteOrderHolds NoteKind = "fork-order-holds"
	// ForkNoteOrderBroken: the floors do not rise as they should; Detail
	// and Values hold each broken step as two components (lower first)
	// and their median wall ns.
	ForkNoteOrderBroken NoteKind = "fork-order-broken"
	// ForkNoteAddsUp: CGI − embedded (figure gap_ns) is within 20% (figure
	// rel) of the start-up parts' sum (figure start_ns, the parts named in
	// Detail); the rest (figure rest_ns) is exit+reap.
	ForkNoteAddsUp NoteKind = "fork-adds-up"
	// ForkNoteGapAbove: as ForkNoteAddsUp, but the gap is more than 20%
	// above the sum: the extra is what only the CGI path does.
	ForkNoteGapAbove NoteKind = "fork-gap-above"
	// ForkNoteGapBelow: as ForkNoteAddsUp (without rest_ns), but the gap
	// is more than 20% below the sum, which no mechanism explains.
	ForkNoteGapBelow NoteKind = "fork-gap-below"
	// ForkNoteCPUGap: the same in CPU time: the CGI child's (figure
	// cgi_cpu_ns) less embedded's (figure embedded_cpu_ns), figure gap_ns,
	// against startup-only's (figure startup_cpu_ns), figure rel.
	ForkNoteCPUGap NoteKind = "fork-cpu-gap"
)

// Why the cost model declined to fit a deployment (Subject).
const (
	// ForkNoteFewSizes: figure sizes work sizes, fewer than figure need.
	ForkNoteFewSizes NoteKind = "fork-few-sizes"
	// ForkNoteSlopeInNoise: the slope's 95% interval [figure slope_lo_ns,
	// figure slope_hi_ns] does not stand clear of zero.
	ForkNoteSlopeInNoise NoteKind = "fork-slope-in-noise"
)

// What the factors and the daemon rows show, or why they are missing.
const (
	// ForkNoteFactorBudgetCut: the factor Subject stopped on its time
	// budget after figure rounds of figure want interleaved rounds.
	ForkNoteFactorBudgetCut NoteKind = "fork-factor-budget-cut"
	// ForkNoteNoVariants: the binary variants were not built: skipped
	// (--quick) when Detail is empty, else Detail is the error.
	ForkNoteNoVariants NoteKind = "fork-no-variants"
	// ForkNoteNoPadded: the padded empty program was not built: skipped
	// (--quick) when Detail is empty, else Detail is the error.
	ForkNoteNoPadded NoteKind = "fork-no-padded"
	// ForkNoteNotMeasured: the factor row Subject ("factors/parent-rss",
	// "factors/binary-static", "factors/package-init") was not measured;
	// Detail is the error.
	ForkNoteNotMeasured NoteKind = "fork-not-measured"
	// ForkNoteNoEmptyForPadding: package-init has no arms without the
	// empty Go program.
	ForkNoteNoEmptyForPadding NoteKind = "fork-no-empty-for-padding"
	// ForkNoteAppNotLarger: the app (figure app_bytes) is no larger than
	// the empty program (figure empty_bytes), so nothing pads it.
	ForkNoteAppNotLarger NoteKind = "fork-app-not-larger"
	// ForkNotePackageInitSplit: of the app's -noop less the empty
	// program (figure init_ns), a file of the same size alone takes
	// figure file_ns; the app's packages take figure packages_ns.
	ForkNotePackageInitSplit NoteKind = "fork-package-init-split"
	// ForkNoteArmRatio: an arm of factor Subject (Detail[0] its params)
	// against the first arm (Detail[1]): median wall figures wall_ns and
	// base_ns, figure rel.
	ForkNoteArmRatio NoteKind = "fork-arm-ratio"
	// ForkNoteDaemon: the FastCGI daemon's median cold start (figure
	// cold_ns), first request (figure first_ns) and steady request
	// (figure steady_ns), and figure ratio, first over steady.
	ForkNoteDaemon NoteKind = "fork-daemon"
)
