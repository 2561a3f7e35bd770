package zone

import (
	"bytes"
	"errors"
	"strings"
	"testing"
)

// TestAsyncSame checks that parse-ahead mode yields the same records and
// the same error as the synchronous mode.
func TestAsyncSame(t *testing.T) {
	data := genzone(t, 20000)
	texts := []string{string(data), string(data[:len(data)/2]) + "\nbad A 1.2.3\n", "", "a A 1.2.3.4\n",
		// batches share an owner among the records written without one
		strings.Repeat("a A 1.2.3.4\n A 1.2.3.5\n$ORIGIN b.\n A 1.2.3.6\nc A 1.2.3.7\n", 3000)}
	for ti, text := range texts {
		sync := NewScanner(strings.NewReader(text), ".", ClassINET, 3600)
		async := NewScanner(strings.NewReader(text), ".", ClassINET, 3600)
		async.SetAsync(true)
		n := 0
		for sync.Next() {
			if !async.Next() {
				t.Fatalf("text %d: async ended at %d: %v", ti, n, async.Err())
			}
			a, b := sync.Record(), async.Record()
			if !bytes.Equal(a.Owner, b.Owner) || !bytes.Equal(a.RData, b.RData) || a.Type != b.Type || a.TTL != b.TTL || a.Class != b.Class || a.Line != b.Line {
				t.Fatalf("text %d: record %d differs", ti, n)
			}
			n++
		}
		if async.Next() {
			t.Fatalf("text %d: async has more records", ti)
		}
		e1, e2 := sync.Err(), async.Err()
		if (e1 == nil) != (e2 == nil) || e1 != nil && e1.Error() != e2.Error() {
			t.Fatalf("text %d: errors %v / %v", ti, e1, e2)
		}
		var pe *ParseError
		if ti == 1 && !errors.As(e2, &pe) {
			t.Fatalf("text 1: want a ParseError, got %v", e2)
		}
	}
}

// TestAsyncStop stops the producer mid-stream with Reset and Close.
func TestAsyncStop(t *testing.T) {
	data := genzone(t, 20000)
	s := NewScanner(bytes.NewReader(data), ".", ClassINET, 3600)
	s.SetAsync(true)
	for i := 0; i < 1000 && s.Next(); i++ {
	}
	s.Reset(strings.NewReader("x. A 1.2.3.4\n"))
	if !s.Next() || string(s.Record().Owner) != "\x01x\x00" || s.Next() || s.Err() != nil {
		t.Fatalf("after reset: %v", s.Err())
	}
	s.Reset(bytes.NewReader(data))
	s.Next()
	s.Close()
	s.SetAsync(false)
	s.Reset(strings.NewReader("y. A 1.2.3.4\n"))
	if !s.Next() || string(s.Record().Owner) != "\x01y\x00" {
		t.Fatalf("sync after async: %v", s.Err())
	}
}
