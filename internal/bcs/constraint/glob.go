package constraint

import "unicode/utf8"

// glob is fnmatch(3) without flags, as BCS's LIKE uses it: '*' matches any
// run of characters ('/' and a leading '.' included), '?' any one
// character, "[...]" one of a class ('!' or '^' first negates it, "a-z"
// is a range, a ']' first is itself), '\' quotes the next character; a '['
// without its ']' is itself.
func glob(pattern, s string) bool {
	px, sx := 0, 0
	starP, starS := -1, -1 // where the last '*' is, and where its run ends
	for px < len(pattern) || sx < len(s) {
		if px < len(pattern) {
			if pattern[px] == '*' {
				starP, starS = px, sx
				px++
				continue
			}
			if sx < len(s) {
				if pn, sn, ok := matchOne(pattern[px:], s[sx:]); ok {
					px, sx = px+pn, sx+sn
					continue
				}
			}
		}
		// A mismatch: let the last '*' take one more character.
		if starP < 0 || starS >= len(s) {
			return false
		}
		_, w := utf8.DecodeRuneInString(s[starS:])
		starS += w
		px, sx = starP+1, starS
	}
	return true
}

// matchOne matches the pattern's first element (not '*') against the first
// character of s (not empty): the bytes it takes of each and whether they
// match.
func matchOne(p, s string) (pn, sn int, ok bool) {
	r, sn := utf8.DecodeRuneInString(s)
	switch p[0] {
	case '?':
		return 1, sn, true
	case '[':
		if n, in, closed := class(p, r); closed {
			return n, sn, in
		}
		return 1, sn, r == '['
	case '\\':
		if len(p) > 1 {
			q, qn := utf8.DecodeRuneInString(p[1:])
			return 1 + qn, sn, q == r
		}
	}
	q, qn := utf8.DecodeRuneInString(p)
	return qn, sn, q == r
}

// class matches r against the class p starts with ("[...]"): its length,
// whether r is in it, and whether it is closed at all.
func class(p string, r rune) (n int, in, closed bool) {
	i, negate := 1, false
	if i < len(p) && (p[i] == '!' || p[i] == '^') {
		negate = true
		i++
	}
	for first := true; i < len(p); first = false {
		if p[i] == ']' && !first {
			return i + 1, in != negate, true
		}
		lo, w := classChar(p, i)
		i += w
		hi := lo
		if i+1 < len(p) && p[i] == '-' && p[i+1] != ']' {
			hi, w = classChar(p, i+1)
			i += 1 + w
		}
		if lo <= r && r <= hi {
			in = true
		}
	}
	return 0, false, false
}

// classChar is the class member at p[i], quoted by '\' or not.
func classChar(p string, i int) (rune, int) {
	if p[i] == '\\' && i+1 < len(p) {
		r, w := utf8.DecodeRuneInString(p[i+1:])
		return r, 1 + w
	}
	return utf8.DecodeRuneInString(p[i:])
}
