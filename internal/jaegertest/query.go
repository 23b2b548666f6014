package jaegertest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"time"
)

const (
	// searchLookback is how far back FindTraces searches.
	searchLookback = time.Hour
	// searchLimit is the most traces FindTraces returns.
	searchLimit = 100
)

// ErrTraceNotFound is returned by GetTrace for a trace Jaeger does not hold.
var ErrTraceNotFound = errors.New("jaegertest: trace not found")

// FindTraces returns the traces of the last hour that hold a span of service
// matching every tag of tags, as the UI's search does
// (/api/traces?service=…&tags={json}), whole. Matching is exact, on the
// string form of the value. With Jaeger v2's memory storage every tag must
// match the same span (its own attributes, its scope's or its resource's),
// so tags on different spans do not combine; and "error": "true" matches no
// span whose status is Error (jaegertracing/jaeger#8553): search by an
// attribute such as regal.status_code instead. A service Jaeger has not seen
// gives no traces and no error.
func (j *Jaeger) FindTraces(ctx context.Context, service string, tags map[string]string) ([]Trace, error) {
	tagsJSON, err := json.Marshal(tags)
	if err != nil {
		return nil, err
	}
	now := time.Now()
	query := url.Values{
		"service": {service},
		"tags":    {string(tagsJSON)},
		"start":   {strconv.FormatInt(now.Add(-searchLookback).UnixMicro(), 10)},
		"end":     {strconv.FormatInt(now.Add(time.Minute).UnixMicro(), 10)},
		"limit":   {strconv.Itoa(searchLimit)},
	}
	traces, err := j.get(ctx, "/api/traces?"+query.Encode())
	if errors.Is(err, ErrTraceNotFound) {
		return nil, nil
	}
	return traces, err
}

// GetTrace returns the trace with traceID (32 hex digits), or
// ErrTraceNotFound.
func (j *Jaeger) GetTrace(ctx context.Context, traceID string) (Trace, error) {
	traces, err := j.get(ctx, "/api/traces/"+url.PathEscape(traceID))
	if err != nil {
		return Trace{}, err
	}
	if len(traces) != 1 {
		return Trace{}, fmt.Errorf("jaegertest: GetTrace(%s) returned %d traces", traceID, len(traces))
	}
	return traces[0], nil
}

// WaitForTrace polls FindTraces until done holds for its result (spans reach
// Jaeger in batches, so a trace fills in over time) and returns that result.
// When ctx ends first it returns the last result and an error.
func (j *Jaeger) WaitForTrace(ctx context.Context, service string, tags map[string]string, done func([]Trace) bool) ([]Trace, error) {
	for {
		traces, err := j.FindTraces(ctx, service, tags)
		if err == nil && done(traces) {
			return traces, nil
		}
		select {
		case <-ctx.Done():
			return traces, errors.Join(
				fmt.Errorf("jaegertest: traces of service %q with tags %v never met the condition: %w", service, tags, ctx.Err()),
				err)
		case <-time.After(pollInterval):
		}
	}
}

// get calls the query API at path and converts the traces it returns.
func (j *Jaeger) get(ctx context.Context, path string) ([]Trace, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, j.UIURL()+path, nil)
	if err != nil {
		return nil, err
	}
	resp, err := j.client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode == http.StatusNotFound {
		return nil, ErrTraceNotFound
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("jaegertest: GET %s: %s: %s", path, resp.Status, body)
	}
	var decoded apiResponse
	if err := json.Unmarshal(body, &decoded); err != nil {
		return nil, fmt.Errorf("jaegertest: GET %s: decode: %w", path, err)
	}
	if len(decoded.Errors) > 0 {
		return nil, fmt.Errorf("jaegertest: GET %s: %+v", path, decoded.Errors)
	}
	traces := make([]Trace, 0, len(decoded.Data))
	for _, t := range decoded.Data {
		trace, err := t.toTrace()
		if err != nil {
			return nil, fmt.Errorf("jaegertest: GET %s: %w", path, err)
		}
		traces = append(traces, trace)
	}
	return traces, nil
}
