# forkbench — the two commands are `make bench` (the main job) and
# `make test` (the tests). Everything they need is installed here,
# idempotently: Go modules from the module proxy, Debian packages with apt.

GO        ?= go
BIN       := bin
OUT       ?= out/latest
BENCHFLAGS ?=
STATICCHECK_VERSION := v0.8.2
export GOTOOLCHAIN := local

.PHONY: all build deps test vet staticcheck bench bench-loadgen nightly fuzz clean

all: build

# The sample app is built without cgo: it is what CGI execs per request,
# and a static binary is the fair (and faster-spawning) way to ship it.
build:
	$(GO) mod download
	CGO_ENABLED=0 $(GO) build -trimpath -o $(BIN)/sampleapp ./cmd/sampleapp
	$(GO) build -o $(BIN)/bench ./cmd/bench

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

vet:
	$(GO) vet ./...
	@test -z "$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go'))" || { gofmt -l .; echo "gofmt needed"; exit 1; }

staticcheck:
	@command -v $$($(GO) env GOPATH)/bin/staticcheck >/dev/null 2>&1 || $(GO) install honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION)
	$$($(GO) env GOPATH)/bin/staticcheck ./...

test: build deps vet staticcheck
	FORKBENCH_BIN=$(CURDIR)/$(BIN) $(GO) test -count=1 -timeout 20m ./...

# The main job: verify the three deployments, measure them, write
# $(OUT)/results.json and the report.
bench: build
	$(BIN)/bench run --out $(OUT) $(BENCHFLAGS)

# Is the load generator the bottleneck? Ours against wrk, same target,
# same pinning, same connections, side by side.
bench-loadgen: build deps
	$(BIN)/bench loadgen-check

# The nightly regression job: run the nightly scenario, compare with the
# baseline, add to the history, write the report and trend charts; exits
# non-zero on a regression. The first night becomes the baseline.
nightly: build
	scripts/nightly.sh

fuzz:
	$(GO) test -run=NONE -fuzz=FuzzReadRecord -fuzztime=60s ./targets/fcgi/
	$(GO) test -run=NONE -fuzz=FuzzClientResponse -fuzztime=60s ./targets/fcgi/
	$(GO) test -run=NONE -fuzz=FuzzGetValues -fuzztime=60s ./targets/fcgi/
	$(GO) test -run=NONE -fuzz=FuzzReadResponseHeader -fuzztime=60s ./internal/gateway/
	$(GO) test -run=NONE -fuzz=FuzzParseResponse -fuzztime=60s ./loadgen/

clean:
	rm -rf $(BIN) out
