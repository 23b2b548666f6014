# The bridge's build. `make help` lists the targets.
SHELL := bash
.SHELLFLAGS := -eu -o pipefail -c
.DELETE_ON_ERROR:
.DEFAULT_GOAL := help
MAKEFLAGS += --no-builtin-rules --warn-undefined-variables

# go.mod needs Go 1.27: every go command of every recipe (and what it runs)
# takes this toolchain, which the go command fetches from the module proxy
# when the machine's own Go is older.
export GOTOOLCHAIN := go1.27.3

BUF := go tool -modfile=tools/go.mod buf
GO_TEST_FLAGS ?= -race -count=1 -timeout=20m
BREAKING_AGAINST ?= .git\#branch=main
STATICCHECK := go tool -modfile=tools/go.mod staticcheck
GOVULNCHECK := go tool -modfile=tools/go.mod govulncheck
# The vulnerability database is built from this version of the
# golang.org/x/vulndb module (the public database cannot be reached from
# every machine); raise it to check against newer reports.
VULNDB_VERSION ?= v0.0.0-20261105234957-e22db6528018
VULNDB := .tmp/vulndb/$(VULNDB_VERSION)

include tools/jaeger/jaeger.mk

.PHONY: help
help: ## Show this help
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z_-]+:.*## / {printf "  \033[36m%-12s\033[0m %s\n", $$1, $$2}' $(MAKEFILE_LIST)

.PHONY: deps
deps: ## Install what the tests need and is missing (redis-server, from Debian as root), or say what to install
	@bash scripts/ensure-redis.sh

.PHONY: demo
demo: $(JAEGER_BIN) ## Run the whole bridge locally with both doubles, Jaeger and scripted calls (Ctrl-C to stop)
	@bash scripts/ensure-redis.sh --optional
	go run ./cmd/demo

.PHONY: test
test: deps ## Run every test (unit, conformance, end to end) with the race detector
	go test $(GO_TEST_FLAGS) ./...
	go -C tools test $(GO_TEST_FLAGS) ./...

.PHONY: chaos
chaos: ## Chaos test with real processes: >=100,000 events, kills, Redis restart, Regal outage (about 8 min)
	go build -o .tmp/chaos ./cmd/chaos
	.tmp/chaos $(CHAOS_FLAGS)

CHAOS_FLAGS ?=

.PHONY: bench
bench: ## Load bench with real processes: events/s, latency, CPU and RSS per process, Redis commands/event, ceiling
	go build -o .tmp/bench ./cmd/bench
	.tmp/bench -json .tmp/bench.json $(BENCH_FLAGS)

BENCH_FLAGS ?= -events 20000 -dispatchers 2

.PHONY: bench-paced
bench-paced: ## Load bench paced at 1,000 events/s for 60 s: the latency the bridge adds
	go build -o .tmp/bench ./cmd/bench
	.tmp/bench -json .tmp/bench-paced.json -events 60000 -rate 1000 -dispatchers 2

.PHONY: bench-burst
bench-burst: ## Load bench: a 200,000-line burst at full speed, Regal answering in 20 ms: peak RSS per process (the bridge's within 128 MiB), none lost
	go build -o .tmp/bench ./cmd/bench
	.tmp/bench -json .tmp/burst.json -events 200000 -regal-latency 20ms -dispatchers 2 -timeout 15m $(BURST_FLAGS)

BURST_FLAGS ?=

# bench-scale runs at Go's default GOMAXPROCS (the services' own default): at
# GOMAXPROCS 1 the collector's one thread, reading SAPI at full speed, caps 4
# dispatchers.
.PHONY: bench-scale
bench-scale: ## Load bench with Regal answering in 20 ms, 1 then 4 dispatchers of 8 in flight: throughput growth
	go build -o .tmp/bench ./cmd/bench
	.tmp/bench -json .tmp/bench-scale.json -events 12000 -regal-latency 20ms -max-in-flight 8 -gomaxprocs 0 -sweep-dispatchers 1,4

.PHONY: soak
soak: ## 30-minute soak at 1,000 events/s, printing RSS per process every minute and its trend
	go build -o .tmp/bench ./cmd/bench
	.tmp/bench -events 1800000 -rate 1000 -dispatchers 2 -progress 1m -timeout 10m -json .tmp/soak.json $(SOAK_FLAGS)

# e.g. SOAK_FLAGS="-bridge-env GOMEMLIMIT=34MiB" (see the README's Performance section)
# or SOAK_FLAGS="-stall-collector-at 10m -stall-collector-for 20s" (a stall and its burst mid-soak)
SOAK_FLAGS ?=

FUZZ_TIME ?= 10m

.PHONY: fuzz
fuzz: ## Fuzz the SAPI framer and decoder (FUZZ_TIME each, default 10m)
	go test ./collector/sapi -run '^$$' -fuzz '^FuzzFramer$$' -fuzztime $(FUZZ_TIME)
	go test ./collector/sapi -run '^$$' -fuzz '^FuzzDecode$$' -fuzztime $(FUZZ_TIME)

.PHONY: build
build: ## Build every binary into bin/
	go build -o bin/ ./cmd/...

.PHONY: lint
lint: ## gofmt, go vet, buf lint and format, generated code up to date, staticcheck, vulncheck
	@out=$$(gofmt -l $$(git ls-files '*.go' | grep -v '^gen/')); \
	  if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi
	go vet ./...
	$(BUF) lint
	$(BUF) format -d --exit-code
	$(MAKE) --no-print-directory check-generated
	$(STATICCHECK) ./...
	cd tools && go vet ./...
	$(MAKE) --no-print-directory vulncheck

.PHONY: vulncheck
vulncheck: $(VULNDB)/index/db.json ## govulncheck: no reachable known vulnerability (database from golang.org/x/vulndb@VULNDB_VERSION)
	$(GOVULNCHECK) -db file://$(abspath $(VULNDB)) ./...

# Built once per VULNDB_VERSION and kept in .tmp.
$(VULNDB)/index/db.json:
	go -C tools run ./vulndb -module golang.org/x/vulndb@$(VULNDB_VERSION) -out $(abspath $(VULNDB))

.PHONY: generate
generate: ## Regenerate gen/ from proto/
	$(BUF) generate

.PHONY: docs
docs: ## Regenerate docs/configuration.md from the configuration's types and doc comments (a test fails when it is stale)
	go run ./internal/config/docgen

.PHONY: check-generated
check-generated: ## Fail if regenerating gen/ would change it
	@tmp=$$(mktemp -d); trap 'rm -rf "$$tmp"' EXIT; \
	  $(BUF) generate -o "$$tmp"; \
	  if ! diff -r "$$tmp/gen" gen >/dev/null; then \
	    echo "gen/ is stale: run make generate"; diff -r "$$tmp/gen" gen | head -20; exit 1; fi; \
	  echo "gen/ is up to date"

.PHONY: breaking
breaking: ## Check proto/ for breaking changes against main
	$(BUF) breaking --against '$(BREAKING_AGAINST)'

.PHONY: clean
clean: ## Remove build outputs
	rm -rf bin .tmp
