# posagent — boring, cross-compiled targets.
GO       ?= go
VERSION  ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS  := -s -w -X main.Version=$(VERSION)
PKG      := ./cmd/posagent
OUT      := bin

.PHONY: all demo test test-short test-race build build-arm fmt lint vet clean

all: build

## demo: run the demo (embedded KSeF simulator + virtual printer) in a temporary directory
demo:
	@dir=$$(mktemp -d /tmp/posagent-demo.XXXXXX); \
	$(GO) run -ldflags "$(LDFLAGS)" $(PKG) demo --dir $$dir && \
	echo "demo artefacts in $$dir; receipts (PNG) in $$dir/receipts"

## test: the whole suite (installs missing Debian tools when run as root)
test:
	./scripts/test.sh

test-short:
	$(GO) test -short ./...

test-race:
	$(GO) test -race ./...

build:
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags "$(LDFLAGS)" -o $(OUT)/posagent $(PKG)

build-arm:
	CGO_ENABLED=0 GOOS=linux GOARCH=arm GOARM=6 $(GO) build -trimpath -ldflags "$(LDFLAGS)" -o build/out/posagent-linux-armv6 $(PKG)
	CGO_ENABLED=0 GOOS=linux GOARCH=arm GOARM=7 $(GO) build -trimpath -ldflags "$(LDFLAGS)" -o build/out/posagent-linux-armv7 $(PKG)
	CGO_ENABLED=0 GOOS=linux GOARCH=arm64 $(GO) build -trimpath -ldflags "$(LDFLAGS)" -o build/out/posagent-linux-arm64 $(PKG)

fmt:
	gofmt -s -w $$(git ls-files '*.go')

vet:
	$(GO) vet ./...

lint: vet
	@test -z "$$(gofmt -s -l $$(git ls-files '*.go'))" || { gofmt -s -l $$(git ls-files '*.go'); echo "gofmt needed"; exit 1; }
	@if command -v staticcheck >/dev/null; then staticcheck ./...; else echo "staticcheck not installed: go install honnef.co/go/tools/cmd/staticcheck@latest"; fi

clean:
	rm -rf $(OUT) build/out
