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
// what components' validators say passes through componentProblems, and
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

// component describes how a component validator's messages map onto the
// file: its own prefixes to drop, the YAML path of each of its field names,
// and the section other messages belong to.
type component struct {
	section  string
	prefixes []string
	keys     map[string]string
	// literals are quoted words the component's messages offer as choices
	// (never values from the file), kept when quoted values are dropped.
	literals []string
}

var (
	quotedText    = regexp.MustCompile(`\s?"(?:[^"\\]|\\.)*"`)
	gotTail       = regexp.MustCompile(`,? got .*$`)
	numberInParen = regexp.MustCompile(`\s?\([0-9][^()\s]*\)`)
	leadingKey    = regexp.MustCompile(`^[a-z][a-z0-9_]*`)
	spaces        = regexp.MustCompile(`\s{2,}`)
)

// problems turns a component validator's error into problems naming YAML
// paths, with the values it quotes removed.
func (c component) problems(err error) []string {
	if err == nil {
		return nil
	}
	var out []string
	for _, line := range strings.Split(err.Error(), "\n") {
		for trimmed := true; trimmed; {
			trimmed = false
			for _, p := range c.prefixes {
				if rest, ok := strings.CutPrefix(line, p); ok {
					line, trimmed = rest, true
				}
			}
		}
		line = quotedText.ReplaceAllStringFunc(line, func(q string) string {
			for _, l := range c.literals {
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
			if path, ok := c.keys[key]; ok {
				out = append(out, path+line[len(key):])
				continue
			}
		}
		out = append(out, c.section+": "+line)
	}
	return out
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
