// Package profiles is opsdeck's estate model and identity layer: the TOML
// estate config (operator, roles, environments, accounts), account selectors,
// import from ~/.aws/config, the credential broker that turns (account, role)
// into an aws.Config, and the per-environment protection guard.
//
// It is the bottom of the dependency graph: ops, images and tui import it;
// it imports none of them.
package profiles
