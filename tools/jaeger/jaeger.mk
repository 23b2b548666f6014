# Jaeger v2 for the tests and the demo, built from the Go module proxy
# through the tools module tools/jaeger (kept out of the main go.mod). The
# build takes about 6 minutes on 2 cores, so the binary is cached in .tmp/bin
# and rebuilt only when missing or when tools/jaeger/go.mod or go.sum change.
# Include from the main Makefile: include tools/jaeger/jaeger.mk

JAEGER_BIN := .tmp/bin/jaeger

# The main Makefile sets it before the include; this keeps the file right
# on its own.
export GOTOOLCHAIN ?= go1.27.3

# go build leaves an up-to-date binary untouched, so touch it for make.
$(JAEGER_BIN): tools/jaeger/go.mod tools/jaeger/go.sum
	@mkdir -p $(@D)
	cd tools/jaeger && go build -o ../../$@ github.com/jaegertracing/jaeger/cmd/jaeger
	@touch $@

.PHONY: jaeger
jaeger: $(JAEGER_BIN) ## Build Jaeger v2 into .tmp/bin/jaeger when missing or stale (about 6 min)
