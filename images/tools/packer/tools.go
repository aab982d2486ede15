//go:build tools

// Package tools pins Packer for `make tools`: the proxy refuses
// `go install pkg@version`, so the Makefile builds from this module.
package tools

import _ "github.com/hashicorp/packer"
