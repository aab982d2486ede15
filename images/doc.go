// Package images will hold golden-image recipes, bakes through Packer and
// promotion through channels (issue: golden images). It is empty until then.
package images
