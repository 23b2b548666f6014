// Command vulndb builds a local Go vulnerability database that
// `govulncheck -db file:///DIR` accepts, from a directory of OSV entries
// (the data/osv folder of the golang.org/x/vulndb module), for machines
// that cannot reach the public database.
//
// The output follows the v1 layout (https://go.dev/security/vuln/database#api):
//
//	index/db.json       {"modified": newest entry's modified time}
//	index/modules.json  [{"path": module, "vulns": [{"id", "modified"}]}]
//	ID/<id>.json        each entry as given
//
// The index leaves out each vulnerability's "fixed" version on purpose:
// govulncheck then reads every entry of a module it uses and matches the
// entry's own version ranges, so a mistake in this index can never hide a
// vulnerability; reading a few hundred local files costs nothing.
//
// Usage:
//
//	vulndb -module golang.org/x/vulndb@VERSION -out DIR  (its data/osv, fetched with go mod download)
//	vulndb -osv DIR -out DIR
//
// The output directory is built beside its final name and renamed into
// place, so a failed run leaves no half database.
package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"log"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"time"
)

// entry holds the fields of an OSV entry that the index needs.
type entry struct {
	ID       string    `json:"id"`
	Modified time.Time `json:"modified"`
	Affected []struct {
		Module struct {
			Path string `json:"name"`
		} `json:"package"`
	} `json:"affected"`
}

type moduleVuln struct {
	ID       string    `json:"id"`
	Modified time.Time `json:"modified"`
}

type moduleMeta struct {
	Path  string       `json:"path"`
	Vulns []moduleVuln `json:"vulns"`
}

func main() {
	module := flag.String("module", "", "module@version whose data/osv holds the entries (golang.org/x/vulndb@...)")
	osvDir := flag.String("osv", "", "directory of OSV entries named <ID>.json (instead of -module)")
	out := flag.String("out", "", "directory to write the database to (replaced)")
	flag.Parse()
	if (*module == "") == (*osvDir == "") || *out == "" {
		log.Fatal("vulndb: want -out and one of -module or -osv")
	}
	if *module != "" {
		dir, err := moduleDir(*module)
		if err != nil {
			log.Fatalf("vulndb: %v", err)
		}
		*osvDir = filepath.Join(dir, "data", "osv")
	}
	n, err := build(*osvDir, *out)
	if err != nil {
		log.Fatalf("vulndb: %v", err)
	}
	fmt.Printf("vulndb: %d entries from %s into %s\n", n, *osvDir, *out)
}

// build writes the database for the entries in osvDir to out and returns
// how many entries it holds.
func build(osvDir, out string) (_ int, err error) {
	names, err := filepath.Glob(filepath.Join(osvDir, "*.json"))
	if err != nil {
		return 0, err
	}
	if len(names) == 0 {
		return 0, fmt.Errorf("no OSV entries (*.json) in %s", osvDir)
	}
	tmp := out + ".tmp"
	if err := os.RemoveAll(tmp); err != nil {
		return 0, err
	}
	defer func() {
		if err != nil {
			_ = os.RemoveAll(tmp)
		}
	}()
	if err := os.MkdirAll(filepath.Join(tmp, "ID"), 0o755); err != nil {
		return 0, err
	}
	if err := os.MkdirAll(filepath.Join(tmp, "index"), 0o755); err != nil {
		return 0, err
	}

	var newest time.Time
	modules := map[string]*moduleMeta{}
	for _, name := range names {
		b, err := os.ReadFile(name)
		if err != nil {
			return 0, err
		}
		var e entry
		if err := json.Unmarshal(b, &e); err != nil {
			return 0, fmt.Errorf("%s: %w", name, err)
		}
		if filepath.Base(name) != e.ID+".json" {
			return 0, fmt.Errorf("%s: holds entry %q: want the file named <ID>.json", name, e.ID)
		}
		if e.Modified.After(newest) {
			newest = e.Modified
		}
		seen := map[string]bool{}
		for _, a := range e.Affected {
			p := a.Module.Path
			if p == "" || seen[p] {
				continue
			}
			seen[p] = true
			m := modules[p]
			if m == nil {
				m = &moduleMeta{Path: p}
				modules[p] = m
			}
			m.Vulns = append(m.Vulns, moduleVuln{ID: e.ID, Modified: e.Modified})
		}
		if err := os.WriteFile(filepath.Join(tmp, "ID", e.ID+".json"), b, 0o644); err != nil {
			return 0, err
		}
	}

	index := make([]*moduleMeta, 0, len(modules))
	for _, m := range modules {
		sort.Slice(m.Vulns, func(i, j int) bool { return m.Vulns[i].ID < m.Vulns[j].ID })
		index = append(index, m)
	}
	sort.Slice(index, func(i, j int) bool { return strings.Compare(index[i].Path, index[j].Path) < 0 })
	if err := writeJSON(filepath.Join(tmp, "index", "modules.json"), index); err != nil {
		return 0, err
	}
	if err := writeJSON(filepath.Join(tmp, "index", "db.json"), struct {
		Modified time.Time `json:"modified"`
	}{newest}); err != nil {
		return 0, err
	}

	if err := os.RemoveAll(out); err != nil && !errors.Is(err, os.ErrNotExist) {
		return 0, err
	}
	if err := os.Rename(tmp, out); err != nil {
		return 0, err
	}
	return len(names), nil
}

// moduleDir downloads module (path@version) into the module cache,
// verified against the checksum database like any module, and returns its
// directory there.
func moduleDir(module string) (string, error) {
	var stderr bytes.Buffer
	cmd := exec.Command("go", "mod", "download", "-json", module)
	cmd.Stderr = &stderr
	b, err := cmd.Output()
	var m struct{ Dir, Error string }
	if jerr := json.Unmarshal(b, &m); jerr != nil && err == nil {
		err = jerr
	}
	switch {
	case m.Error != "":
		return "", fmt.Errorf("go mod download %s: %s", module, m.Error)
	case err != nil:
		return "", fmt.Errorf("go mod download %s: %w\n%s", module, err, stderr.Bytes())
	case m.Dir == "":
		return "", fmt.Errorf("go mod download %s: no directory in its answer", module)
	}
	return m.Dir, nil
}

func writeJSON(name string, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return os.WriteFile(name, b, 0o644)
}
