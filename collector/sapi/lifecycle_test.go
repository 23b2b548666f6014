package sapi_test

import (
	"context"
	"testing"
	"time"

	"github.com/ccbridge/bridge/collector/sapi"
	"github.com/ccbridge/bridge/doubles/sapidouble"
	"github.com/ccbridge/bridge/internal/lifecycletest"
)

func TestClientLifecycle(t *testing.T) {
	double := sapidouble.New(sapidouble.Config{
		Tenants: map[string]sapidouble.Credentials{doubleTenant: {Username: doubleTenant, Token: doubleToken}},
	}, nil)
	if err := double.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = double.Shutdown(context.Background()) })
	cfg := sapi.Config{BaseURL: double.URL(), Tenant: doubleTenant, Token: doubleToken, SubscriptionID: "regal",
		ReconnectMin: 10 * time.Millisecond, ReconnectMax: 100 * time.Millisecond}
	handle := func(context.Context, sapi.Frame) error { return nil }
	lifecycletest.Run(t, lifecycletest.Options{
		New: func(t *testing.T) lifecycletest.Component { return sapi.NewClient(cfg, handle, nil) },
		// A client without a frame handler is refused by Start.
		NewFailing: func(t *testing.T) lifecycletest.Component { return sapi.NewClient(cfg, nil, nil) },
	})
}
