package main

import (
	"os"
	"path/filepath"
	"testing"
)

func TestWriteAddrFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sapi.url")
	if err := writeAddrFile(path, "http://127.0.0.1:41234"); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != "http://127.0.0.1:41234\n" {
		t.Errorf("file holds %q", got)
	}
	if _, err := os.Stat(path + ".tmp"); !os.IsNotExist(err) {
		t.Errorf("temporary file left behind: %v", err)
	}
}
