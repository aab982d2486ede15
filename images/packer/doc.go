// Package packer holds opsdeck's Packer plugin components, laid out like
// hashicorp/packer-plugin-scaffolding: datasource/image (the AMI on a
// channel) and postprocessor/promote (copy, share, tag, publish through
// images/promote, the same code the CLI and TUI use). The binary is
// cmd/packer-plugin-opsdeck.
package packer
