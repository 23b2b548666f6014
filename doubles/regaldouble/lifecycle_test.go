package regaldouble_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/ccbridge/bridge/doubles/regaldouble"
	"github.com/ccbridge/bridge/internal/secret"
)

func TestServer_Start_needs_keys(t *testing.T) {
	tests := []struct {
		name string
		keys []secret.Secret
	}{
		{name: "no_keys"},
		{name: "empty_key", keys: []secret.Secret{"rk", ""}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := regaldouble.New(regaldouble.Config{APIKeys: tt.keys}, nil)
			if err := srv.Start(context.Background()); err == nil {
				_ = srv.Shutdown(context.Background())
				t.Fatal("Start succeeded, want an error")
			}
			if srv.URL() != "" {
				t.Errorf("URL = %q, want empty", srv.URL())
			}
		})
	}
}

func TestServer_lifecycle(t *testing.T) {
	srv := regaldouble.New(regaldouble.Config{APIKeys: []secret.Secret{firstKey}}, nil)
	if srv.URL() != "" {
		t.Errorf("URL before Start = %q, want empty", srv.URL())
	}
	if err := srv.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(srv.URL(), "http://127.0.0.1:") {
		t.Errorf("URL = %q, want http://127.0.0.1:<port>", srv.URL())
	}
	if err := srv.Start(context.Background()); err == nil {
		t.Error("second Start succeeded, want an error")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(ctx); err != nil {
		t.Errorf("Shutdown = %v", err)
	}
	if err := srv.Shutdown(ctx); err != nil {
		t.Errorf("second Shutdown = %v, want nil (idempotent)", err)
	}
	if err := srv.Start(context.Background()); err == nil {
		t.Error("Start after Shutdown succeeded, want an error")
	}
}

func TestServer_Shutdown_without_Start(t *testing.T) {
	srv := regaldouble.New(regaldouble.Config{APIKeys: []secret.Secret{firstKey}}, nil)
	if err := srv.Shutdown(context.Background()); err != nil {
		t.Errorf("Shutdown = %v, want nil", err)
	}
}

func TestServer_Shutdown_aborts_delayed_answers(t *testing.T) {
	srv := regaldouble.New(regaldouble.Config{APIKeys: []secret.Secret{firstKey}}, nil)
	if err := srv.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	srv.SetFaults(regaldouble.Fault{Delay: time.Minute})
	done := make(chan struct{})
	go func() {
		defer close(done)
		// The answer never comes; the request fails when the server stops.
		_, _ = postNoFatal(srv.URL()+"/events", firstKey)
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for srv.Requests() == 0 && ctx.Err() == nil {
		time.Sleep(5 * time.Millisecond)
	}
	start := time.Now()
	if err := srv.Shutdown(ctx); err != nil {
		t.Errorf("Shutdown = %v", err)
	}
	<-done
	if elapsed := time.Since(start); elapsed > 2*time.Second {
		t.Errorf("Shutdown took %s with a delayed answer pending", elapsed)
	}
}

func TestServer_binds_configured_address(t *testing.T) {
	srv := regaldouble.New(regaldouble.Config{Addr: "127.0.0.1:0", APIKeys: []secret.Secret{firstKey}}, nil)
	if err := srv.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	defer srv.Shutdown(context.Background())
	taken := regaldouble.New(regaldouble.Config{Addr: strings.TrimPrefix(srv.URL(), "http://"), APIKeys: []secret.Secret{firstKey}}, nil)
	if err := taken.Start(context.Background()); err == nil {
		_ = taken.Shutdown(context.Background())
		t.Error("Start on a bound address succeeded, want an error")
	}
}
