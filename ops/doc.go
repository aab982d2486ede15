// Package ops groups everything that talks to AWS, one sub-package per
// capability; no UI code lives below it.
package ops
