# opsdeck — `make demo` runs the app against the emulator; `make test` runs every test.
GO       ?= go
BIN      := bin
VERSION  := $(shell git describe --always --dirty 2>/dev/null || echo dev)
LDFLAGS  := -X main.version=$(VERSION)
PKGS     := ./...

.PHONY: all build test demo bench lint check-moto clean tools generate

# Packer and the amazon plugin, built from pinned sources through the Go
# module proxy (the proxy refuses `go install pkg@version`), installed into
# a project-local plugin directory. A second run does nothing.
PACKER_PLUGIN_PATH := $(CURDIR)/.packer.d/plugins
export PACKER_PLUGIN_PATH
AMAZON_PLUGIN_DIR  := $(PACKER_PLUGIN_PATH)/github.com/hashicorp/amazon
OPSDECK_PLUGIN_DIR := $(PACKER_PLUGIN_PATH)/github.com/opsdeck/opsdeck

all: build

build: $(BIN)/opsdeck

# Always rebuilt by go (its cache makes a no-op rebuild cheap).
$(BIN)/opsdeck: FORCE
	@mkdir -p $(BIN)
	$(GO) build -ldflags '$(LDFLAGS)' -o $@ ./cmd/opsdeck

FORCE:

$(BIN)/packer: images/tools/packer/go.mod images/tools/packer/go.sum
	@mkdir -p $(BIN)
	cd images/tools/packer && $(GO) build -o $(CURDIR)/$@ github.com/hashicorp/packer

$(BIN)/packer-plugin-amazon: images/tools/amazon/go.mod images/tools/amazon/go.sum
	@mkdir -p $(BIN)
	cd images/tools/amazon && $(GO) build -o $(CURDIR)/$@ github.com/hashicorp/packer-plugin-amazon

$(AMAZON_PLUGIN_DIR)/.installed: $(BIN)/packer $(BIN)/packer-plugin-amazon
	$(BIN)/packer plugins install --path $(BIN)/packer-plugin-amazon github.com/hashicorp/amazon
	@touch $@

# Our plugin is rebuilt with the code (go's cache makes that cheap) and
# reinstalled only when the binary changed.
$(BIN)/packer-plugin-opsdeck: FORCE
	@mkdir -p $(BIN)
	$(GO) build -o $@.new ./cmd/packer-plugin-opsdeck
	@if cmp -s $@.new $@; then rm $@.new; else mv $@.new $@; fi

$(OPSDECK_PLUGIN_DIR)/.installed: $(BIN)/packer $(BIN)/packer-plugin-opsdeck
	$(BIN)/packer plugins install --path $(BIN)/packer-plugin-opsdeck github.com/opsdeck/opsdeck
	@touch $@

tools: $(AMAZON_PLUGIN_DIR)/.installed $(OPSDECK_PLUGIN_DIR)/.installed

$(BIN)/packer-sdc: images/tools/sdc/go.mod images/tools/sdc/go.sum
	@mkdir -p $(BIN)
	cd images/tools/sdc && $(GO) build -o $(CURDIR)/$@ github.com/hashicorp/packer-plugin-sdk/cmd/packer-sdc

# Regenerates the plugin's HCL2 specs (committed).
generate: $(BIN)/packer-sdc
	PATH=$(CURDIR)/$(BIN):$$PATH $(GO) generate ./images/packer/...

check-moto:
	@command -v moto_server >/dev/null || { echo "moto_server is missing: pip install 'moto[server]' (moto 5.2.x)"; exit 1; }

lint:
	@out=$$(gofmt -l cmd tui ops images profiles); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet $(PKGS)

test: lint check-moto build tools
	$(GO) test -count=1 -timeout 20m $(PKGS)

demo: check-moto build tools
	$(BIN)/opsdeck demo

bench: check-moto build
	$(GO) test -p 1 -run '^$$' -bench . -benchmem -count 1 -timeout 30m $(PKGS)

clean:
	rm -rf $(BIN) .packer.d
