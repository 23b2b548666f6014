package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

func writeEntry(t *testing.T, dir, name, body string) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestBuildWritesTheV1Layout(t *testing.T) {
	src := t.TempDir()
	writeEntry(t, src, "GO-2026-0002.json", `{"id":"GO-2026-0002","modified":"2026-03-01T00:00:00Z",
		"affected":[{"package":{"name":"golang.org/x/net"}},{"package":{"name":"golang.org/x/net"}},{"package":{"name":"stdlib"}}]}`)
	writeEntry(t, src, "GO-2026-0001.json", `{"id":"GO-2026-0001","modified":"2026-02-01T00:00:00Z",
		"affected":[{"package":{"name":"golang.org/x/net"}}]}`)
	writeEntry(t, src, "README.md", "not an entry")
	out := filepath.Join(t.TempDir(), "db")

	n, err := build(src, out)
	if err != nil {
		t.Fatalf("build: %v", err)
	}
	if n != 2 {
		t.Errorf("build counted %d entries, want 2", n)
	}

	var db struct{ Modified time.Time }
	readJSON(t, filepath.Join(out, "index", "db.json"), &db)
	if want := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC); !db.Modified.Equal(want) {
		t.Errorf("db.json modified = %v, want the newest entry's %v", db.Modified, want)
	}

	var modules []moduleMeta
	readJSON(t, filepath.Join(out, "index", "modules.json"), &modules)
	var got []string
	for _, m := range modules {
		for _, v := range m.Vulns {
			got = append(got, m.Path+" "+v.ID)
		}
	}
	want := []string{
		"golang.org/x/net GO-2026-0001",
		"golang.org/x/net GO-2026-0002", // listed once although affected twice
		"stdlib GO-2026-0002",
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("modules.json lists %q, want %q", got, want)
	}
	if b, err := os.ReadFile(filepath.Join(out, "index", "modules.json")); err != nil {
		t.Fatal(err)
	} else if strings.Contains(string(b), `"fixed"`) {
		t.Errorf("modules.json names fixed versions: %s", b)
	}

	for _, id := range []string{"GO-2026-0001", "GO-2026-0002"} {
		orig, _ := os.ReadFile(filepath.Join(src, id+".json"))
		copied, err := os.ReadFile(filepath.Join(out, "ID", id+".json"))
		if err != nil || string(copied) != string(orig) {
			t.Errorf("ID/%s.json = %q, %v; want the entry unchanged", id, copied, err)
		}
	}
	if _, err := os.Stat(out + ".tmp"); !os.IsNotExist(err) {
		t.Errorf("the build directory %s.tmp is left behind (stat: %v)", out, err)
	}
}

func TestBuildRejectsBadInputAndKeepsTheOldDatabase(t *testing.T) {
	tests := []struct {
		name    string
		file    string
		body    string
		wantErr string
	}{
		{"malformed JSON", "GO-2026-0001.json", `{"id":`, "GO-2026-0001.json"},
		{"entry under another name", "GO-2026-0001.json", `{"id":"GO-2026-0009"}`, "<ID>.json"},
		{"no entries", "notes.txt", "nothing", "no OSV entries"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := t.TempDir()
			writeEntry(t, src, tt.file, tt.body)
			out := filepath.Join(t.TempDir(), "db")
			if err := os.MkdirAll(filepath.Join(out, "index"), 0o755); err != nil {
				t.Fatal(err)
			}
			writeEntry(t, filepath.Join(out, "index"), "db.json", `{"modified":"2026-01-01T00:00:00Z"}`)

			_, err := build(src, out)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("build = %v, want an error naming %q", err, tt.wantErr)
			}
			if _, err := os.Stat(filepath.Join(out, "index", "db.json")); err != nil {
				t.Errorf("the previous database is gone after a failed build: %v", err)
			}
			if _, err := os.Stat(out + ".tmp"); !os.IsNotExist(err) {
				t.Errorf("the failed build left %s.tmp behind (stat: %v)", out, err)
			}
		})
	}
}

func readJSON(t *testing.T, name string, v any) {
	t.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
}
