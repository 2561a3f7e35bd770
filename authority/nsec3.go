package authority

import (
	"bytes"
	"crypto/sha1"
	"encoding/base32"
	"fmt"
	"slices"

	"ljdns/dnsmsg"
)

var b32hex = base32.HexEncoding.WithPadding(base32.NoPadding)

// nsec3Chain is a zone's NSEC3 chain: the parameters of its NSEC3PARAM and
// the NSEC3 nodes sorted by their hash.
type nsec3Chain struct {
	iterations uint16
	salt       []byte
	hashes     [][]byte // raw hashes, sorted
	nodes      []*node  // nodes[i] holds the NSEC3 of hashes[i]
}

func (z *Zone) loadNSEC3() error {
	apex := z.nodes[string(z.Origin)]
	p := apex.sets[typeNSEC3PARAM]
	if p == nil {
		return nil
	}
	rd := p.RData[0]
	if len(rd) < 5 || len(rd) < 5+int(rd[4]) {
		return fmt.Errorf("bad NSEC3PARAM")
	}
	if rd[0] != 1 {
		return fmt.Errorf("NSEC3PARAM hash algorithm %d unsupported", rd[0])
	}
	c := &nsec3Chain{iterations: uint16(rd[2])<<8 | uint16(rd[3]), salt: slices.Clone(rd[5 : 5+int(rd[4])])}
	type ent struct {
		h []byte
		n *node
	}
	var all []ent
	for k, n := range z.nodes {
		if n.sets[typeNSEC3] == nil {
			continue
		}
		w := []byte(k)
		if w[0] == 0 || parent(w) == nil || string(parent(w)) != string(z.Origin) {
			continue
		}
		h, err := b32hex.DecodeString(string(bytes.ToUpper(w[1 : 1+int(w[0])])))
		if err != nil {
			continue
		}
		all = append(all, ent{h, n})
	}
	slices.SortFunc(all, func(a, b ent) int { return bytes.Compare(a.h, b.h) })
	for _, e := range all {
		c.hashes = append(c.hashes, e.h)
		c.nodes = append(c.nodes, e.n)
	}
	z.nsec3 = c
	return nil
}

// hash is the NSEC3 hash of a wire name (RFC 5155 §5).
func (c *nsec3Chain) hash(name []byte) []byte {
	h := sha1.New()
	h.Write(dnsmsg.LowerName(name))
	h.Write(c.salt)
	d := h.Sum(nil)
	for i := 0; i < int(c.iterations); i++ {
		h.Reset()
		h.Write(d)
		h.Write(c.salt)
		d = h.Sum(d[:0])
	}
	return d
}

// match returns the NSEC3 node whose hash is that of name, or nil.
func (c *nsec3Chain) match(name []byte) *node {
	h := c.hash(name)
	i, ok := slices.BinarySearchFunc(c.hashes, h, bytes.Compare)
	if !ok {
		return nil
	}
	return c.nodes[i]
}

// cover returns the NSEC3 node whose interval covers the hash of name
// (the greatest hash below it, wrapping to the last).
func (c *nsec3Chain) cover(name []byte) *node {
	if len(c.hashes) == 0 {
		return nil
	}
	h := c.hash(name)
	i, _ := slices.BinarySearchFunc(c.hashes, h, bytes.Compare)
	if i == 0 {
		return c.nodes[len(c.nodes)-1]
	}
	return c.nodes[i-1]
}
