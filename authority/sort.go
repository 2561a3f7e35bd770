package authority

import (
	"slices"

	"ljdns/dnsmsg"
)

func slicesSort(ts []uint16) { slices.Sort(ts) }

func sortNodes(ns []*node) {
	slices.SortFunc(ns, func(a, b *node) int { return dnsmsg.CompareNames(a.name, b.name) })
}
