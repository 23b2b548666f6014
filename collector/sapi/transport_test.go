package sapi

import (
	"strings"
	"testing"
)

func TestConfig_transport(t *testing.T) {
	tests := []struct {
		name      string
		baseURL   string
		transport string
		wantURL   string // prefix and transport parameter; empty when Validate must fail
	}{
		{"default_is_http_streaming", "https://vcc-na12.8x8.com", "", "https://vcc-na12.8x8.com/api/streaming/v1/"},
		{"websocket_over_https_is_wss", "https://vcc-na12.8x8.com", TransportWebSocket, "wss://vcc-na12.8x8.com/api/streaming/v1/"},
		{"websocket_over_http_is_ws", "http://127.0.0.1:8088/", TransportWebSocket, "ws://127.0.0.1:8088/api/streaming/v1/"},
		{"unknown_transport_is_rejected", "https://vcc-na12.8x8.com", "long-polling", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := validConfig()
			c.BaseURL, c.Transport = tt.baseURL, tt.transport
			c.SetDefaults()
			err := c.Validate()
			if tt.wantURL == "" {
				if err == nil || !strings.Contains(err.Error(), "transport") {
					t.Fatalf("Validate = %v, want a transport error", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("Validate: %v", err)
			}
			got := c.StreamURL()
			wantTransport := "&X-Atmosphere-Transport=" + c.Transport
			if !strings.HasPrefix(got, tt.wantURL) || !strings.HasSuffix(got, wantTransport) {
				t.Fatalf("StreamURL = %s, want it to start with %s and end with %s", got, tt.wantURL, wantTransport)
			}
		})
	}
}
