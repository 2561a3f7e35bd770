package spec

import (
	"encoding/json"
	"path/filepath"
	"strings"
)

// jsonTrace is the part of a Lua debug record busted's JSON carries.
type jsonTrace struct {
	Source      string `json:"source"`
	ShortSrc    string `json:"short_src"`
	CurrentLine int    `json:"currentline"`
	What        string `json:"what"`
	Traceback   string `json:"traceback,omitempty"`
}

// jsonElement is the busted element (the it, or the file of a file error).
type jsonElement struct {
	Name       string         `json:"name"`
	Descriptor string         `json:"descriptor"`
	Duration   float64        `json:"duration"`
	Trace      jsonTrace      `json:"trace"`
	Attributes map[string]any `json:"attributes"`
}

// jsonEntry is one item of the pendings, successes, failures or errors list.
type jsonEntry struct {
	Name    string      `json:"name"`
	Message *string     `json:"message,omitempty"`
	IsError bool        `json:"isError,omitempty"`
	Trace   jsonTrace   `json:"trace"`
	Element jsonElement `json:"element"`
}

// jsonReport renders rep as busted's JSON handler does: one object with
// the lists pendings, successes, failures and errors, and the duration in
// seconds, on one line.
func jsonReport(rep *Report) ([]byte, error) {
	doc := struct {
		Pendings  []jsonEntry `json:"pendings"`
		Successes []jsonEntry `json:"successes"`
		Failures  []jsonEntry `json:"failures"`
		Errors    []jsonEntry `json:"errors"`
		Duration  float64     `json:"duration"`
	}{[]jsonEntry{}, []jsonEntry{}, []jsonEntry{}, []jsonEntry{}, rep.Duration.Seconds()}
	for _, r := range rep.Results {
		tr := jsonTrace{Source: "@" + r.File, ShortSrc: r.File, CurrentLine: r.Line, What: "Lua", Traceback: r.Trace}
		e := jsonEntry{Name: r.Name, Trace: tr, Element: jsonElement{
			Name: r.Short, Descriptor: "it", Duration: r.Duration.Seconds(), Trace: tr, Attributes: map[string]any{},
		}}
		if !r.Test {
			e.Element.Name, e.Element.Descriptor = r.Name, "file"
			if r.File == "" || strings.HasPrefix(r.Name, "helper ") || filepath.Clean(r.Name) != filepath.Clean(r.File) {
				e.Element.Descriptor = "suite"
			}
		}
		if r.Status != StatusSuccess {
			msg := r.Message
			e.Message = &msg
		}
		switch r.Status {
		case StatusSuccess:
			doc.Successes = append(doc.Successes, e)
		case StatusPending:
			doc.Pendings = append(doc.Pendings, e)
		case StatusFailure:
			doc.Failures = append(doc.Failures, e)
		default:
			e.IsError = true
			doc.Errors = append(doc.Errors, e)
		}
	}
	data, err := json.Marshal(doc)
	if err != nil {
		return nil, err
	}
	return append(data, '\n'), nil
}
