package jaegertest

import (
	"encoding/json"
	"fmt"
	"strconv"
	"time"
)

// The JSON model of Jaeger's HTTP query API (/api/traces), as served by
// Jaeger v2's jaeger_query extension.

type apiResponse struct {
	Data   []apiTrace `json:"data"`
	Errors []apiError `json:"errors"`
}

type apiError struct {
	Code    int    `json:"code"`
	Message string `json:"msg"`
}

type apiTrace struct {
	TraceID   string                `json:"traceID"`
	Spans     []apiSpan             `json:"spans"`
	Processes map[string]apiProcess `json:"processes"`
}

type apiSpan struct {
	SpanID        string         `json:"spanID"`
	OperationName string         `json:"operationName"`
	References    []apiReference `json:"references"`
	StartTime     int64          `json:"startTime"` // Unix microseconds
	Duration      int64          `json:"duration"`  // microseconds
	Tags          []apiKeyValue  `json:"tags"`
	ProcessID     string         `json:"processID"`
}

type apiReference struct {
	RefType string `json:"refType"`
	SpanID  string `json:"spanID"`
}

type apiProcess struct {
	ServiceName string        `json:"serviceName"`
	Tags        []apiKeyValue `json:"tags"`
}

type apiKeyValue struct {
	Key   string          `json:"key"`
	Type  string          `json:"type"`
	Value json.RawMessage `json:"value"`
}

// toTrace converts a trace to the package's model.
func (t apiTrace) toTrace() (Trace, error) {
	trace := Trace{TraceID: t.TraceID, Spans: make([]Span, 0, len(t.Spans))}
	for _, s := range t.Spans {
		process := t.Processes[s.ProcessID]
		tags, err := tagMap(s.Tags)
		if err != nil {
			return Trace{}, fmt.Errorf("span %s: %w", s.SpanID, err)
		}
		processTags, err := tagMap(process.Tags)
		if err != nil {
			return Trace{}, fmt.Errorf("process %s: %w", s.ProcessID, err)
		}
		trace.Spans = append(trace.Spans, Span{
			SpanID:        s.SpanID,
			ParentSpanID:  parentSpanID(s.References),
			OperationName: s.OperationName,
			ServiceName:   process.ServiceName,
			Tags:          tags,
			ProcessTags:   processTags,
			StartTime:     time.UnixMicro(s.StartTime),
			Duration:      time.Duration(s.Duration) * time.Microsecond,
		})
	}
	return trace, nil
}

// parentSpanID returns the span id of the CHILD_OF reference, or "".
func parentSpanID(refs []apiReference) string {
	for _, ref := range refs {
		if ref.RefType == "CHILD_OF" {
			return ref.SpanID
		}
	}
	return ""
}

// tagMap converts Jaeger's typed key-values into Go values.
func tagMap(kvs []apiKeyValue) (map[string]any, error) {
	tags := make(map[string]any, len(kvs))
	for _, kv := range kvs {
		value, err := tagValue(kv)
		if err != nil {
			return nil, fmt.Errorf("tag %s: %w", kv.Key, err)
		}
		tags[kv.Key] = value
	}
	return tags, nil
}

// tagValue decodes a value by its Jaeger type: int64 as int64 (exactly),
// float64, bool, and string or binary as string.
func tagValue(kv apiKeyValue) (any, error) {
	switch kv.Type {
	case "int64":
		var n json.Number
		if err := json.Unmarshal(kv.Value, &n); err != nil {
			return nil, err
		}
		return strconv.ParseInt(n.String(), 10, 64)
	case "float64":
		var f float64
		err := json.Unmarshal(kv.Value, &f)
		return f, err
	case "bool":
		var b bool
		err := json.Unmarshal(kv.Value, &b)
		return b, err
	default:
		var s string
		err := json.Unmarshal(kv.Value, &s)
		return s, err
	}
}
