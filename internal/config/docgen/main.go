// Command docgen writes docs/configuration.md: a hand-written introduction
// (intro.md) followed by the reference of every key of the configuration
// file, generated from config.Config. Each key's YAML path and type come
// from the types (reflection), its default from config.Default(), and its
// meaning from the doc comment of its field, read from the source of the
// package that declares it: a component's doc comment is the key's
// documentation.
//
// Run it from anywhere in the module (make docs):
//
//	go run ./internal/config/docgen [-o docs/configuration.md]
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
)

func main() {
	out := flag.String("o", "", "file to write (default: docs/configuration.md of the module)")
	flag.Parse()
	if err := run(*out); err != nil {
		fmt.Fprintln(os.Stderr, "docgen:", err)
		os.Exit(1)
	}
}

func run(out string) error {
	root, module, err := findModule()
	if err != nil {
		return err
	}
	doc, err := generate(root, module)
	if err != nil {
		return err
	}
	if out == "" {
		out = filepath.Join(root, docPath)
	}
	return os.WriteFile(out, doc, 0o644)
}
