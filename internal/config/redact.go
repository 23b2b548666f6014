package config

import (
	"errors"
	"reflect"
	"regexp"
	"strings"

	"github.com/ccbridge/bridge/internal/secret"
)

// Problems of a configuration are value-free: they name the YAML path and
// what is wrong, never what the file or the environment holds there, since
// any value may be a secret. The package's own messages are written so;
// what components' validators say passes through section.problems, and
// every message through scrub.

// problems joins messages into one error, one message per line, dropping
// repeats (several tenants can report the same collector-wide setting).
func problems(msgs []string) error {
	seen := map[string]bool{}
	var errs []error
	for _, m := range msgs {
		if m == "" || seen[m] {
			continue
		}
		seen[m] = true
		errs = append(errs, errors.New(m))
	}
	return errors.Join(errs...)
}

// section places a component validator's messages in the file: a
// message starting with one of the component's keys is about that key,
// under the section's path; any other is about the section.
type section struct {
	path string
	// keys are the YAML path of each key the component's messages may
	// name: the section's own keys (read from the component's yaml tags)
	// and, for a component given settings of other sections, theirs. A
	// key whose path is "" is reported by another section: its messages
	// are dropped here.
	keys map[string]string
	// prefixes are what the component starts its messages with ("regal: ").
	prefixes []string
	// literals are quoted words the component's messages offer as choices
	// (never values from the file), kept when quoted values are dropped.
	literals []string
}

// sectionOf is the section at path whose keys are those of the given
// configuration types (yaml tags, inline structs included).
func sectionOf(path string, configs ...any) section {
	s := section{path: path, keys: map[string]string{}}
	for _, c := range configs {
		for k := range yamlFields(reflect.TypeOf(c)) {
			s.keys[k] = path + "." + k
		}
	}
	return s
}

// withPrefixes returns s, dropping these prefixes from messages.
func (s section) withPrefixes(p ...string) section { s.prefixes = p; return s }

// withLiterals returns s, keeping these quoted words in messages.
func (s section) withLiterals(l ...string) section { s.literals = l; return s }

var (
	quotedText    = regexp.MustCompile(`\s?"(?:[^"\\]|\\.)*"`)
	gotTail       = regexp.MustCompile(`,? got\b.*$`)
	numberInParen = regexp.MustCompile(`\s?\([0-9][^()\s]*\)`)
	leadingKey    = regexp.MustCompile(`^[a-z][a-z0-9_]*`)
	spaces        = regexp.MustCompile(`\s{2,}`)
	// pathLike is a word of a message that may be a key: keys named
	// inside a message are replaced by their paths when they hold a '_'
	// (one-word keys read as plain words: "use username and token").
	pathLike = regexp.MustCompile(`[A-Za-z0-9_.\[\]]+`)
)

// problems turns a component validator's error into problems naming YAML
// paths, with the values it quotes removed.
func (s section) problems(err error) []string {
	if err == nil {
		return nil
	}
	var out []string
	for _, line := range strings.Split(err.Error(), "\n") {
		for trimmed := true; trimmed; {
			trimmed = false
			for _, p := range s.prefixes {
				if rest, ok := strings.CutPrefix(line, p); ok {
					line, trimmed = rest, true
				}
			}
		}
		line = quotedText.ReplaceAllStringFunc(line, func(q string) string {
			for _, l := range s.literals {
				if strings.TrimSpace(q) == `"`+l+`"` {
					return q
				}
			}
			return ""
		})
		line = gotTail.ReplaceAllString(line, "")
		line = numberInParen.ReplaceAllString(line, "")
		line = strings.TrimSpace(spaces.ReplaceAllString(line, " "))
		if line == "" {
			continue
		}
		if key := leadingKey.FindString(line); key != "" {
			if path, ok := s.keys[key]; ok {
				if path != "" {
					out = append(out, path+s.qualify(line[len(key):]))
				}
				continue
			}
		}
		out = append(out, s.path+": "+s.qualify(line))
	}
	return out
}

// qualify replaces the section's keys named in a message by their paths.
func (s section) qualify(msg string) string {
	return pathLike.ReplaceAllStringFunc(msg, func(w string) string {
		if path := s.keys[w]; path != "" && strings.Contains(w, "_") {
			return path
		}
		return w
	})
}

// scrub removes the given values from a message, as a last resort for a
// message that quotes one without quotes. Values shorter than
// minScrubbedLen are left: they are no secret worth the name and would
// match ordinary words of the message.
func scrub(err error, values []string) error {
	if err == nil {
		return nil
	}
	msg := err.Error()
	changed := false
	for _, v := range values {
		if len(v) >= minScrubbedLen && strings.Contains(msg, v) {
			msg, changed = strings.ReplaceAll(msg, v, "[redacted]"), true
		}
	}
	if !changed {
		return err
	}
	lines := strings.Split(msg, "\n")
	errs := make([]error, len(lines))
	for i, l := range lines {
		errs[i] = errors.New(l)
	}
	return errors.Join(errs...)
}

const minScrubbedLen = 6

var secretType = reflect.TypeFor[secret.Secret]()

// secretValues collects every secret.Secret held in v (structs, slices and
// pointers are followed).
func secretValues(v reflect.Value) []string {
	var out []string
	var walk func(reflect.Value)
	walk = func(v reflect.Value) {
		switch {
		case v.Type() == secretType:
			if s := v.String(); s != "" {
				out = append(out, s)
			}
		case v.Kind() == reflect.Struct:
			for i := range v.NumField() {
				if v.Type().Field(i).IsExported() {
					walk(v.Field(i))
				}
			}
		case v.Kind() == reflect.Slice:
			for i := range v.Len() {
				walk(v.Index(i))
			}
		case v.Kind() == reflect.Pointer && !v.IsNil():
			walk(v.Elem())
		}
	}
	walk(v)
	return out
}
