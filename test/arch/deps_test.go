// Package arch_test keeps every import arrow of the module pointing down:
// commands and test rigs on top, then the two services (collector,
// dispatcher) and the doubles standing in for 8x8 and Regal, side by side
// and blind to one another, then the libraries (internal/, gen/) that know
// none of them. The rules are data (rules below); the graph is what
// `go list -deps -test` reports, so a new package falls under the rules of
// its path without any change here. A breach prints the rule, the
// shortest chain of imports that breaks it and why the rule holds, e.g.
//
//	collector_packages_do_not_depend_on_the_dispatcher: 1 import chains break the rule:
//	  collector/timeline → dispatcher/translate
//	why the rule holds: the collector's parts run in the collector process only; ...
package arch_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"os/exec"
	"path"
	"slices"
	"strings"
	"testing"
)

// module is the import path every pattern below is relative to.
const module = "github.com/ccbridge/bridge"

// rules are the arrows the module may not have. Each says why; a failure
// prints the rule, its reason and the chain of imports that breaks it.
var rules = []rule{
	{
		name: "collector packages do not depend on the dispatcher",
		why: "the collector's parts run in the collector process only; what both services share lives " +
			"in internal/ (e.g. internal/phone) or is the wire contract in gen/. The collector root is " +
			"exempt from the transitive check: it reaches dispatcher components' Config types through " +
			"internal/config, the configuration schema (its own imports are checked below)",
		from: in("collector/...").except("collector"),
		to:   in("dispatcher/..."),
	},
	{
		name: "dispatcher packages do not depend on the collector",
		why:  "as above, mirrored: the dispatcher's parts know the collector only through gen/ (DeliveryService)",
		from: in("dispatcher/...").except("dispatcher"),
		to:   in("collector/..."),
	},
	{
		name:   "the collector root imports no dispatcher package",
		why:    "the collector root may reach dispatcher component packages only through internal/config",
		from:   in("collector"),
		to:     in("dispatcher/..."),
		direct: true,
	},
	{
		name:   "the dispatcher root imports no collector package",
		why:    "the dispatcher root may reach collector component packages only through internal/config",
		from:   in("dispatcher"),
		to:     in("collector/..."),
		direct: true,
	},
	{
		name: "the collector root never depends on the dispatcher root",
		why:  "each service runs as its own process and is assembled only by its command or a test rig",
		from: in("collector"),
		to:   in("dispatcher"),
	},
	{
		name: "the dispatcher root never depends on the collector root",
		why:  "each service runs as its own process and is assembled only by its command or a test rig",
		from: in("dispatcher"),
		to:   in("collector"),
	},
	{
		name: "doubles never depend on the services, tests included",
		why: "a double stands in for 8x8 or Regal and is written from their published contracts " +
			"(testdata/); importing the client it stands in for would read the client's mistakes back " +
			"as the contract",
		from:  in("doubles/..."),
		to:    in("collector/...", "dispatcher/..."),
		tests: true,
		exceptions: []exception{{
			from: in("doubles/sapidouble/..."),
			to:   in("collector/sapi"),
			why: "the SAPI double's tests read its stream with the collector's framer and decoder; " +
				"a reader of their own, written from 8x8's documentation, would remove this",
		}},
	},
	{
		name: "libraries know no service, double, rig or command",
		why: "internal/ and gen/ are shared below both services; internal/config, the configuration " +
			"schema, alone names the components' Config types and has its own rule below",
		from: in("internal/...", "gen/...").except("internal/config/..."),
		to:   in("collector/...", "dispatcher/...", "doubles/...", "test/...", "cmd/..."),
	},
	{
		name: "the configuration schema names components, never a service root, double, rig or command",
		why: "internal/config is imported by both service roots and their commands, so it must stay " +
			"below them",
		from: in("internal/config/..."), // with docgen, which documents the schema
		to:   in("collector", "dispatcher", "doubles/...", "test/...", "cmd/..."),
	},
	{
		name:   "only commands and test code use test/ rigs",
		why:    "test/ holds rigs and harnesses that assemble the services; production code never ships them",
		from:   in("...").except("cmd/...", "test/..."),
		to:     in("test/..."),
		direct: true,
	},
	{
		name:   "nothing imports a command",
		why:    "a command is the top of its own graph; what two commands share belongs in a package below them",
		from:   in("..."),
		to:     in("cmd/..."),
		direct: true,
		tests:  true,
		allow:  sameCommand,
	},
}

// set is a set of the module's packages named by patterns relative to
// the module: "x" is the package x, "x/..." is x and every package below
// it, "..." is every package.
type set struct{ include, exclude []string }

func in(patterns ...string) set { return set{include: patterns} }

func (s set) except(patterns ...string) set {
	s.exclude = append(slices.Clone(s.exclude), patterns...)
	return s
}

func (s set) has(pkg string) bool {
	return slices.ContainsFunc(s.include, func(p string) bool { return matches(p, pkg) }) &&
		!slices.ContainsFunc(s.exclude, func(p string) bool { return matches(p, pkg) })
}

func matches(pattern, pkg string) bool {
	if pattern == "..." {
		return true
	}
	if base, ok := strings.CutSuffix(pattern, "/..."); ok {
		return pkg == base || strings.HasPrefix(pkg, base+"/")
	}
	return pkg == pattern
}

// sameCommand allows a command's own packages (cmd/demo/internal/demo
// for cmd/demo) to import one another.
func sameCommand(from, to string) bool {
	command := func(pkg string) string {
		parts := strings.SplitN(pkg, "/", 3)
		if len(parts) < 2 || parts[0] != "cmd" {
			return ""
		}
		return parts[1]
	}
	return command(from) != "" && command(from) == command(to)
}

// rule forbids packages of from to depend on packages of to.
type rule struct {
	name, why string
	from, to  set
	// direct counts only the imports of a from package itself; by default
	// every package it depends on, at any depth, counts.
	direct bool
	// tests checks the test code of from packages too (their _test.go
	// files, internal and external); by default only what they ship.
	tests bool
	// allow, when set, permits some edges the sets would forbid.
	allow func(from, to string) bool
	// exceptions are known breaches, each with its reason; one no longer
	// used fails the test, so the list only shrinks.
	exceptions []exception
}

// exception lets test code of from depend on to.
type exception struct {
	from, to set
	why      string
}

// node is one package of the graph: a package as shipped, or a test
// variant of one (its internal test package or its external _test
// package).
type node struct {
	pkg     string // relative to module; a test variant carries its package's path
	test    bool
	imports []string // ids of the module's packages it imports
}

// graph maps the ids go list gives (with " [p.test]" on test variants) to
// nodes.
type graph map[string]*node

// loadGraph runs go list on the whole module, test variants included.
func loadGraph(t *testing.T) graph {
	t.Helper()
	cmd := exec.Command("go", "list", "-deps", "-test", "-json=ImportPath,ForTest,Imports", module+"/...")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, stderr.String())
	}
	type listed struct {
		ImportPath, ForTest string
		Imports             []string
	}
	ours := func(path string) bool { return path == module || strings.HasPrefix(path, module+"/") }
	g := graph{}
	dec := json.NewDecoder(bytes.NewReader(out))
	for {
		var p listed
		if err := dec.Decode(&p); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			t.Fatalf("reading go list's output: %v", err)
		}
		path, variant, _ := strings.Cut(p.ImportPath, " [")
		if !ours(path) || (p.ForTest == "" && strings.HasSuffix(path, ".test")) {
			continue // outside the module, or a generated test main
		}
		n := &node{pkg: strings.TrimPrefix(strings.TrimPrefix(path, module), "/"), test: variant != ""}
		if p.ForTest != "" {
			n.pkg = strings.TrimPrefix(strings.TrimPrefix(p.ForTest, module), "/")
			n.test = true
		}
		for _, imp := range p.Imports {
			if base, _, _ := strings.Cut(imp, " ["); ours(base) {
				n.imports = append(n.imports, imp)
			}
		}
		g[p.ImportPath] = n
	}
	return g
}

// check returns a message per breach of r in g, sorted, and the
// exceptions of r that no breach used.
func check(g graph, r rule) (breaches []string, unused []exception) {
	used := make([]bool, len(r.exceptions))
	seen := map[string]bool{}
	for _, id := range sortedIDs(g) {
		start := g[id]
		if !r.from.has(start.pkg) || (start.test && !r.tests) {
			continue
		}
		// Breadth first, so that each chain reported is a shortest one.
		parent := map[string]string{id: ""}
		queue := []string{id}
		for len(queue) > 0 {
			cur := queue[0]
			queue = queue[1:]
			imports := g[cur].imports
			if cur == id && start.test {
				imports = testOnly(g, start)
			}
			for _, next := range imports {
				if _, ok := parent[next]; ok || g[next] == nil {
					continue
				}
				if start.test && g[next].pkg == start.pkg {
					continue // the package's own code is checked from itself
				}
				parent[next] = cur
				dep := g[next].pkg
				breach := r.to.has(dep) && (r.allow == nil || !r.allow(start.pkg, dep))
				if breach {
					if i := exceptionFor(r, start, dep); i >= 0 {
						used[i] = true
						breach = false
					}
				}
				if breach {
					msg := chain(g, parent, next)
					if !seen[msg] {
						seen[msg] = true
						breaches = append(breaches, msg)
					}
					continue // what lies beyond is reported from here
				}
				if !r.direct {
					queue = append(queue, next)
				}
			}
		}
	}
	for i, e := range r.exceptions {
		if !used[i] {
			unused = append(unused, e)
		}
	}
	slices.Sort(breaches)
	return breaches, unused
}

// testOnly lists the imports of a test variant that the package's own
// code does not have: what its _test.go files add.
func testOnly(g graph, n *node) []string {
	shipped := g[path.Join(module, n.pkg)]
	var out []string
	for _, imp := range n.imports {
		base, _, _ := strings.Cut(imp, " [")
		if shipped == nil || !slices.ContainsFunc(shipped.imports, func(s string) bool { return s == base }) {
			out = append(out, imp)
		}
	}
	return out
}

func exceptionFor(r rule, start *node, dep string) int {
	return slices.IndexFunc(r.exceptions, func(e exception) bool {
		return start.test && e.from.has(start.pkg) && e.to.has(dep)
	})
}

// chain names the imports from the start of a search to id:
// "doubles/x (tests) → collector/y → dispatcher/z".
func chain(g graph, parent map[string]string, id string) string {
	var names []string
	for ; id != ""; id = parent[id] {
		name := g[id].pkg
		if g[id].test && parent[id] == "" {
			name += " (tests)"
		}
		names = append(names, name)
	}
	slices.Reverse(names)
	return strings.Join(names, " → ")
}

func sortedIDs(g graph) []string {
	ids := make([]string, 0, len(g))
	for id := range g {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	return ids
}

func TestImportsPointDown(t *testing.T) {
	g := loadGraph(t)
	for _, r := range rules {
		t.Run(r.name, func(t *testing.T) {
			if !slices.ContainsFunc(sortedIDs(g), func(id string) bool { return r.from.has(g[id].pkg) }) {
				t.Fatalf("no package matches %v: the rule checks nothing (a package moved?)", r.from.include)
			}
			breaches, unused := check(g, r)
			if len(breaches) > 0 {
				t.Errorf("%d import chains break the rule:\n  %s\nwhy the rule holds: %s", len(breaches), strings.Join(breaches, "\n  "), r.why)
			}
			for _, e := range unused {
				t.Errorf("exception %v → %v is no longer needed: remove it (it was: %s)", e.from.include, e.to.include, e.why)
			}
		})
	}
}

// TestCheck runs the checker on small graphs, so that a rule that can
// never fail is caught here rather than trusted.
func TestCheck(t *testing.T) {
	g := graph{
		"a":        {pkg: "a", imports: []string{"b"}},
		"b":        {pkg: "b", imports: []string{"c"}},
		"c":        {pkg: "c"},
		"a [test]": {pkg: "a", test: true, imports: []string{"a", "t"}},
		"t":        {pkg: "t"},
		"cmd/x":    {pkg: "cmd/x", imports: []string{"cmd/x/y"}},
		"cmd/x/y":  {pkg: "cmd/x/y"},
		"cmd/z":    {pkg: "cmd/z", imports: []string{"cmd/x/y"}},
	}
	tests := []struct {
		name       string
		rule       rule
		want       []string
		wantUnused int
	}{
		{name: "transitive_breach_names_the_chain", rule: rule{from: in("a"), to: in("c")}, want: []string{"a → b → c"}},
		{name: "direct_rule_ignores_deeper_imports", rule: rule{from: in("a"), to: in("c"), direct: true}},
		{name: "direct_rule_sees_own_imports", rule: rule{from: in("a"), to: in("b"), direct: true}, want: []string{"a → b"}},
		{name: "except_removes_a_package", rule: rule{from: in("...").except("a", "b"), to: in("c")}},
		{name: "test_code_is_skipped_by_default", rule: rule{from: in("a"), to: in("t")}},
		{name: "test_code_is_checked_when_asked", rule: rule{from: in("a"), to: in("t"), tests: true}, want: []string{"a (tests) → t"}},
		{name: "exception_covers_test_code", rule: rule{from: in("a"), to: in("t"), tests: true,
			exceptions: []exception{{from: in("a"), to: in("t")}}}},
		{name: "unused_exception_is_reported", rule: rule{from: in("a"), to: in("c"),
			exceptions: []exception{{from: in("a"), to: in("t")}}}, want: []string{"a → b → c"}, wantUnused: 1},
		{name: "same_command_is_allowed", rule: rule{from: in("..."), to: in("cmd/..."), direct: true, allow: sameCommand},
			want: []string{"cmd/z → cmd/x/y"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, unused := check(g, tt.rule)
			if !slices.Equal(got, tt.want) || len(unused) != tt.wantUnused {
				t.Errorf("check = %q, %d unused; want %q, %d unused", got, len(unused), tt.want, tt.wantUnused)
			}
		})
	}
}
