package translate_test

import (
	"os"
	"reflect"
	"strings"
	"testing"

	"github.com/ccbridge/bridge/dispatcher/translate"
)

func TestDefaultMapping_is_regal_8x8_table(t *testing.T) {
	m := translate.DefaultMapping()
	if err := m.Validate(); err != nil {
		t.Fatalf("Validate: %v", err)
	}
	want := []translate.EventMapping{
		{Source: "InteractionCreated", Name: "Interaction Created"},
		{Source: "InteractionQueued", Name: "Interaction Queued"},
		{Source: "InteractionAssigned", Name: "Interaction Assigned"},
		{Source: "InteractionDeassigned", Name: "Interaction Deassigned"},
		{Source: "InteractionAccepted", Name: "Interaction Accepted"},
		{Source: "InteractionCustomerAccepted", Name: "Interaction Customer Accepted"},
		{Source: "InteractionParticipantChange", Name: "Interaction Participant Change"},
		{Source: "InteractionPostProcess", Name: "Interaction Post Process"},
		{Source: "InteractionDeleted", Name: "Interaction Deleted"},
	}
	if !reflect.DeepEqual(m.Events, want) {
		t.Errorf("events = %v, want %v", m.Events, want)
	}
	if m.EventSource != "8x8" || m.DefaultRegion != "US" || m.DispositionNames == nil || !*m.DispositionNames {
		t.Errorf("event_source, default_region, disposition_names = %q, %q, %v; want 8x8, US, true",
			m.EventSource, m.DefaultRegion, m.DispositionNames)
	}
}

func TestParseMapping_example_file_drives_translation(t *testing.T) {
	data, err := os.ReadFile("testdata/mapping.yaml")
	if err != nil {
		t.Fatal(err)
	}
	m, err := translate.ParseMapping(data)
	if err != nil {
		t.Fatalf("ParseMapping: %v", err)
	}
	tr := newTranslator(t, m)
	seed := seedEvents()
	tests := []struct {
		name       string
		seedName   string
		wantName   string
		wantSkip   bool
		wantExtras map[string]any
	}{
		{name: "created_is_renamed", seedName: "Interaction Created", wantName: "8x8 Interaction Created"},
		{name: "customer_accepted_is_renamed", seedName: "Interaction Customer Accepted", wantName: "8x8 Call Connected"},
		{name: "deleted_is_renamed_with_disposition_name", seedName: "Interaction Deleted", wantName: "8x8 Call Ended",
			wantExtras: map[string]any{"disposition": "Try Again"}},
		{name: "queued_is_not_listed_so_not_sent", seedName: "Interaction Queued", wantSkip: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tr.Translate(seed[tt.seedName])
			if tt.wantSkip {
				if reason, ok := translate.IsSkip(err); !ok || reason != translate.ReasonUnmappedEvent {
					t.Fatalf("Translate error = %v, want skip %q", err, translate.ReasonUnmappedEvent)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got.Name != tt.wantName || got.EventSource != "8x8-contact-center" {
				t.Errorf("name, eventSource = %q, %q; want %q, 8x8-contact-center", got.Name, got.EventSource, tt.wantName)
			}
			for k, v := range tt.wantExtras {
				if got.Properties[k] != v {
					t.Errorf("properties[%q] = %v, want %v", k, got.Properties[k], v)
				}
			}
		})
	}
}

func TestParseMapping_fills_defaults(t *testing.T) {
	m, err := translate.ParseMapping([]byte("events:\n  - {source: InteractionCreated, name: Created}\n"))
	if err != nil {
		t.Fatal(err)
	}
	if m.EventSource != translate.DefaultEventSource || m.DefaultRegion != translate.DefaultRegion {
		t.Errorf("event_source, default_region = %q, %q; want defaults", m.EventSource, m.DefaultRegion)
	}
}

func TestParseMapping_reports_mistakes(t *testing.T) {
	tests := []struct {
		name    string
		yaml    string
		wantErr []string
	}{
		{name: "empty_document", yaml: "", wantErr: []string{"document is empty"}},
		{name: "misspelt_key", yaml: "event:\n  - {source: InteractionCreated, name: Created}\n", wantErr: []string{"field event not found"}},
		{name: "misspelt_event_key", yaml: "events:\n  - {src: InteractionCreated, name: Created}\n", wantErr: []string{"field src not found"}},
		{name: "no_events", yaml: "events: []\n", wantErr: []string{"events is empty"}},
		{name: "empty_name", yaml: "events:\n  - {source: InteractionCreated, name: ''}\n", wantErr: []string{"events[0].name is empty"}},
		{name: "missing_source", yaml: "events:\n  - {name: Created}\n", wantErr: []string{"events[0].source is empty"}},
		{name: "padded_name", yaml: "events:\n  - {source: InteractionCreated, name: 'Created '}\n", wantErr: []string{"events[0].name", "leading or trailing spaces"}},
		{name: "duplicate_source", yaml: "events:\n  - {source: InteractionCreated, name: A}\n  - {source: InteractionCreated, name: B}\n",
			wantErr: []string{`events[1].source "InteractionCreated" is already mapped by events[0]`}},
		{name: "lower_case_region", yaml: "default_region: us\nevents:\n  - {source: InteractionCreated, name: A}\n", wantErr: []string{`default_region "us" is not a supported region code`}},
		{name: "unknown_region", yaml: "default_region: XX\nevents:\n  - {source: InteractionCreated, name: A}\n", wantErr: []string{`default_region "XX"`}},
		{name: "blank_event_source", yaml: "event_source: ' '\nevents:\n  - {source: InteractionCreated, name: A}\n", wantErr: []string{"event_source is empty"}},
		{name: "all_problems_at_once", yaml: "default_region: XX\nevents:\n  - {source: '', name: ''}\n",
			wantErr: []string{"events[0].source is empty", "events[0].name is empty", `default_region "XX"`}},
		{name: "events_not_a_list", yaml: "events: InteractionCreated\n", wantErr: []string{"cannot unmarshal"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := translate.ParseMapping([]byte(tt.yaml))
			if err == nil {
				t.Fatal("ParseMapping succeeded, want an error")
			}
			for _, want := range tt.wantErr {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q does not mention %q", err, want)
				}
			}
		})
	}
}

func TestNew_rejects_invalid_mapping(t *testing.T) {
	if _, err := translate.New(translate.Mapping{}); err == nil {
		t.Error("New(empty mapping) succeeded, want an error")
	}
}
