package profiles

import (
	"bytes"
	"sort"

	"github.com/pelletier/go-toml/v2"
)

// TOMLFile is a strictly decoded TOML document that still knows where
// each key was written, so checks made after decoding can report
// file:line:col like decoding errors do. Recipes and runbooks use it; the
// estate config is checked the same way.
type TOMLFile struct {
	v *validator
}

// DecodeTOML decodes data into v, refusing unknown keys; errors name
// file:line:col and say what to do.
func DecodeTOML(name string, data []byte, v any) (*TOMLFile, error) {
	dec := toml.NewDecoder(bytes.NewReader(data)).DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return nil, decodeErrors(name, err)
	}
	return &TOMLFile{v: &validator{file: name, pos: indexPositions(data), data: data}}, nil
}

// Problem records a problem at the first of paths ("steps.2.id", ...)
// that the file has; msg says what is wrong and hint what to do.
func (f *TOMLFile) Problem(msg, hint string, paths ...string) { f.v.at(msg, hint, paths...) }

// Has reports whether path was written in the file.
func (f *TOMLFile) Has(path string) bool {
	_, ok := f.v.pos[path]
	return ok
}

// Err returns every recorded problem in file order, or nil.
func (f *TOMLFile) Err() error {
	if len(f.v.errs) == 0 {
		return nil
	}
	errs := append(ConfigErrors(nil), f.v.errs...)
	sort.SliceStable(errs, func(i, j int) bool {
		if errs[i].Line != errs[j].Line {
			return errs[i].Line < errs[j].Line
		}
		return errs[i].Col < errs[j].Col
	})
	return &errs
}
