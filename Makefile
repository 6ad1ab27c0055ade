# posagent — boring, cross-compiled targets.
GO       ?= go
VERSION  ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS  := -s -w -X main.Version=$(VERSION)
PKG      := ./cmd/posagent
OUT      := bin

.PHONY: all demo test test-short test-race test-386 test-arm fuzz fuzz-long soak soak-paced bench build build-arm build-armv6 build-deb-arm deb fmt lint vet clean

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

## test-386: the unit tests as 32-bit x86 (64-bit alignment of atomics and structs)
test-386:
	CGO_ENABLED=0 GOARCH=386 $(GO) test -short -count=1 ./...

## test-arm: unit tests as armv7 under qemu-arm-static, then the demo under qemu-arm
test-arm:
	build/arm/qemu-test.sh
	build/arm/demo-arm.sh

## fuzz: every fuzz target for a few seconds (CI); fuzz-long: minutes each
FUZZTIME      ?= 3s
FUZZTIME_LONG ?= 2m
fuzz:
	scripts/fuzz.sh $(FUZZTIME)
fuzz-long:
	scripts/fuzz.sh $(FUZZTIME_LONG)

## soak: kill -9 soak of the whole agent, 1 000 cycles (CI runs 100 inside make test)
SOAK_CYCLES ?= 1000
soak:
	$(GO) test -count=1 -timeout 90m -run '^TestSoakKill9$$' -v ./internal/soak -soak.cycles=$(SOAK_CYCLES)

## soak-paced: the kill -9 soak with a serial printer on a pty at 9600 baud (issue 16), 200 cycles
## (CI runs 6 inside make test)
SOAK_PACED_CYCLES ?= 200
soak-paced:
	$(GO) test -count=1 -timeout 120m -run '^TestSoakKill9Paced$$' -v ./internal/soak -soak.paced.cycles=$(SOAK_PACED_CYCLES)

## bench: every benchmark and measurement behind docs/BENCHMARKS.md, printed
bench:
	scripts/bench.sh

build:
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags "$(LDFLAGS)" -o $(OUT)/posagent $(PKG)

build-arm: build-armv6 build-deb-arm

build-armv6:
	CGO_ENABLED=0 GOOS=linux GOARCH=arm GOARM=6 $(GO) build -trimpath -ldflags "$(LDFLAGS)" -o build/arm/posagent-linux-armv6 $(PKG)

# The two ARM binaries the packages carry (armhf is armv7).
build-deb-arm:
	CGO_ENABLED=0 GOOS=linux GOARCH=arm GOARM=7 $(GO) build -trimpath -ldflags "$(LDFLAGS)" -o build/arm/posagent-linux-armv7 $(PKG)
	CGO_ENABLED=0 GOOS=linux GOARCH=arm64 $(GO) build -trimpath -ldflags "$(LDFLAGS)" -o build/arm/posagent-linux-arm64 $(PKG)

## deb: .deb packages for armhf, arm64 and amd64 (nfpm), under dist/
NFPM ?= $(shell command -v nfpm || echo $(HOME)/go/bin/nfpm)
DEB_VERSION := $(shell echo $(VERSION) | sed -e 's/^v//' -e 's/^\([^0-9]\)/0.0.0~\1/')
deb: build-deb-arm
	@test -x "$(NFPM)" || $(GO) install github.com/goreleaser/nfpm/v2/cmd/nfpm@v2.44.0
	CGO_ENABLED=0 GOOS=linux GOARCH=amd64 $(GO) build -trimpath -ldflags "$(LDFLAGS)" -o build/arm/posagent-linux-amd64 $(PKG)
	@mkdir -p dist
	@# nfpm does not expand variables in contents.src: each binary is staged at build/out/posagent.
	@mkdir -p build/out
	cp build/arm/posagent-linux-armv7 build/out/posagent
	ARCH=armhf VERSION=$(DEB_VERSION) $(NFPM) package -f build/deb/nfpm.yaml -p deb -t dist/posagent_$(DEB_VERSION)_armhf.deb
	cp build/arm/posagent-linux-arm64 build/out/posagent
	ARCH=arm64 VERSION=$(DEB_VERSION) $(NFPM) package -f build/deb/nfpm.yaml -p deb -t dist/posagent_$(DEB_VERSION)_arm64.deb
	cp build/arm/posagent-linux-amd64 build/out/posagent
	ARCH=amd64 VERSION=$(DEB_VERSION) $(NFPM) package -f build/deb/nfpm.yaml -p deb -t dist/posagent_$(DEB_VERSION)_amd64.deb

fmt:
	gofmt -s -w $$(git ls-files '*.go')

vet:
	$(GO) vet ./...

lint: vet
	@test -z "$$(gofmt -s -l $$(git ls-files '*.go'))" || { gofmt -s -l $$(git ls-files '*.go'); echo "gofmt needed"; exit 1; }
	$(GO) run honnef.co/go/tools/cmd/staticcheck@v0.8.2 ./...

clean:
	rm -rf $(OUT) build/arm/posagent-* dist
