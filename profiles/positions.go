package profiles

import (
	"strconv"
	"strings"

	"github.com/pelletier/go-toml/v2/unstable"
)

// positions maps a dotted key path ("accounts.2.id", "roles.read") to the
// byte offset where it is written, so validation errors found after
// decoding can still name file:line:col. Array-of-table entries are
// numbered from 0 in file order. Offsets become line:col only when an
// error is reported (go-toml's Shape rescans the file from the start on
// every call, which made a 200-account config take 25 ms to index).
type positions map[string]int

// lineCol converts a byte offset of data into a 1-based line and column.
func lineCol(data []byte, off int) (int, int) {
	if off > len(data) {
		off = len(data)
	}
	line, start := 1, 0
	for i := 0; i < off; i++ {
		if data[i] == '\n' {
			line++
			start = i + 1
		}
	}
	return line, off - start + 1
}

// indexPositions walks the document once with go-toml's parser. It is only
// called on input that already decoded, so parse errors cannot occur here;
// if one does, the index is simply partial.
func indexPositions(data []byte) positions {
	pos := positions{}
	p := &unstable.Parser{}
	p.Reset(data)
	arrayCount := map[string]int{}
	prefix := ""
	for p.NextExpression() {
		e := p.Expression()
		switch e.Kind {
		case unstable.Table, unstable.ArrayTable:
			name, first := keyPath(e.Key())
			if e.Kind == unstable.ArrayTable {
				n := arrayCount[name]
				arrayCount[name] = n + 1
				name += "." + strconv.Itoa(n)
				// Entries of a nested array of tables restart numbering.
				for k := range arrayCount {
					if strings.HasPrefix(k, name+".") {
						delete(arrayCount, k)
					}
				}
			} else {
				name = resolveArrays(name, arrayCount)
			}
			prefix = name
			if first != nil {
				pos[name] = int(first.Raw.Offset)
			}
		case unstable.KeyValue:
			indexKeyValue(p, pos, prefix, e)
		}
	}
	return pos
}

// resolveArrays turns a [accounts.jumpbox] header into accounts.N.jumpbox
// when accounts is an array of tables (TOML's "last element" rule).
func resolveArrays(name string, counts map[string]int) string {
	parts := strings.Split(name, ".")
	out := make([]string, 0, len(parts)+2)
	for i, part := range parts {
		out = append(out, part)
		if i == len(parts)-1 {
			break
		}
		if n, ok := counts[strings.Join(out, ".")]; ok {
			out = append(out, strconv.Itoa(n-1))
		}
	}
	return strings.Join(out, ".")
}

func indexKeyValue(p *unstable.Parser, pos positions, prefix string, kv *unstable.Node) {
	key, first := keyPath(kv.Key())
	full := key
	if prefix != "" {
		full = prefix + "." + key
	}
	val := kv.Value()
	if first != nil {
		pos[full] = int(first.Raw.Offset)
	}
	indexValue(p, pos, full, val)
}

func indexValue(p *unstable.Parser, pos positions, path string, val *unstable.Node) {
	if val == nil || !val.Valid() {
		return
	}
	switch val.Kind {
	case unstable.Array:
		it := val.Children()
		for i := 0; it.Next(); i++ {
			child := it.Node()
			cp := path + "." + strconv.Itoa(i)
			if child.Raw.Length > 0 {
				pos[cp] = int(child.Raw.Offset)
			} else if _, ok := pos[cp]; !ok {
				pos[cp] = pos[path]
			}
			indexValue(p, pos, cp, child)
		}
	case unstable.InlineTable:
		it := val.Children()
		for it.Next() {
			if it.Node().Kind == unstable.KeyValue {
				indexKeyValue(p, pos, path, it.Node())
			}
		}
	default:
		// Point at the value, which is where a bad value is.
		if val.Raw.Length > 0 {
			pos[path] = int(val.Raw.Offset)
		}
	}
}

func keyPath(it unstable.Iterator) (string, *unstable.Node) {
	var parts []string
	var first *unstable.Node
	for it.Next() {
		n := it.Node()
		if first == nil {
			first = n
		}
		parts = append(parts, string(n.Data))
	}
	return strings.Join(parts, "."), first
}
