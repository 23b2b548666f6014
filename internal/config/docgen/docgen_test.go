package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestConfigurationDocIsCurrent(t *testing.T) {
	root, module, err := findModule()
	if err != nil {
		t.Fatal(err)
	}
	want, err := generate(root, module)
	if err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(filepath.Join(root, docPath))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		gl, wl := strings.Split(string(got), "\n"), strings.Split(string(want), "\n")
		line := 0
		for line < len(gl) && line < len(wl) && gl[line] == wl[line] {
			line++
		}
		t.Fatalf("%s is stale: run make docs (it differs from line %d)", docPath, line+1)
	}
}

func TestConvert(t *testing.T) {
	siblings := map[string]string{"MaxBuffered": "max_buffered", "Username": "username", "Password": "password",
		"Redis": "redis", "Token": "token", "IdleTimeoutMin": "idle_timeout_min", "TLS": "tls"}
	tests := []struct {
		name string
		text string
		own  []string
		want string
	}{
		{"is_dropped", "Token is the Data Request Token.", []string{"Token"}, "The Data Request Token."},
		{"verb_kept", "MaxBuffered bounds the events\nheld in memory.", []string{"MaxBuffered"}, "Bounds the events held in memory."},
		{"several_words_become_keys", "IdleTimeout applies until, then IdleTimeoutMin.", []string{"IdleTimeout"}, "Applies until, then `idle_timeout_min`."},
		{"one_word_stays_a_word", "Addr is where Redis listens.", []string{"Addr"}, "Where Redis listens."},
		{"shared_row_names_its_keys", "Username and Password authenticate.", []string{"Username", "Password"}, "`username` and `password` authenticate."},
		{"comma_kept", "Redis, when set, holds it.", []string{"Redis"}, "Redis, when set, holds it."},
		{"acronym_is_one_word", "TLS serves over TLS.", []string{"TLS"}, "Serves over TLS."},
		{"markdown_escaped", "Token is sent as Bearer <token> | x.", []string{"Token"}, `Sent as Bearer &lt;token> \| x.`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := convert(tt.text, tt.own, siblings); got != tt.want {
				t.Errorf("convert = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestFormats(t *testing.T) {
	tests := []struct {
		name, got, want string
	}{
		{"minutes", formatDuration(30 * time.Minute), "30m"},
		{"hours", formatDuration(7 * 24 * time.Hour), "168h"},
		{"hours_and_minutes", formatDuration(135 * time.Minute), "2h15m"},
		{"milliseconds", formatDuration(500 * time.Millisecond), "500ms"},
		{"seconds", formatDuration(15 * time.Second), "15s"},
		{"mebibytes", formatBytes(8 << 20), "8 MiB"},
		{"kibibytes", formatBytes(16 << 10), "16 KiB"},
		{"odd_bytes", formatBytes(1500), "1500 bytes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.got != tt.want {
				t.Errorf("got %q, want %q", tt.got, tt.want)
			}
		})
	}
}
