# forkbench — the two commands are `make bench` (the main job) and
# `make test` (the tests). Everything they need is installed here,
# idempotently: Go modules from the module proxy, Debian packages with apt.

GO        ?= go
BIN       := bin
OUT       ?= out/latest
BENCHFLAGS ?=
STATICCHECK_VERSION := v0.8.2
export GOTOOLCHAIN := local

.PHONY: all build deps servers test vet staticcheck bench bench-loadgen nightly fuzz soak clean

all: build

# The sample app is built without cgo: it is what CGI execs per request,
# and a static binary is the fair (and faster-spawning) way to ship it.
# Both are built with -trimpath, as `bench ab` builds revisions in
# temporary worktrees: the same source then shares the build cache.
# bench is stamped with its commit (-buildvcs=auto overrides a GOFLAGS of
# -buildvcs=false) so a result file names the build that measured it, not
# whatever repository the run happened to start in.
build:
	$(GO) mod download
	CGO_ENABLED=0 $(GO) build -trimpath -o $(BIN)/sampleapp ./cmd/sampleapp
	$(GO) build -trimpath -buildvcs=auto -o $(BIN)/bench ./cmd/bench

# Debian packages: wrk (the reference load generator the suite's own is
# measured against), chromium (renders report.html in a test). Installed
# only when missing; failure to install is reported, and the tests that
# need them skip with a message saying so.
deps:
	@missing=""; \
	command -v wrk >/dev/null 2>&1 || missing="$$missing wrk"; \
	command -v chromium >/dev/null 2>&1 || missing="$$missing chromium"; \
	if [ -n "$$missing" ]; then \
	  echo "installing Debian packages:$$missing"; \
	  if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi; \
	  ( $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq --no-install-recommends $$missing >/dev/null ) \
	    || echo "warning: could not install$$missing; tests needing them will skip"; \
	fi

# The real servers of targets/fronts (Apache httpd and its modules, nginx,
# fcgiwrap, uWSGI, PHP-FPM): installed only when missing, as root or with
# sudo, without starting their system services. Targets whose server is
# missing are skipped with a one-line reason.
servers:
	scripts/servers.sh

vet:
	$(GO) vet ./...
	@test -z "$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go'))" || { gofmt -l .; echo "gofmt needed"; exit 1; }

staticcheck:
	@command -v $$($(GO) env GOPATH)/bin/staticcheck >/dev/null 2>&1 || $(GO) install honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION)
	$$($(GO) env GOPATH)/bin/staticcheck ./...

# The race detector is on for every test. With FORKBENCH_STRICT=1 (set
# here when CI=true, and by .ci/run) a test that would skip because a tool
# is missing (wrk, chromium) fails instead: CI cannot pass by skipping.
ifeq ($(CI),true)
export FORKBENCH_STRICT := 1
endif

# The tests include a smoke test of every real front (a few requests each
# and the byte-for-byte check), so `make test` installs the servers too.
test: build deps servers vet staticcheck
	FORKBENCH_BIN=$(CURDIR)/$(BIN) $(GO) test -race -count=1 -timeout 40m ./...

# The main job: verify the three deployments, measure them beside nginx
# on the same CGI child and FastCGI daemon (the quick scenario's
# references, which need nginx and fcgiwrap: installed when missing; a run
# that cannot have them skips them with a one-line reason), write
# $(OUT)/results.json and the report.
bench: build
	@PACKAGES="nginx fcgiwrap" scripts/servers.sh || echo "make bench: nginx and fcgiwrap could not be installed; the run skips its references"
	$(BIN)/bench run --out $(OUT) $(BENCHFLAGS)

# Is the load generator the bottleneck? Ours against wrk, same target,
# same pinning, same connections, side by side.
bench-loadgen: build deps
	$(BIN)/bench loadgen-check

# The nightly regression job: bench ab of the last good revision and HEAD
# in one sitting, add to the history, draw the trend charts; exits
# non-zero on a regression. The first night is an A/A run of HEAD.
nightly: build
	scripts/nightly.sh

fuzz:
	$(GO) test -run=NONE -fuzz=FuzzReadRecord -fuzztime=60s ./targets/fcgi/
	$(GO) test -run=NONE -fuzz=FuzzClientResponse -fuzztime=60s ./targets/fcgi/
	$(GO) test -run=NONE -fuzz=FuzzGetValues -fuzztime=60s ./targets/fcgi/
	$(GO) test -run=NONE -fuzz=FuzzReadResponseHeader -fuzztime=60s ./internal/gateway/
	$(GO) test -run=NONE -fuzz=FuzzParseResponse -fuzztime=60s ./loadgen/

# Not in CI: drive the CGI front at twice its capacity for a few minutes
# plus a few slow readers; fails if any process or zombie is left behind.
SOAKFLAGS ?=
soak: build
	$(GO) run ./cmd/soak -bin $(BIN) $(SOAKFLAGS)

clean:
	rm -rf $(BIN) out
