# Vigil's developer commands. `make help` lists them.
SHELL := /bin/bash
.DEFAULT_GOAL := help

GO            ?= go
GOLANGCI_LINT_VERSION ?= v2.15.0
GOBIN         ?= $(shell $(GO) env GOPATH)/bin
GOLANGCI_LINT := $(GOBIN)/golangci-lint
TEST_TIMEOUT  ?= 45m
BENCH         ?= .
BENCHTIME     ?= 1s
PKGS          ?= ./...

.PHONY: help
help: ## List the targets.
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z0-9_-]+:.*## / {printf "  \033[36m%-14s\033[0m %s\n", $$1, $$2}' $(MAKEFILE_LIST)

.PHONY: demo
demo: ## See it work: broker, training on bundled NAB data, consumer, replay with real anomalies, episodes as they arrive, HTML report (VIGIL_DEMO_SHORT=1 for a short run).
	scripts/demo.sh

.PHONY: build
build: ## Build every binary into bin/.
	@mkdir -p bin
	$(GO) build -trimpath -o bin/ ./cmd/...

.PHONY: test
test: ## Everything: start a local Kafka broker, go vet, all tests with -race (Kafka integration included), stop the broker.
	@was_up=0; scripts/kafka.sh status >/dev/null 2>&1 && was_up=1; \
	addr=$$(scripts/kafka.sh up) || exit 1; \
	eval "$$(scripts/kafka.sh tls-env)"; \
	status=0; \
	echo "go vet $(PKGS)"; $(GO) vet $(PKGS) || status=$$?; \
	if [ $$status -eq 0 ]; then \
		echo "go test -race $(PKGS) (VIGIL_KAFKA_BROKERS=$$addr)"; \
		VIGIL_KAFKA_BROKERS=$$addr $(GO) test -race -count=1 -timeout $(TEST_TIMEOUT) $(PKGS) || status=$$?; \
	fi; \
	if [ $$was_up -eq 0 ]; then scripts/kafka.sh down; fi; \
	exit $$status

.PHONY: test-short
test-short: ## Unit tests only (no broker): go test -short -race.
	$(GO) test -short -race -count=1 $(PKGS)

.PHONY: bench
bench: ## Benchmarks of the hot paths (BENCH=regexp, BENCHTIME=1s, PKGS=./...).
	$(GO) test -run='^$$' -bench='$(BENCH)' -benchmem -benchtime=$(BENCHTIME) $(PKGS)

.PHONY: bench-stream
bench-stream: ## The consumer against a plain kafka-go pipe on the local broker: throughput and latency, 10,000 series (ARGS=... for bench/stream flags).
	@was_up=0; scripts/kafka.sh status >/dev/null 2>&1 && was_up=1; \
	addr=$$(scripts/kafka.sh up) || exit 1; \
	status=0; $(GO) run ./bench/stream -brokers=$$addr $(ARGS) || status=$$?; \
	if [ $$was_up -eq 0 ]; then scripts/kafka.sh down; fi; \
	exit $$status

.PHONY: bench-peer
bench-peer: ## Vigil's LSTM step and training against PyTorch and Keras, side by side (installs them in a throwaway venv).
	bench/peer/run.sh

.PHONY: fuzz
fuzz: ## Run every fuzz target for FUZZTIME each (default 30s).
	@for spec in $$(grep -rl --include='*_test.go' '^func Fuzz' internal | xargs grep -ho '^func Fuzz[A-Za-z0-9_]*' | sort -u | sed 's/^func //'); do \
		pkg=$$(dirname $$(grep -rl --include='*_test.go' "^func $$spec(" internal | head -1)); \
		echo "fuzz $$spec in ./$$pkg"; \
		$(GO) test -run='^$$' -fuzz="^$$spec\$$" -fuzztime=$${FUZZTIME:-30s} ./$$pkg || exit 1; \
	done

.PHONY: lint
lint: $(GOLANGCI_LINT) ## golangci-lint with .golangci.yml.
	$(GOLANGCI_LINT) run ./...

$(GOLANGCI_LINT):
	GOBIN=$(GOBIN) $(GO) install github.com/golangci/golangci-lint/v2/cmd/golangci-lint@$(GOLANGCI_LINT_VERSION)

.PHONY: kafka-up
kafka-up: ## Start (or reuse) the local single-node Kafka broker; prints its bootstrap address.
	@scripts/kafka.sh up

.PHONY: kafka-down
kafka-down: ## Stop the local broker and remove its data.
	@scripts/kafka.sh down

.PHONY: clean
clean: ## Remove build output (not the cached Kafka release).
	rm -rf bin out
