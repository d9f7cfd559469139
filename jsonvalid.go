package weft

// maxJSONDepth is the deepest nesting of arrays and objects encoding/json
// accepts (its scanner's maxNestingDepth).
const maxJSONDepth = 10000

// validArrayLen reports whether d is exactly one JSON array: its first
// byte the '[' that opens it, its last byte the ']' that closes it,
// nothing around them; and if so, how many elements it has. Its verdict is
// that of
//
//	len(d) >= 2 && d[0] == '[' && d[len(d)-1] == ']' && json.Valid(d)
//
// for every d, with encoding/json's allowances and limits: bytes that are
// not UTF-8 are allowed inside strings (only bytes below 0x20 are not), an
// object may repeat a key, a \u escape need not name a valid code point,
// and arrays and objects nest at most maxJSONDepth deep. It is a plain
// recursive descent over the bytes, several times faster than json.Valid,
// whose scanner calls a function per byte; spliceChain runs it on every
// link of an Append chain.
func validArrayLen(d []byte) (int, bool) {
	if len(d) < 2 || d[0] != '[' || d[len(d)-1] != ']' {
		return 0, false
	}
	end, n, ok := scanJSONArray(d, 0, 1)
	return n, ok && end == len(d)
}

// skipJSONSpace returns the index of the first byte of d from i that is
// not JSON whitespace (space, tab, line feed, carriage return), or len(d).
func skipJSONSpace(d []byte, i int) int {
	for i < len(d) && (d[i] == ' ' || d[i] == '\t' || d[i] == '\n' || d[i] == '\r') {
		i++
	}
	return i
}

// scanJSONValue scans the JSON value that starts at d[i] (not whitespace)
// and returns the index just past it and whether it is valid; depth is the
// depth an array or object there has.
func scanJSONValue(d []byte, i, depth int) (int, bool) {
	if i >= len(d) {
		return i, false
	}
	switch c := d[i]; {
	case c == '"':
		return scanJSONString(d, i)
	case c == '[':
		end, _, ok := scanJSONArray(d, i, depth)
		return end, ok
	case c == '{':
		return scanJSONObject(d, i, depth)
	case c == '-' || '0' <= c && c <= '9':
		return scanJSONNumber(d, i)
	case c == 't':
		return scanJSONLiteral(d, i, "true")
	case c == 'f':
		return scanJSONLiteral(d, i, "false")
	case c == 'n':
		return scanJSONLiteral(d, i, "null")
	}
	return i, false
}

// scanJSONArray scans the array whose '[' is d[i], itself depth deep, and
// returns the index just past it, how many elements it has and whether it
// is valid.
func scanJSONArray(d []byte, i, depth int) (end, n int, ok bool) {
	if depth > maxJSONDepth {
		return i, 0, false
	}
	i = skipJSONSpace(d, i+1)
	if i < len(d) && d[i] == ']' {
		return i + 1, 0, true
	}
	for {
		if i, ok = scanJSONValue(d, i, depth+1); !ok {
			return i, n, false
		}
		n++
		if i = skipJSONSpace(d, i); i >= len(d) {
			return i, n, false
		}
		switch d[i] {
		case ',':
			i = skipJSONSpace(d, i+1)
		case ']':
			return i + 1, n, true
		default:
			return i, n, false
		}
	}
}

// scanJSONObject scans the object whose '{' is d[i], itself depth deep.
func scanJSONObject(d []byte, i, depth int) (int, bool) {
	if depth > maxJSONDepth {
		return i, false
	}
	i = skipJSONSpace(d, i+1)
	if i < len(d) && d[i] == '}' {
		return i + 1, true
	}
	for {
		if i >= len(d) || d[i] != '"' {
			return i, false
		}
		var ok bool
		if i, ok = scanJSONString(d, i); !ok {
			return i, false
		}
		if i = skipJSONSpace(d, i); i >= len(d) || d[i] != ':' {
			return i, false
		}
		if i, ok = scanJSONValue(d, skipJSONSpace(d, i+1), depth+1); !ok {
			return i, false
		}
		if i = skipJSONSpace(d, i); i >= len(d) {
			return i, false
		}
		switch d[i] {
		case ',':
			i = skipJSONSpace(d, i+1)
		case '}':
			return i + 1, true
		default:
			return i, false
		}
	}
}

// scanJSONString scans the string whose opening quote is d[i]: any bytes
// but a quote, a backslash or a control byte (below 0x20), and the escapes
// \" \\ \/ \b \f \n \r \t and \u with four hexadecimal digits.
func scanJSONString(d []byte, i int) (int, bool) {
	for i++; i < len(d); {
		switch c := d[i]; {
		case c == '"':
			return i + 1, true
		case c == '\\':
			if i+1 >= len(d) {
				return i, false
			}
			switch d[i+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				i += 2
			case 'u':
				if i+5 >= len(d) || !isHex(d[i+2]) || !isHex(d[i+3]) || !isHex(d[i+4]) || !isHex(d[i+5]) {
					return i, false
				}
				i += 6
			default:
				return i, false
			}
		case c < 0x20:
			return i, false
		default:
			i++
		}
	}
	return i, false
}

// isHex reports whether c is a hexadecimal digit, of either case.
func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

// scanJSONNumber scans the number that starts at d[i]:
// -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?. What follows it is the
// caller's to check.
func scanJSONNumber(d []byte, i int) (int, bool) {
	if d[i] == '-' {
		i++
	}
	switch {
	case i < len(d) && d[i] == '0':
		i++
	case i < len(d) && '1' <= d[i] && d[i] <= '9':
		i = skipDigits(d, i+1)
	default:
		return i, false
	}
	if i < len(d) && d[i] == '.' {
		j := skipDigits(d, i+1)
		if j == i+1 {
			return j, false
		}
		i = j
	}
	if i < len(d) && (d[i] == 'e' || d[i] == 'E') {
		i++
		if i < len(d) && (d[i] == '+' || d[i] == '-') {
			i++
		}
		j := skipDigits(d, i)
		if j == i {
			return j, false
		}
		i = j
	}
	return i, true
}

// skipDigits returns the index of the first byte of d from i that is not
// a decimal digit, or len(d).
func skipDigits(d []byte, i int) int {
	for i < len(d) && '0' <= d[i] && d[i] <= '9' {
		i++
	}
	return i
}

// scanJSONLiteral scans lit (true, false or null) at d[i]. What follows
// it is the caller's to check.
func scanJSONLiteral(d []byte, i int, lit string) (int, bool) {
	if len(d)-i < len(lit) || string(d[i:i+len(lit)]) != lit {
		return i, false
	}
	return i + len(lit), true
}
