// Package fuzzy matches a typed pattern against candidate strings the way
// operators expect from fzf-style pickers: the pattern's characters appear
// in order, case-insensitively, not necessarily adjacent ("acpr" finds
// "acme-prod"). Space-separated words must all match.
//
// It is allocation-free per candidate, so filtering 100,000 rows per
// keystroke stays within a frame budget.
package fuzzy

import "strings"

// Pattern is a prepared, lower-cased pattern.
type Pattern struct {
	words []string
}

// Compile prepares p. An empty pattern matches everything.
func Compile(p string) Pattern {
	return Pattern{words: strings.Fields(strings.ToLower(p))}
}

// Empty reports whether the pattern matches everything.
func (p Pattern) Empty() bool { return len(p.words) == 0 }

// Match reports whether every word of p is a subsequence of lowered
// (which the caller has already lower-cased once, outside the keystroke
// loop).
func (p Pattern) Match(lowered string) bool {
	for _, w := range p.words {
		if !subsequence(w, lowered) {
			return false
		}
	}
	return true
}

// Exact reports whether every word of p occurs contiguously in lowered;
// such rows are listed before looser fuzzy matches.
func (p Pattern) Exact(lowered string) bool {
	for _, w := range p.words {
		if !strings.Contains(lowered, w) {
			return false
		}
	}
	return true
}

// Narrows reports whether every string matching next also matches p, so a
// filter can search only the previous matches when the operator types on.
func (p Pattern) Narrows(next Pattern) bool {
	if len(next.words) < len(p.words) {
		return false
	}
	for i, w := range p.words {
		// A word that grew still implies the old word as a subsequence.
		if !subsequence(w, next.words[i]) {
			return false
		}
	}
	return true
}

func subsequence(pat, s string) bool {
	if len(pat) == 0 {
		return true
	}
	j := 0
	for i := 0; i < len(s); i++ {
		if s[i] == pat[j] {
			j++
			if j == len(pat) {
				return true
			}
		}
	}
	return false
}

// Highlight returns the byte offsets in s matched by a single-word
// pattern, for rendering (nil when it does not match).
func Highlight(pattern, s string) []int {
	p := strings.ToLower(strings.TrimSpace(pattern))
	ls := strings.ToLower(s)
	if p == "" {
		return nil
	}
	var idx []int
	j := 0
	for i := 0; i < len(ls) && j < len(p); i++ {
		if ls[i] == p[j] {
			idx = append(idx, i)
			j++
		}
	}
	if j < len(p) {
		return nil
	}
	return idx
}
