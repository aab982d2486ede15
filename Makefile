# opsdeck — `make demo` runs the app against the emulator; `make test` runs every test.
GO       ?= go
BIN      := bin
VERSION  := $(shell git describe --always --dirty 2>/dev/null || echo dev)
LDFLAGS  := -X main.version=$(VERSION)
PKGS     := ./...

.PHONY: all build test demo bench lint check-moto clean

all: build

build: $(BIN)/opsdeck

# Always rebuilt by go (its cache makes a no-op rebuild cheap).
$(BIN)/opsdeck: FORCE
	@mkdir -p $(BIN)
	$(GO) build -ldflags '$(LDFLAGS)' -o $@ ./cmd/opsdeck

FORCE:

check-moto:
	@command -v moto_server >/dev/null || { echo "moto_server is missing: pip install 'moto[server]' (moto 5.2.x)"; exit 1; }

lint:
	@out=$$(gofmt -l cmd tui ops images profiles); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet $(PKGS)

test: lint check-moto build
	$(GO) test -count=1 -timeout 20m $(PKGS)

demo: check-moto build
	$(BIN)/opsdeck demo

bench: check-moto build
	$(GO) test -p 1 -run '^$$' -bench . -benchmem -count 1 -timeout 30m $(PKGS)

clean:
	rm -rf $(BIN)
