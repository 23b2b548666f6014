package sapidouble

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ccbridge/bridge/collector/sapi"
	"github.com/ccbridge/bridge/doubles/sapidouble/scenario"
	"github.com/ccbridge/bridge/internal/poll"
)

func event(name string, ts int) []byte {
	return []byte(`{"Interaction":{"callState":"CS_QUEUED","event":"` + name + `","interactionEventTS":` + strconv.Itoa(ts) + `,"interactionGUID":"int-1"}}`)
}

func TestAuth(t *testing.T) {
	s := startDouble(t, nil)
	tests := []struct {
		name   string
		query  string
		header string
		want   int
	}{
		{"missing_credentials", "", "", http.StatusUnauthorized},
		{"wrong_token", "", "Basic " + b64(username+":wrong"), http.StatusUnauthorized},
		{"wrong_user", "", "Basic " + b64("other:"+testToken), http.StatusUnauthorized},
		{"basic_header", "", basicToken(), http.StatusOK},
		{"token_query_parameter", "&token=" + url.QueryEscape(basicToken()), "", http.StatusOK},
		{"token_query_plus_as_space", "&token=Basic+" + url.QueryEscape(b64(username+":"+testToken)), "", http.StatusOK},
		{"token_query_wrong", "&token=" + url.QueryEscape("Basic "+b64(username+":x")), "", http.StatusUnauthorized},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			req, _ := http.NewRequestWithContext(ctx, http.MethodGet, s.URL()+streamPath("auth", "NEWLINE_JSON")+tt.query, nil)
			if tt.header != "" {
				req.Header.Set("Authorization", tt.header)
			}
			transport := &http.Transport{}
			defer transport.CloseIdleConnections()
			resp, err := (&http.Client{Transport: transport}).Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer func() { _ = resp.Body.Close() }()
			if resp.StatusCode != tt.want {
				t.Fatalf("HTTP %d, want %d", resp.StatusCode, tt.want)
			}
			if tt.want == http.StatusUnauthorized && resp.Header.Get("WWW-Authenticate") != `Basic realm="8x8"` {
				t.Errorf("WWW-Authenticate = %q", resp.Header.Get("WWW-Authenticate"))
			}
		})
	}
}

func TestRouting(t *testing.T) {
	s := startDouble(t, nil)
	tests := []struct {
		name string
		path string
		want int
	}{
		{"old_atmosphere_path", "/api/sapi/atmosphere/subscribe/TenantUpdates-acmecorp01-old?tenantId=acmecorp01&subsId=old&desiredOutputType=json", http.StatusOK},
		{"subscription_id_parameter", "/api/streaming/v1/clientconnect/subscribe/TenantUpdates-acmecorp01-s1?tenantId=acmecorp01&subscriptionId=s1&desiredOutputType=Newline_Json", http.StatusOK},
		{"no_query_split_on_dash", "/api/streaming/v1/clientconnect/subscribe/TenantUpdates-acmecorp01-s2", http.StatusOK},
		{"subs_id_mismatch", "/api/streaming/v1/clientconnect/subscribe/TenantUpdates-acmecorp01-s3?subsId=other", http.StatusBadRequest},
		{"tenant_mismatch", "/api/streaming/v1/clientconnect/subscribe/TenantUpdates-acmecorp01-s3?tenantId=other", http.StatusBadRequest},
		{"unknown_output_type", "/api/streaming/v1/clientconnect/subscribe/TenantUpdates-acmecorp01-s4?desiredOutputType=CSV", http.StatusBadRequest},
		{"not_tenant_updates", "/api/streaming/v1/clientconnect/subscribe/Something", http.StatusBadRequest},
		{"unknown_path", "/api/other", http.StatusNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			resp := get(t, ctx, s.URL()+tt.path, true)
			defer func() { _ = resp.Body.Close() }()
			if resp.StatusCode != tt.want {
				t.Fatalf("HTTP %d, want %d", resp.StatusCode, tt.want)
			}
		})
	}
}

func TestSubscriptionLimit(t *testing.T) {
	s := startDouble(t, nil)
	first := subscribe(t, s, "s1", "NEWLINE_JSON")
	subscribe(t, s, "s2", "NEWLINE_JSON")
	subscribe(t, s, "s3", "NEWLINE_JSON")
	waitSubscribed(t, s, 3)

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	fourth := get(t, ctx, s.URL()+streamPath("s4", "NEWLINE_JSON"), true)
	_ = fourth.Body.Close()
	if fourth.StatusCode != http.StatusTooManyRequests {
		t.Fatalf("4th subscription: HTTP %d, want 429", fourth.StatusCode)
	}

	again := subscribe(t, s, "s1", "NEWLINE_JSON") // same subsId replaces its stream
	if err := first.waitEnd(t); err != nil {
		t.Errorf("replaced stream ended with %v, want a clean end", err)
	}
	if n := s.Subscribers(tenant); n != 3 {
		t.Errorf("subscribers = %d, want 3", n)
	}
	if err := s.Publish(tenant, event("InteractionCreated", 1)); err != nil {
		t.Fatal(err)
	}
	if f := again.nextEvent(t); !strings.Contains(f, "InteractionCreated") {
		t.Errorf("replacing stream got %q", f)
	}
}

func TestBufferReplayAfterReconnect(t *testing.T) {
	s := startDouble(t, func(c *Config) { c.Padding = true })
	sub := subscribe(t, s, "regal", "NEWLINE_JSON")
	waitSubscribed(t, s, 1)
	must(t, s.Publish(tenant, event("InteractionCreated", 1)))
	first := sub.nextEvent(t)

	s.Cut(tenant)
	if err := sub.waitEnd(t); err != nil {
		t.Fatalf("cut: stream ended with %v, want a clean end", err)
	}
	must(t, s.Publish(tenant, event("InteractionQueued", 2), event("InteractionAssigned", 3)))
	if n := s.Subscribers(tenant); n != 0 {
		t.Fatalf("subscribers after cut = %d", n)
	}
	sub = subscribe(t, s, "regal", "NEWLINE_JSON")
	must(t, s.Publish(tenant, event("InteractionAccepted", 4)))
	got := []string{first, sub.nextEvent(t), sub.nextEvent(t), sub.nextEvent(t)}
	var lastSeq int64
	for i, name := range []string{"InteractionCreated", "InteractionQueued", "InteractionAssigned", "InteractionAccepted"} {
		if !strings.Contains(got[i], `"event":"`+name+`"`) {
			t.Fatalf("event %d = %s, want %s", i, got[i], name)
		}
		_, _, seq := decode(t, got[i])
		if seq <= lastSeq {
			t.Errorf("sequenceId %d after %d", seq, lastSeq)
		}
		lastSeq = seq
	}
}

func TestDuplicateOnReplay(t *testing.T) {
	s := startDouble(t, nil)
	s.ReplayLast(2)
	sub := subscribe(t, s, "regal", "NEWLINE_JSON")
	waitSubscribed(t, s, 1)
	must(t, s.Publish(tenant, event("InteractionCreated", 1), event("InteractionQueued", 2), event("InteractionAssigned", 3)))
	delivered := []string{sub.nextEvent(t), sub.nextEvent(t), sub.nextEvent(t)}
	s.Cut(tenant)
	_ = sub.waitEnd(t)

	sub = subscribe(t, s, "regal", "NEWLINE_JSON")
	must(t, s.Publish(tenant, event("InteractionAccepted", 4)))
	for i, want := range []string{delivered[1], delivered[2]} {
		if got := sub.nextEvent(t); got != want {
			t.Fatalf("replayed %d = %s, want the earlier delivery %s", i, got, want)
		}
	}
	if got := sub.nextEvent(t); !strings.Contains(got, "InteractionAccepted") {
		t.Fatalf("after the replay: %s", got)
	}
}

func TestMsgInfoStamping(t *testing.T) {
	s := startDouble(t, func(c *Config) { c.HeartbeatInterval = 20 * time.Millisecond })
	sub := subscribe(t, s, "regal", "NEWLINE_JSON")
	waitSubscribed(t, s, 1)

	heartbeat := sub.next(t)
	if !strings.HasPrefix(heartbeat, `{"ClientCheck":{"heartbeat":"[HEARTBEAT]","msgInfo":{"instanceId":"`) ||
		!strings.HasSuffix(heartbeat, `,"subscription-id":"regal","tenant-id":"acmecorp01"}}`) {
		t.Fatalf("heartbeat = %s", heartbeat)
	}
	if _, err := sapi.Decode([]byte(heartbeat), tenant, "regal", time.Now()); !errors.Is(err, sapi.ErrHeartbeat) {
		t.Fatalf("heartbeat does not decode as one: %v", err)
	}
	must(t, s.Publish(tenant, event("InteractionCreated", 1)))
	before := sub.nextEvent(t)
	// The next heartbeat consumes a sequence number in between.
	for {
		if f := sub.next(t); strings.Contains(f, "ClientCheck") {
			break
		}
	}
	must(t, s.Publish(tenant, event("InteractionQueued", 2)))
	after := sub.nextEvent(t)
	_, instance1, seq1 := decode(t, before)
	_, instance2, seq2 := decode(t, after)
	if instance1 == "" || instance1 != instance2 || seq2 <= seq1+1 {
		t.Errorf("msgInfo %s/%d then %s/%d: want one instance, heartbeats consuming numbers in between", instance1, seq1, instance2, seq2)
	}

	s.Failover(tenant)
	must(t, s.Publish(tenant, event("InteractionCreated", 1)))
	resent := sub.nextEvent(t)
	key1, _, _ := decode(t, before)
	key3, instance3, seq3 := decode(t, resent)
	if instance3 == instance1 || seq3 > 2 {
		t.Errorf("after failover msgInfo %s/%d, want a new instance counting from 1", instance3, seq3)
	}
	if key3 != key1 {
		t.Error("the same event re-sent after a failover gets another dedup key")
	}

	must(t, s.Publish(tenant, []byte(`{"Interaction":{"event":"InteractionAssigned","interactionGUID":"int-g","msgInfo":{}}}`)))
	if got := sub.nextEvent(t); got != `{"Interaction":{"event":"InteractionAssigned","interactionGUID":"int-g","msgInfo":{}}}` {
		t.Errorf("an empty msgInfo was changed: %s", got)
	}
}

func TestPublish_rejects_non_events(t *testing.T) {
	s := startDouble(t, nil)
	for _, bad := range []string{`{"Interaction":`, `[1]`, `{"Interaction":"x"}`, `{"A":{},"B":{}}`} {
		if err := s.Publish(tenant, []byte(bad)); err == nil {
			t.Errorf("Publish(%s) succeeded", bad)
		}
	}
	if err := s.Publish("nobody", event("InteractionCreated", 1)); err == nil {
		t.Error("Publish to an unknown tenant succeeded")
	}
}

func TestPublishRaw_reaches_live_subscribers_verbatim(t *testing.T) {
	s := startDouble(t, nil)
	sub := subscribe(t, s, "regal", "NEWLINE_JSON")
	waitSubscribed(t, s, 1)
	s.PublishRaw(tenant, []byte("{\"Interaction\":{\"event\":\"Inter\n\x00\xff\xfe garbage\n{\"Mystery\":{\"x\":1}}\n"))
	must(t, s.Publish(tenant, event("InteractionCreated", 1)))
	want := []string{`{"Interaction":{"event":"Inter`, "\x00\xff\xfe garbage", `{"Mystery":{"x":1}}`}
	for _, w := range want {
		if got := sub.next(t); got != w {
			t.Fatalf("frame %q, want %q", got, w)
		}
	}
	if got := sub.nextEvent(t); !strings.Contains(got, "InteractionCreated") {
		t.Fatalf("the stream did not recover: %q", got)
	}
}

// TestChunkSplitting_yields_the_same_frames publishes a realistic mix with
// chunk splitting, padding and length prefixes on, in every output format:
// the collector's framer and decoder must see exactly the published events.
func TestChunkSplitting_yields_the_same_frames(t *testing.T) {
	events := scenario.Interleave(scenario.Mix(42, tenant, 12, time.Unix(1724685483, 0)), 42)
	wantKeys := make([]string, len(events))
	for i, ev := range events {
		wantKeys[i], _, _ = decode(t, string(ev))
	}
	for _, format := range []string{"NEWLINE_JSON", "JSON", "XML", "NEWLINE_XML"} {
		t.Run(format, func(t *testing.T) {
			s := startDouble(t, func(c *Config) { c.SplitChunks, c.Seed, c.Padding = true, 7, true })
			sub := subscribe(t, s, "regal", format, "&X-Atmosphere-TrackMessageSize=true")
			waitSubscribed(t, s, 1)
			must(t, s.Publish(tenant, events...))
			for i, want := range wantKeys {
				if got, _, _ := decode(t, sub.nextEvent(t)); got != want {
					t.Fatalf("event %d differs after the trip through the double", i)
				}
			}
		})
	}
}

func TestSessionTTL_ends_stream_cleanly(t *testing.T) {
	s := startDouble(t, func(c *Config) { c.SessionTTL = 100 * time.Millisecond })
	sub := subscribe(t, s, "regal", "NEWLINE_JSON")
	if err := sub.waitEnd(t); err != nil {
		t.Fatalf("stream ended with %v, want a clean end", err)
	}
}

func TestRetention_drops_old_buffers(t *testing.T) {
	s := startDouble(t, func(c *Config) { c.Retention = 30 * time.Millisecond })
	sub := subscribe(t, s, "regal", "NEWLINE_JSON")
	waitSubscribed(t, s, 1)
	s.Cut(tenant)
	_ = sub.waitEnd(t)
	// Retention is measured on the wall clock: let it pass.
	time.Sleep(60 * time.Millisecond)
	must(t, s.Publish(tenant, event("InteractionCreated", 1))) // nobody keeps it
	sub = subscribe(t, s, "regal", "NEWLINE_JSON")
	must(t, s.Publish(tenant, event("InteractionQueued", 2)))
	if got := sub.nextEvent(t); !strings.Contains(got, "InteractionQueued") {
		t.Fatalf("got %s, want only the event published after reconnecting", got)
	}
}

func TestShutdown_ends_open_streams(t *testing.T) {
	s := New(Config{Tenants: map[string]Credentials{tenant: {Username: username, Token: testToken}}}, nil)
	if err := s.Shutdown(context.Background()); err != nil {
		t.Fatalf("Shutdown before Start: %v", err)
	}
	s = startDouble(t, nil)
	sub := subscribe(t, s, "regal", "NEWLINE_JSON")
	waitSubscribed(t, s, 1)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	start := time.Now()
	for range 2 {
		if err := s.Shutdown(ctx); err != nil {
			t.Fatalf("Shutdown: %v", err)
		}
	}
	if time.Since(start) > time.Second {
		t.Errorf("Shutdown took %s with a stream open", time.Since(start))
	}
	_ = sub.waitEnd(t)
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func TestPublish_fans_out_to_every_subscription(t *testing.T) {
	s := startDouble(t, nil)
	a := subscribe(t, s, "a", "NEWLINE_JSON")
	b := subscribe(t, s, "b", "NEWLINE_JSON")
	waitSubscribed(t, s, 2)
	must(t, s.Publish(tenant, event("InteractionCreated", 1)))
	fromA, fromB := a.nextEvent(t), b.nextEvent(t)
	if fromA != fromB {
		t.Fatalf("subscriptions saw different events:\n%s\n%s", fromA, fromB)
	}

	b.close() // b's buffer keeps filling while a streams on
	poll.Until(t, "b's stream closed", func() bool { return s.Subscribers(tenant) == 1 })
	must(t, s.Publish(tenant, event("InteractionQueued", 2)))
	if got := a.nextEvent(t); !strings.Contains(got, "InteractionQueued") {
		t.Fatalf("live subscription got %s", got)
	}
	b = subscribe(t, s, "b", "NEWLINE_JSON")
	if got := b.nextEvent(t); !strings.Contains(got, "InteractionQueued") {
		t.Fatalf("reconnected subscription got %s, want its buffered event", got)
	}
}

func TestReplayLast_beyond_the_default_memory(t *testing.T) {
	const published, replayed = 2 * recentKept, recentKept + 44
	s := startDouble(t, func(c *Config) { c.ReplayLast = replayed })
	sub := subscribe(t, s, "regal", "NEWLINE_JSON")
	waitSubscribed(t, s, 1)
	for i := range published {
		must(t, s.Publish(tenant, event("InteractionCreated", i+1)))
	}
	delivered := make([]string, published)
	for i := range delivered {
		delivered[i] = sub.nextEvent(t)
	}
	s.Cut(tenant)
	_ = sub.waitEnd(t)

	sub = subscribe(t, s, "regal", "NEWLINE_JSON")
	for i, want := range delivered[published-replayed:] {
		if got := sub.nextEvent(t); got != want {
			t.Fatalf("replayed event %d = %s, want %s", i, got, want)
		}
	}
}
