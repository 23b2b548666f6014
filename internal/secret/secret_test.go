package secret

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"testing"
)

func TestSecretNeverPrints(t *testing.T) {
	const value = "tok-3f9a0c1d2e"
	s := Secret(value)
	var logBuf bytes.Buffer
	slog.New(slog.NewJSONHandler(&logBuf, nil)).Info("cfg", "token", s)
	js, err := json.Marshal(struct{ T Secret }{s})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		out  string
	}{
		{"fmt_v", fmt.Sprintf("%v", s)},
		//lint:ignore S1025 the case is fmt's %s verb itself, not String
		{"fmt_s", fmt.Sprintf("%s", s)},
		{"fmt_plus_v_struct", fmt.Sprintf("%+v", struct{ T Secret }{s})},
		{"fmt_sharp_v", fmt.Sprintf("%#v", s)},
		{"slog_json", logBuf.String()},
		{"json", string(js)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if strings.Contains(tt.out, value) {
				t.Fatalf("secret leaked: %s", tt.out)
			}
			if !strings.Contains(tt.out, redacted) {
				t.Fatalf("want %q in %s", redacted, tt.out)
			}
		})
	}
	if s.Reveal() != value {
		t.Fatal("Reveal must return the value")
	}
}

func TestSecretUnmarshal(t *testing.T) {
	var v struct{ T Secret }
	if err := json.Unmarshal([]byte(`{"T":"abc"}`), &v); err != nil {
		t.Fatal(err)
	}
	if v.T.Reveal() != "abc" || v.T.IsZero() {
		t.Fatalf("got %q", v.T.Reveal())
	}
	if Secret("").String() != "" {
		t.Fatal("empty secret prints empty")
	}
}
