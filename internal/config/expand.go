package config

import (
	"errors"
	"fmt"
	"strings"
)

// expand resolves the environment references of one scalar value, after
// YAML parsing, so whatever a variable holds (quotes, '#', '*', newlines,
// YAML-looking text) becomes the value byte for byte and is never read as
// YAML:
//
//   - ${NAME} is the value of the variable NAME (letters, digits and '_',
//     not starting with a digit); a variable that is not set is an error.
//   - $$ is a literal '$' (so $${NAME} is the literal text ${NAME}).
//   - any other '$' is itself.
//
// A variable's value is not expanded again. fromEnv reports whether a
// variable was used, i.e. whether the result may hold a secret. Errors name
// the variable, never a value.
func expand(s string, lookup func(string) (string, bool)) (out string, fromEnv bool, err error) {
	if !strings.Contains(s, "$") {
		return s, false, nil
	}
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); {
		if s[i] != '$' || i+1 == len(s) {
			b.WriteByte(s[i])
			i++
			continue
		}
		switch s[i+1] {
		case '$':
			b.WriteByte('$')
			i += 2
		case '{':
			end := strings.IndexByte(s[i+2:], '}')
			if end < 0 {
				return "", false, errors.New("has a ${ without its closing } (write $$ for a literal $)")
			}
			name := s[i+2 : i+2+end]
			if !isEnvName(name) {
				// The text between the braces is not printed: it was meant
				// as a name, but it is what the file holds there.
				return "", false, errors.New("has a ${...} that is not a variable name (letters, digits and _, not starting with a digit; write $$ for a literal $)")
			}
			v, ok := lookup(name)
			if !ok {
				return "", false, fmt.Errorf("environment variable %s is not set", name)
			}
			b.WriteString(v)
			fromEnv = true
			i += 2 + end + 1
		default:
			b.WriteByte('$')
			i++
		}
	}
	return b.String(), fromEnv, nil
}

// isEnvName reports whether s is a variable name ${NAME} may reference.
func isEnvName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '_', 'A' <= c && c <= 'Z', 'a' <= c && c <= 'z':
		case '0' <= c && c <= '9' && i > 0:
		default:
			return false
		}
	}
	return true
}
