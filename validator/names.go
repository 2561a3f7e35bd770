package validator

import "ljdns/dnsmsg"

// labels returns the number of labels of wire name w, root excluded.
func labels(w []byte) int { return dnsmsg.LabelCount(w) }

// suffix returns the last n labels of wire name w (root included).
func suffix(w []byte, n int) []byte {
	skip := labels(w) - n
	i := 0
	for ; skip > 0 && i < len(w); skip-- {
		i += int(w[i]) + 1
	}
	return w[i:]
}

// parent returns w without its first label (the root for the root).
func parent(w []byte) []byte {
	if len(w) <= 1 {
		return w
	}
	return w[int(w[0])+1:]
}

// within reports whether w is at or below p (case-insensitive).
func within(w, p []byte) bool { return dnsmsg.NameWithin(w, p) }

// below reports whether w is strictly below p.
func below(w, p []byte) bool { return len(w) > len(p) && within(w, p) }

// sameName compares two wire names case-insensitively.
func sameName(a, b []byte) bool { return len(a) == len(b) && dnsmsg.CompareNames(a, b) == 0 }

// commonLabels returns how many trailing labels a and b share.
func commonLabels(a, b []byte) int {
	n := min(labels(a), labels(b))
	for ; n > 0; n-- {
		if sameName(suffix(a, n), suffix(b, n)) {
			return n
		}
	}
	return 0
}

// wildcardOf returns *.w.
func wildcardOf(w []byte) []byte { return append([]byte{1, '*'}, w...) }

// nameText formats a wire name for messages.
func nameText(w []byte) string { return (&dnsmsg.Name{Wire: w}).String() }

// canonicalLess compares names in canonical order (RFC 4034 §6.1).
func cmpNames(a, b []byte) int { return dnsmsg.CompareNames(a, b) }

// nsecCovers reports whether the NSEC span owner..next covers name: owner <
// name < next in canonical order, or, for the last NSEC of the zone (next
// not after owner), name > owner or name < next.
func nsecCovers(owner, next, name []byte) bool {
	if cmpNames(owner, next) < 0 {
		return cmpNames(owner, name) < 0 && cmpNames(name, next) < 0
	}
	return cmpNames(owner, name) < 0 || cmpNames(name, next) < 0
}
