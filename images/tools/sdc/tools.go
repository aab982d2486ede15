//go:build tools

// Package tools pins packer-sdc, which generates the plugin's HCL2 specs
// (`make generate`).
package tools

import _ "github.com/hashicorp/packer-plugin-sdk/cmd/packer-sdc"
