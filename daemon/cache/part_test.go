package cache

import (
	"fmt"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
)

// mapPart is a Part over a map.
type mapPart struct {
	mu      sync.Mutex
	m       map[string]string
	changed atomic.Bool
}

func (p *mapPart) Changed() bool { return p.changed.Load() }

func (p *mapPart) Dump() (keys, values [][]byte) {
	p.changed.Store(false)
	p.mu.Lock()
	defer p.mu.Unlock()
	for k, v := range p.m {
		keys, values = append(keys, []byte(k)), append(values, []byte(v))
	}
	return keys, values
}

func (p *mapPart) Load(k, v []byte) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.m == nil {
		p.m = map[string]string{}
	}
	p.m[string(k)] = string(v)
}

// TestSnapshotParts: a part's records go into the snapshot file with the
// cache's (Sync, Close) in a bucket of their own, replacing what it held,
// and come back to the part added to a cache on the same file, whether it
// is added before or after the file is attached.
func TestSnapshotParts(t *testing.T) {
	path := filepath.Join(t.TempDir(), "cache.bolt")
	c, err := Open(Options{Path: path})
	if err != nil {
		t.Fatal(err)
	}
	p := &mapPart{m: map[string]string{"a": "1", "b": "2"}}
	if err := c.AddPart("x", p); err != nil {
		t.Fatal(err)
	}
	if err := c.Sync(); err != nil {
		t.Fatal(err)
	}
	p.mu.Lock()
	delete(p.m, "b")
	p.m["c"] = "3"
	p.mu.Unlock()
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	for _, before := range []bool{true, false} {
		c2 := New(Options{})
		p2 := &mapPart{}
		if before {
			c2.AddPart("x", p2)
		}
		if err := c2.AttachSnapshot(path); err != nil {
			t.Fatal(err)
		}
		if !before {
			c2.AddPart("x", p2)
		}
		if got := fmt.Sprint(p2.m); got != "map[a:1 c:3]" {
			t.Errorf("added before attaching %v: loaded %s", before, got)
		}
		c2.Close()
	}
}
