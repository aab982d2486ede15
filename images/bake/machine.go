package bake

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Event is one line of `packer build -machine-readable`:
//
//	timestamp,target,type,data...
//
// Commas inside data are written as %!(PACKER_COMMA) and newlines as the
// two characters \n; Parse undoes both.
type Event struct {
	Time   time.Time
	Target string // e.g. amazon-ebs.golden ("" for global lines)
	Type   string // ui, artifact, artifact-count, error-count, build, ...
	Data   []string
}

// UI is a ui event's level (say, message, error) and text.
func (e Event) UI() (level, text string, ok bool) {
	if e.Type != "ui" || len(e.Data) < 2 {
		return "", "", false
	}
	return e.Data[0], e.Data[1], true
}

// Artifact is an artifact event's index, key and value (e.g. 0, id,
// "eu-north-1:ami-1,eu-west-1:ami-2").
func (e Event) Artifact() (index int, key, value string, ok bool) {
	if e.Type != "artifact" || len(e.Data) < 2 {
		return 0, "", "", false
	}
	i, err := strconv.Atoi(e.Data[0])
	if err != nil {
		return 0, "", "", false
	}
	if len(e.Data) > 2 {
		value = strings.Join(e.Data[2:], ",")
	}
	return i, e.Data[1], value, true
}

var unescape = strings.NewReplacer("%!(PACKER_COMMA)", ",", `\n`, "\n", `\r`, "\r")

// Parse reads one machine-readable line.
func Parse(line string) (Event, error) {
	line = strings.TrimRight(line, "\r\n")
	parts := strings.Split(line, ",")
	if len(parts) < 3 {
		return Event{}, fmt.Errorf("not a machine-readable line: %q", line)
	}
	ts, err := strconv.ParseInt(parts[0], 10, 64)
	if err != nil {
		return Event{}, fmt.Errorf("bad timestamp in %q", line)
	}
	e := Event{Time: time.Unix(ts, 0).UTC(), Target: parts[1], Type: parts[2]}
	for _, d := range parts[3:] {
		e.Data = append(e.Data, unescape.Replace(d))
	}
	return e, nil
}

// AMIs reads an amazon-ebs artifact id ("eu-north-1:ami-1,eu-west-1:ami-2").
func AMIs(id string) map[string]string {
	out := map[string]string{}
	for _, p := range strings.Split(id, ",") {
		if region, ami, ok := strings.Cut(strings.TrimSpace(p), ":"); ok {
			out[region] = ami
		}
	}
	return out
}
