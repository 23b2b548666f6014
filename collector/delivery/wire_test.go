package delivery

import (
	"bytes"
	"errors"
	"testing"
	"time"

	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	deliveryv1 "github.com/ccbridge/bridge/gen/ccbridge/delivery/v1"
	eventv1 "github.com/ccbridge/bridge/gen/ccbridge/event/v1"
)

func sampleEvent(raw []byte) *eventv1.Event {
	return &eventv1.Event{
		Tenant: "acmecorp01", InteractionId: "int-1", EventType: "InteractionQueued",
		ReceivedAt: timestamppb.New(time.Unix(1724685483, 0)), DedupKey: "d1", OrderKey: "acmecorp01/int-1",
		TraceContext: map[string]string{"traceparent": "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"},
		Raw:          raw,
	}
}

// sampleEventWithAttachedData is sampleEvent carrying attached data.
func sampleEventWithAttachedData(raw []byte) *eventv1.Event {
	ev := sampleEvent(raw)
	ev.AttachedData = map[string]string{"campId": "7", "que": "~~queue~~phone~~"}
	return ev
}

func TestDispatcherView(t *testing.T) {
	withRaw, _ := proto.Marshal(sampleEvent([]byte(`{"Interaction":{"event":"InteractionQueued"}}`)))
	noRaw, _ := proto.Marshal(sampleEvent(nil))
	withAttached, _ := proto.Marshal(sampleEventWithAttachedData([]byte("frame")))
	// Raw written first, as a decoder that kept unknown order might.
	rawFirst := append(bytesField(12, []byte("frame")), noRaw...)
	tests := []struct {
		name    string
		in      []byte
		want    []byte
		wantErr error
	}{
		{name: "raw_is_dropped", in: withRaw, want: noRaw},
		{name: "attached_data_is_dropped", in: withAttached, want: noRaw},
		{name: "raw_written_first_is_dropped", in: rawFirst, want: noRaw},
		{name: "without_raw_is_returned_as_is", in: noRaw, want: noRaw},
		{name: "empty_stays_empty", in: nil, want: nil},
		{name: "truncated_bytes_are_refused", in: withRaw[:len(withRaw)-3], wantErr: errMalformedEvent},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := dispatcherView(tt.in)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
			if err == nil && !bytes.Equal(got, tt.want) {
				t.Fatalf("got %x, want %x", got, tt.want)
			}
			if len(got) != len(tt.in) && cap(got) != len(got) {
				t.Fatalf("the view holds %d bytes in a buffer of %d: it should allocate what it keeps", len(got), cap(got))
			}
		})
	}
}

// TestEncodedSubscribeResponseReadsAsSubscribeResponse pins the wire
// compatibility dispatchers rely on.
func TestEncodedSubscribeResponseReadsAsSubscribeResponse(t *testing.T) {
	ev := sampleEventWithAttachedData([]byte(`{"Interaction":{}}`))
	payload, _ := proto.Marshal(ev)
	tc := map[string]string{"traceparent": "00-0af7651916cd43dd8448eb211c80319c-00f067aa0ba902b7-01"}
	wire, err := proto.Marshal(&deliveryv1.EncodedSubscribeResponse{Kind: &deliveryv1.EncodedSubscribeResponse_Delivery{
		Delivery: &deliveryv1.EncodedDelivery{DeliveryId: 42, Redelivery: 2, Event: mustDispatcherView(t, payload), TraceContext: tc}}})
	if err != nil {
		t.Fatal(err)
	}
	var got deliveryv1.SubscribeResponse
	if err := proto.Unmarshal(wire, &got); err != nil {
		t.Fatal(err)
	}
	want := &deliveryv1.SubscribeResponse{Kind: &deliveryv1.SubscribeResponse_Delivery{
		Delivery: &deliveryv1.Delivery{DeliveryId: 42, Redelivery: 2, Event: sampleEvent(nil), TraceContext: tc}}}
	if !proto.Equal(&got, want) {
		t.Fatalf("read back %v\nwant %v", &got, want)
	}
}

func mustDispatcherView(t *testing.T, b []byte) []byte {
	t.Helper()
	out, err := dispatcherView(b)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// bytesField encodes one length-delimited field.
func bytesField(num int, v []byte) []byte {
	b := protowire.AppendTag(nil, protowire.Number(num), protowire.BytesType)
	return protowire.AppendBytes(b, v)
}
