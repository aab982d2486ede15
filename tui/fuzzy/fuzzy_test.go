package fuzzy

import "testing"

func TestMatch(t *testing.T) {
	tests := []struct {
		name string
		pat  string
		give string
		want bool
	}{
		{"empty matches all", "", "anything", true},
		{"subsequence", "acpr", "acme-prod", true},
		{"case-insensitive", "ACME", "acme-prod", true},
		{"order matters", "rpa", "acme-prod", false},
		{"all words", "acme prod", "acme-prod 210000000003", true},
		{"one word missing", "acme qa", "acme-prod", false},
		{"id digits", "0003", "acme-prod 210000000003", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Compile(tt.pat).Match(lower(tt.give)); got != tt.want {
				t.Fatalf("Match(%q, %q) = %v", tt.pat, tt.give, got)
			}
		})
	}
}

func TestNarrows(t *testing.T) {
	if !Compile("ac").Narrows(Compile("acm")) || !Compile("ac").Narrows(Compile("ac pr")) {
		t.Fatal("typing on should narrow")
	}
	if Compile("acm").Narrows(Compile("ac")) || Compile("ab").Narrows(Compile("ba")) {
		t.Fatal("backspace or edit must not narrow")
	}
}

func TestHighlight(t *testing.T) {
	got := Highlight("apd", "acme-prod")
	if len(got) != 3 || got[0] != 0 || got[1] != 5 || got[2] != 8 {
		t.Fatalf("Highlight = %v", got)
	}
}

func lower(s string) string {
	b := []byte(s)
	for i, c := range b {
		if c >= 'A' && c <= 'Z' {
			b[i] = c + 32
		}
	}
	return string(b)
}
