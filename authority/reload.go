package authority

import (
	"os"
	"time"
)

// fileStamp is what a zone file looked like when it was read.
type fileStamp struct {
	mod  time.Time
	size int64
}

func stamp(path string) fileStamp {
	fi, err := os.Stat(path)
	if err != nil {
		return fileStamp{}
	}
	return fileStamp{fi.ModTime(), fi.Size()}
}

// Load reads the zone origin from path and serves it in place of any zone
// of that origin. On error (with file:line for a syntax error) the zone
// served before, if any, stays. A zone signed on line stays signed by the
// same Signer (see Zone.Sign).
func (e *Engine) Load(origin, path string) error {
	st := stamp(path)
	z, err := LoadZone(origin, path)
	if err != nil {
		return err
	}
	if old := e.Zone(z.Origin); old != nil && old.online != nil {
		if err := z.Sign(old.online.s); err != nil {
			return err
		}
	}
	z.stamp = st
	e.Add(z)
	return nil
}

// Reload re-reads each zone loaded from a file whose modification time or
// size changed since it was read (every one when force). A file that fails
// to load leaves its last good version served; its error is returned.
// Queries are answered throughout: a zone is swapped only once loaded.
func (e *Engine) Reload(force bool) []error {
	e.reloadMu.Lock()
	defer e.reloadMu.Unlock()
	var errs []error
	for _, z := range e.Zones() {
		if z.File == "" {
			continue
		}
		if !force && stamp(z.File) == z.stamp {
			continue
		}
		if err := e.Load(nameText(z.Origin), z.File); err != nil {
			errs = append(errs, err)
			z.stamp = stamp(z.File) // report a broken file once, until it changes again
		}
	}
	return errs
}
