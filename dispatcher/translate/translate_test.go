package translate_test

import (
	"errors"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/ccbridge/bridge/dispatcher/translate"
	eventv1 "github.com/ccbridge/bridge/gen/ccbridge/event/v1"
	"github.com/ccbridge/bridge/internal/phone"
)

func newTranslator(t testing.TB, m translate.Mapping) *translate.Translator {
	t.Helper()
	tr, err := translate.New(m)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return tr
}

func TestTranslate_skips_unmapped_events(t *testing.T) {
	const phone = "5515557212"
	withCustomer := func(p string) func(*eventv1.InteractionFields) {
		return func(f *eventv1.InteractionFields) { f.CustomerPhone = p }
	}
	tests := []struct {
		name  string
		event *eventv1.Event
	}{
		{
			name: "agent_status_change",
			event: &eventv1.Event{
				Family: "AgentStatusChange", EventType: "AgentStatusChange", OrderKey: "agent:ag64oyEUb_Sk6bxVB9P5yaaa",
				OccurredAt: timestamp(1669235544),
			},
		},
		{name: "interaction_event_missing_from_mapping", event: interactionEvent("InteractionEndPostProcess", firstCallID, 1724686700, withCustomer(phone))},
		{name: "event_type_differing_in_case", event: interactionEvent("interactioncreated", firstCallID, 1724686700, withCustomer(phone))},
		// An unmapped event needs no phone: it is skipped, not dead-lettered.
		{name: "unmapped_event_without_phone", event: interactionEvent("InteractionEndPostProcess", firstCallID, 1724686700, nil)},
	}
	tr := newTranslator(t, translate.DefaultMapping())
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tr.Translate(tt.event)
			if got != nil {
				t.Errorf("Translate returned an event, want none")
			}
			reason, ok := translate.IsSkip(err)
			if !ok || reason != translate.ReasonUnmappedEvent {
				t.Fatalf("IsSkip(%v) = %q, %v; want %q, true", err, reason, ok, translate.ReasonUnmappedEvent)
			}
			if _, noPhone := translate.IsNoPhone(err); noPhone {
				t.Errorf("error %v is also a NoPhoneError", err)
			}
		})
	}
}

func TestTranslate_mapped_event_without_usable_phone_is_a_no_phone_failure(t *testing.T) {
	withCustomer := func(p string) func(*eventv1.InteractionFields) {
		return func(f *eventv1.InteractionFields) { f.CustomerPhone = p }
	}
	tests := []struct {
		name       string
		event      *eventv1.Event
		wantReason string
		wantText   string
	}{
		{
			name:       "interaction_without_customer_phone",
			event:      interactionEvent("InteractionCreated", firstCallID, 1724686700, nil),
			wantReason: translate.ReasonNoPhone,
			wantText:   "translate: no usable customer phone (no_phone): the event carries none",
		},
		{
			name: "mapped_event_without_interaction_fields",
			event: &eventv1.Event{
				Family: "Interaction", EventType: "InteractionCreated", InteractionId: firstCallID,
			},
			wantReason: translate.ReasonNoPhone,
			wantText:   "translate: no usable customer phone (no_phone): the event carries none",
		},
		{
			name:       "local_number_without_area_code",
			event:      interactionEvent("InteractionCreated", firstCallID, 1724686700, withCustomer("5557212")),
			wantReason: translate.ReasonInvalidPhone,
			wantText:   "translate: no usable customer phone (invalid_phone): not a possible number with default region US: a local number without its area code",
		},
		{
			name:       "text_instead_of_phone",
			event:      interactionEvent("InteractionCreated", firstCallID, 1724686700, withCustomer("anonymous")),
			wantReason: translate.ReasonInvalidPhone,
			wantText:   "translate: no usable customer phone (invalid_phone): not a possible number with default region US: the phone number supplied is not a number",
		},
		{
			name:       "national_number_of_another_country",
			event:      interactionEvent("InteractionDeleted", firstCallID, 1724686700, withCustomer("07400 123456")),
			wantReason: translate.ReasonInvalidPhone,
			wantText:   "translate: no usable customer phone (invalid_phone): not a possible number with default region US: too long for its country",
		},
	}
	tr := newTranslator(t, translate.DefaultMapping())
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tr.Translate(tt.event)
			if got != nil {
				t.Errorf("Translate returned an event, want none")
			}
			reason, ok := translate.IsNoPhone(err)
			if !ok || reason != tt.wantReason {
				t.Fatalf("IsNoPhone(%v) = %q, %v; want %q, true", err, reason, ok, tt.wantReason)
			}
			if _, skip := translate.IsSkip(err); skip {
				t.Errorf("error %v is a skip; it must be dead-lettered", err)
			}
			if !errors.Is(err, translate.ErrNoPhone) {
				t.Errorf("error %v does not match ErrNoPhone", err)
			}
			if wantInvalid := tt.wantReason == translate.ReasonInvalidPhone; errors.Is(err, phone.ErrInvalid) != wantInvalid {
				t.Errorf("errors.Is(%v, phone.ErrInvalid) = %v, want %v", err, !wantInvalid, wantInvalid)
			}
			if err.Error() != tt.wantText {
				t.Errorf("error text\n got %q\nwant %q", err, tt.wantText)
			}
			if p := tt.event.GetInteraction().GetCustomerPhone(); p != "" && strings.Contains(err.Error(), p) {
				t.Errorf("error %q contains the phone number", err)
			}
		})
	}
}

func TestTranslate_sends_possible_numbers_in_E164(t *testing.T) {
	tests := []struct {
		name  string
		phone string
		want  string
	}{
		{name: "valid_national", phone: "5515557212", want: customerE164},
		{name: "unverified_grenada_555", phone: "+1 473 555 8383", want: "+14735558383"},
		{name: "unverified_national_digits", phone: "4735558383", want: "+14735558383"},
		{name: "unverified_other_country", phone: "+44 1632 960000", want: "+441632960000"},
	}
	tr := newTranslator(t, translate.DefaultMapping())
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tr.Translate(withPhone(seedEvents()["Interaction Deassigned"], tt.phone))
			if err != nil {
				t.Fatalf("Translate: %v", err)
			}
			if len(got.Traits.Phones) != 1 {
				t.Fatalf("traits.phones = %v, want one number", got.Traits.Phones)
			}
			if _, ok := got.Traits.Phones[tt.want]; !ok {
				t.Errorf("traits.phones = %v, want %s", got.Traits.Phones, tt.want)
			}
		})
	}
}

func TestTranslate_nil_event_is_an_error_not_a_skip(t *testing.T) {
	_, err := newTranslator(t, translate.DefaultMapping()).Translate(nil)
	if err == nil {
		t.Fatal("Translate(nil) succeeded")
	}
	if _, ok := translate.IsSkip(err); ok {
		t.Errorf("Translate(nil) error %v is a skip", err)
	}
}

func TestIsSkip_rejects_other_errors(t *testing.T) {
	for _, err := range []error{nil, errors.New("boom"), phone.ErrInvalid, &translate.NoPhoneError{Reason: translate.ReasonNoPhone}} {
		if reason, ok := translate.IsSkip(err); ok {
			t.Errorf("IsSkip(%v) = %q, true; want false", err, reason)
		}
	}
}

func TestTranslate_disposition_properties(t *testing.T) {
	tests := []struct {
		name             string
		code             string
		dispositionNames bool
		want             map[string]any
	}{
		{name: "no_code_sets_nothing", code: "", want: map[string]any{}},
		{name: "documented_code_is_a_number", code: "1000", want: map[string]any{"disposition_code": int64(1000)}},
		{name: "documented_code_with_names_adds_the_name", code: "1001", dispositionNames: true,
			want: map[string]any{"disposition_code": int64(1001), "disposition": "Try Again"}},
		{name: "schedule_callback_name", code: "1002", dispositionNames: true,
			want: map[string]any{"disposition_code": int64(1002), "disposition": "Schedule Callback"}},
		{name: "do_not_call_name", code: "2001", dispositionNames: true,
			want: map[string]any{"disposition_code": int64(2001), "disposition": "Do Not Call"}},
		{name: "none_name", code: "1000", dispositionNames: true,
			want: map[string]any{"disposition_code": int64(1000), "disposition": "None"}},
		{name: "undocumented_numeric_code_has_no_name", code: "1234", dispositionNames: true,
			want: map[string]any{"disposition_code": int64(1234)}},
		{name: "surrounding_spaces_are_ignored", code: " 1002 ",
			want: map[string]any{"disposition_code": int64(1002)}},
		{name: "text_code_goes_to_disposition_only", code: "SALE",
			want: map[string]any{"disposition": "SALE"}},
		{name: "text_code_with_names_goes_to_disposition_only", code: "SALE", dispositionNames: true,
			want: map[string]any{"disposition": "SALE"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := translate.DefaultMapping()
			names := tt.dispositionNames
			m.DispositionNames = &names
			ev := interactionEvent("InteractionDeleted", "", 1724686750, func(f *eventv1.InteractionFields) {
				f.CustomerPhone = "+15515557212"
				f.DispositionCode = tt.code
			})
			got, err := newTranslator(t, m).Translate(ev)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got.Properties, tt.want) {
				t.Errorf("properties = %#v, want %#v", got.Properties, tt.want)
			}
		})
	}
}

func TestTranslate_properties_present_only_when_carried(t *testing.T) {
	ev := interactionEvent("InteractionQueued", firstCallID, 1724685483, func(f *eventv1.InteractionFields) {
		f.CustomerPhone = "+15515557212"
		f.QueueId = proto.Int64(0)
		f.CampaignId = proto.Int64(4926)
		f.QueueTime = timestamppb.New(time.Unix(1724685483, 900_000_000))
	})
	got, err := newTranslator(t, translate.DefaultMapping()).Translate(ev)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]any{
		"interaction_id": firstCallID,
		"campaign_id":    int64(4926),
		"queue_id":       int64(0),
		"queue_time":     int64(1724685483),
	}
	if !reflect.DeepEqual(got.Properties, want) {
		t.Errorf("properties = %#v, want %#v", got.Properties, want)
	}
}

func TestTranslate_original_timestamp(t *testing.T) {
	base := interactionEvent("InteractionCreated", firstCallID, 0, func(f *eventv1.InteractionFields) {
		f.CustomerPhone = "+15515557212"
	})
	tests := []struct {
		name       string
		occurredAt *timestamppb.Timestamp
		receivedAt *timestamppb.Timestamp
		want       string
	}{
		{name: "from_occurred_at_in_utc", occurredAt: timestamppb.New(time.Date(2024, 8, 26, 11, 18, 3, 500, time.FixedZone("EDT", -4*3600))),
			receivedAt: timestamp(1), want: "2024-08-26 15:18:03 +00:00"},
		{name: "falls_back_to_received_at", receivedAt: timestamp(1724685483), want: "2024-08-26 15:18:03 +00:00"},
		{name: "omitted_without_either", want: ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ev := proto.Clone(base).(*eventv1.Event)
			ev.OccurredAt, ev.ReceivedAt = tt.occurredAt, tt.receivedAt
			got, err := newTranslator(t, translate.DefaultMapping()).Translate(ev)
			if err != nil {
				t.Fatal(err)
			}
			if got.OriginalTimestamp != tt.want {
				t.Errorf("originalTimestamp = %q, want %q", got.OriginalTimestamp, tt.want)
			}
			if _, present := wireJSON(t, got)["originalTimestamp"]; present != (tt.want != "") {
				t.Errorf("originalTimestamp present = %v, want %v", present, tt.want != "")
			}
		})
	}
}

func TestTranslate_phone_forms_identify_the_same_contact(t *testing.T) {
	base := seedEvents()["Interaction Queued"]
	tr := newTranslator(t, translate.DefaultMapping())
	for _, raw := range []string{"+15515557212", "5515557212", "15515557212", "(551) 555-7212"} {
		t.Run(raw, func(t *testing.T) {
			got, err := tr.Translate(withPhone(base, raw))
			if err != nil {
				t.Fatal(err)
			}
			if _, ok := got.Traits.Phones[customerE164]; !ok || len(got.Traits.Phones) != 1 {
				t.Errorf("traits.phones = %v, want only %s", got.Traits.Phones, customerE164)
			}
		})
	}
}

func TestTranslate_is_safe_for_concurrent_use(t *testing.T) {
	tr := newTranslator(t, translate.DefaultMapping())
	events := seedEvents()
	var wg sync.WaitGroup
	errs := make(chan error, 64*len(events))
	for range 64 {
		for _, ev := range events {
			wg.Go(func() {
				if _, err := tr.Translate(ev); err != nil {
					errs <- err
				}
			})
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

func TestTranslate_repeated_phone_gives_identical_events(t *testing.T) {
	tests := []struct {
		name       string
		phone      string
		wantReason string
	}{
		{name: "national_digits", phone: "5515557212"},
		{name: "e164", phone: "+15515557212"},
		{name: "formatted", phone: "(551) 555-7212"},
		{name: "unverified", phone: "1115557212"},
		{name: "too_short_fails_every_time", phone: "5557212", wantReason: translate.ReasonInvalidPhone},
		{name: "letters_fail_every_time", phone: "anonymous", wantReason: translate.ReasonInvalidPhone},
	}
	tr := newTranslator(t, translate.DefaultMapping())
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ev := withPhone(seedEvents()["Interaction Deassigned"], tt.phone)
			var first map[string]any
			for i := range 3 {
				got, err := tr.Translate(ev)
				if tt.wantReason != "" {
					if reason, ok := translate.IsNoPhone(err); !ok || reason != tt.wantReason {
						t.Fatalf("translation %d: err %v, want no phone %q", i+1, err, tt.wantReason)
					}
					continue
				}
				if err != nil {
					t.Fatalf("translation %d: %v", i+1, err)
				}
				wire := wireJSON(t, got)
				if first == nil {
					first = wire
				} else if !reflect.DeepEqual(wire, first) {
					t.Fatalf("translation %d differs:\n got %v\nwant %v", i+1, wire, first)
				}
			}
		})
	}
}
