package config

import (
	"encoding"
	"fmt"
	"math"
	"reflect"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// decoder fills a Go value from a parsed YAML tree, strictly: a key the
// value does not have, a key given twice, or a value of the wrong shape is
// a problem naming its YAML path (tenants[1].regal.api_key), never the Go
// type and never the value. ${NAME} references are expanded in each scalar
// just before it is decoded (see expand). Every problem is collected, so
// that one run reports them all.
type decoder struct {
	lookup   func(string) (string, bool)
	problems []string
	// fromEnv are the values that came from the environment: they may be
	// secrets even where the field is not a secret.Secret, so they are
	// scrubbed from every message as a last resort.
	fromEnv []string
	// merging are the mappings whose merge keys are being applied: a merge
	// key that brings its own mapping back is a cycle, not a recursion.
	merging map[*yaml.Node]bool
	// merges counts mappings applied through merge keys, bounded so that a
	// file of aliases of aliases cannot make the decoder work without end.
	merges int
}

// maxMerges bounds the mappings merge keys may apply in one file: far more
// than a configuration needs, far less than an alias bomb makes.
const maxMerges = 10000

var durationType = reflect.TypeFor[time.Duration]()

// fail records a problem at path; the node gives its line.
func (d *decoder) fail(path string, n *yaml.Node, format string, a ...any) {
	if path == "" {
		path = "config"
	}
	msg := path + ": " + fmt.Sprintf(format, a...)
	if n != nil && n.Line > 0 {
		msg += fmt.Sprintf(" (line %d)", n.Line)
	}
	d.problems = append(d.problems, msg)
}

// decode sets v from n. A null leaves v as it was (its default), except
// that it clears a pointer or a list.
func (d *decoder) decode(n *yaml.Node, v reflect.Value, path string) {
	for n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	if n.Kind == yaml.DocumentNode {
		if len(n.Content) == 0 {
			return
		}
		n = n.Content[0]
	}
	if n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null" {
		switch v.Kind() {
		case reflect.Pointer, reflect.Slice:
			v.SetZero()
		}
		return
	}
	if v.CanAddr() {
		if u, ok := v.Addr().Interface().(encoding.TextUnmarshaler); ok {
			if s, ok := d.scalar(n, path, "a string"); ok {
				if err := u.UnmarshalText([]byte(s)); err != nil {
					d.fail(path, n, "not a valid value")
				}
			}
			return
		}
	}
	if v.Type() == durationType {
		if s, ok := d.scalar(n, path, "a duration"); ok {
			dur, err := time.ParseDuration(strings.TrimSpace(s))
			if err != nil {
				d.fail(path, n, "not a duration (write it like 500ms, 30s, 5m or 3h)")
				return
			}
			v.SetInt(int64(dur))
		}
		return
	}
	switch v.Kind() {
	case reflect.Pointer:
		if v.IsNil() {
			v.Set(reflect.New(v.Type().Elem()))
		}
		d.decode(n, v.Elem(), path)
	case reflect.Struct:
		d.mapping(n, v, path)
	case reflect.Slice:
		d.sequence(n, v, path)
	case reflect.String:
		if s, ok := d.scalar(n, path, "a string"); ok {
			v.SetString(s)
		}
	case reflect.Bool:
		if s, ok := d.scalar(n, path, "true or false"); ok {
			b, known := yamlBools[strings.TrimSpace(s)]
			if !known {
				d.fail(path, n, "not true or false")
				return
			}
			v.SetBool(b)
		}
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		if s, ok := d.scalar(n, path, "an integer"); ok {
			i, err := strconv.ParseInt(strings.TrimSpace(s), 0, v.Type().Bits())
			if err != nil {
				d.fail(path, n, "not an integer%s", rangeHint(err))
				return
			}
			v.SetInt(i)
		}
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		if s, ok := d.scalar(n, path, "a non-negative integer"); ok {
			i, err := strconv.ParseUint(strings.TrimSpace(s), 0, v.Type().Bits())
			if err != nil {
				d.fail(path, n, "not a non-negative integer%s", rangeHint(err))
				return
			}
			v.SetUint(i)
		}
	case reflect.Float32, reflect.Float64:
		if s, ok := d.scalar(n, path, "a number"); ok {
			f, err := strconv.ParseFloat(strings.TrimSpace(s), v.Type().Bits())
			if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
				d.fail(path, n, "not a finite number")
				return
			}
			v.SetFloat(f)
		}
	default:
		// A field of a kind the file cannot set (map, interface, …) is a
		// mistake in this package, not in the file.
		panic(fmt.Sprintf("config: %s: fields of kind %s are not decoded", path, v.Kind()))
	}
}

// rangeHint says why a number that looks right did not fit.
func rangeHint(err error) string {
	if ne, ok := err.(*strconv.NumError); ok && ne.Err == strconv.ErrRange {
		return " in range"
	}
	return ""
}

// yamlBools are the spellings YAML gives true and false.
var yamlBools = map[string]bool{
	"true": true, "True": true, "TRUE": true, "yes": true, "Yes": true, "YES": true, "on": true, "On": true, "ON": true,
	"false": false, "False": false, "FALSE": false, "no": false, "No": false, "NO": false, "off": false, "Off": false, "OFF": false,
}

// scalar returns n's expanded value, or records why there is none.
func (d *decoder) scalar(n *yaml.Node, path, want string) (string, bool) {
	if n.Kind != yaml.ScalarNode {
		d.fail(path, n, "expected %s, found %s", want, kindName(n))
		return "", false
	}
	s, fromEnv, err := expand(n.Value, d.lookup)
	if err != nil {
		d.fail(path, n, "%v", err)
		return "", false
	}
	if fromEnv {
		d.fromEnv = append(d.fromEnv, s)
	}
	return s, true
}

// kindName names a node's shape for messages.
func kindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping of keys"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		return "a single value"
	}
	return "nothing usable"
}

// sequence sets the slice v from a YAML list; it replaces any default.
func (d *decoder) sequence(n *yaml.Node, v reflect.Value, path string) {
	if n.Kind != yaml.SequenceNode {
		d.fail(path, n, "expected a list, found %s", kindName(n))
		return
	}
	s := reflect.MakeSlice(v.Type(), len(n.Content), len(n.Content))
	for i, c := range n.Content {
		d.decode(c, s.Index(i), fmt.Sprintf("%s[%d]", path, i))
	}
	v.Set(s)
}

// plainKey is a key that can be printed: a mistyped key is named in its
// problem, but text that does not look like a key name (a value pasted one
// line off, say) is not.
var plainKey = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_-]{0,47}$`)

// mapping sets the fields of the struct v from a YAML mapping; keys left
// out keep their value. Merge keys (<<: *anchor) apply first, so the
// mapping's own keys override what they bring.
func (d *decoder) mapping(n *yaml.Node, v reflect.Value, path string) {
	for n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	if n.Kind != yaml.MappingNode {
		d.fail(path, n, "expected a mapping of keys, found %s", kindName(n))
		return
	}
	if d.merging[n] {
		d.fail(path, n, "a mapping includes itself (through an alias or a merge key <<)")
		return
	}
	if d.merging == nil {
		d.merging = map[*yaml.Node]bool{}
	}
	d.merging[n] = true
	defer delete(d.merging, n)
	for i := 0; i+1 < len(n.Content); i += 2 {
		if k := n.Content[i]; isMergeKey(k) {
			if d.merges++; d.merges > maxMerges {
				d.fail(path, k, "merge keys (<<) apply more than %d mappings", maxMerges)
				return
			}
			merged := n.Content[i+1]
			for merged.Kind == yaml.AliasNode && merged.Alias != nil {
				merged = merged.Alias
			}
			if merged.Kind == yaml.SequenceNode {
				// Earlier mappings of the list take precedence.
				for j := len(merged.Content) - 1; j >= 0; j-- {
					d.mapping(merged.Content[j], v, path)
				}
			} else {
				d.mapping(merged, v, path)
			}
		}
	}
	fields := yamlFields(v.Type())
	seen := map[string]bool{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, val := n.Content[i], n.Content[i+1]
		for k.Kind == yaml.AliasNode && k.Alias != nil {
			k = k.Alias
		}
		if isMergeKey(k) {
			continue
		}
		if k.Kind != yaml.ScalarNode || !plainKey.MatchString(k.Value) {
			d.fail(path, k, "a key here is not a plain key name")
			continue
		}
		kp := joinPath(path, k.Value)
		index, known := fields[k.Value]
		switch {
		case seen[k.Value]:
			d.fail(kp, k, "key is given twice")
		case !known:
			// A key close to a known one is a typo and is named; any other
			// may be a value pasted as a key (a token ending in ':'), so
			// only its place is.
			if hint, typo := keyHint(k.Value, fields); typo {
				d.fail(kp, k, "unknown key (%s)", hint)
			} else {
				d.fail(path, k, "unknown key (%s)", hint)
			}
		default:
			d.decode(val, v.FieldByIndex(index), kp)
		}
		seen[k.Value] = true
	}
}

// isMergeKey reports a YAML merge key (<<).
func isMergeKey(k *yaml.Node) bool {
	return k.Kind == yaml.ScalarNode && k.Value == "<<" && (k.Style == 0 || k.ShortTag() == "!!merge")
}

// joinPath appends key to a YAML path.
func joinPath(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// yamlFields maps the YAML keys of a struct type to its field indexes,
// following yaml.v3's tags (name,flags; "-" skips; inline merges).
func yamlFields(t reflect.Type) map[string][]int {
	out := map[string][]int{}
	for i := range t.NumField() {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		name, flags, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		if name == "-" {
			continue
		}
		if strings.Contains(flags, "inline") && f.Type.Kind() == reflect.Struct {
			for k, idx := range yamlFields(f.Type) {
				out[k] = append([]int{i}, idx...)
			}
			continue
		}
		if name == "" {
			name = strings.ToLower(f.Name)
		}
		out[name] = []int{i}
	}
	return out
}

// keyHint suggests the known key closest to an unknown one, or lists them.
func keyHint(key string, fields map[string][]int) (hint string, typo bool) {
	known := make([]string, 0, len(fields))
	for k := range fields {
		known = append(known, k)
	}
	sort.Strings(known)
	// Close enough to be a typo: up to half the key's letters (at least 2).
	best, bestDist := "", max(2, len(key)/2)+1
	for _, k := range known {
		if dist := editDistance(key, k); dist < bestDist {
			best, bestDist = k, dist
		}
	}
	if best != "" {
		return "did you mean " + best + "?", true
	}
	return "known keys: " + strings.Join(known, ", "), false
}

// editDistance is the Levenshtein distance of two short strings.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
