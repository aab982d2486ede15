//go:build tools

// Package tools pins packer-plugin-amazon for `make tools`.
package tools

import _ "github.com/hashicorp/packer-plugin-amazon"
