package regal_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/ccbridge/bridge/dispatcher/regal"
	"github.com/ccbridge/bridge/doubles/regaldouble"
	"github.com/ccbridge/bridge/internal/secret"
)

// TestClassify sends one event to the Regal double answering each status
// (real HTTP, one attempt per Send) and checks what the answer means for
// the event and its tenant.
func TestClassify(t *testing.T) {
	type verdict = regal.Verdict
	var (
		delivered   = verdict{Outcome: regal.OutcomeDelivered, Class: regal.ClassDelivered}
		budget      = verdict{Outcome: regal.OutcomeRetryLater, Class: regal.ClassBudgetSpent}
		unexplained = verdict{Outcome: regal.OutcomeRetryLater, Class: regal.ClassUnexplained}
		pause       = func(reason string) verdict { return verdict{Outcome: regal.OutcomePauseTenant, Class: reason} }
		dead        = func(class string) verdict { return verdict{Outcome: regal.OutcomeDeadLetter, Class: class} }
	)
	tests := []struct {
		name  string
		fault *regaldouble.Fault // nil: the double's normal answer
		key   string             // "" is the double's key
		want  verdict
	}{
		{name: "200_delivered", want: delivered},
		{name: "400_naming_the_event_dead_letters_it",
			fault: &regaldouble.Fault{Status: 400, Message: "traits.phones: +1555 is not a phone number"}, want: dead(regal.ClassBadRequest)},
		{name: "400_with_a_json_error_list_dead_letters_it",
			fault: &regaldouble.Fault{Status: 400, Message: `{"errors":[{"field":"name","message":"required"}]}`}, want: dead(regal.ClassBadRequest)},
		{name: "400_with_only_the_status_text_is_retried_later",
			fault: &regaldouble.Fault{Status: 400}, want: unexplained},
		{name: "400_with_a_generic_message_is_retried_later",
			fault: &regaldouble.Fault{Status: 400, Message: "Invalid request."}, want: unexplained},
		{name: "401_wrong_key_pauses_the_tenant", key: "rk_wrong", want: pause(regal.PauseUnauthorized)},
		{name: "401_scripted_pauses_the_tenant", fault: &regaldouble.Fault{Status: 401}, want: pause(regal.PauseUnauthorized)},
		{name: "403_pauses_the_tenant", fault: &regaldouble.Fault{Status: 403}, want: pause(regal.PauseForbidden)},
		{name: "404_wrong_url_pauses_the_tenant", fault: &regaldouble.Fault{Status: 404}, want: pause(regal.PauseEndpoint)},
		{name: "405_wrong_url_pauses_the_tenant", fault: &regaldouble.Fault{Status: 405}, want: pause(regal.PauseEndpoint)},
		{name: "408_is_retried", fault: &regaldouble.Fault{Status: 408}, want: budget},
		{name: "409_undocumented_is_retried_later", fault: &regaldouble.Fault{Status: 409}, want: unexplained},
		{name: "413_dead_letters_the_event", fault: &regaldouble.Fault{Status: 413}, want: dead(regal.ClassTooLarge)},
		{name: "422_dead_letters_the_event", fault: &regaldouble.Fault{Status: 422}, want: dead(regal.ClassUnprocessable)},
		{name: "429_is_retried", fault: &regaldouble.Fault{Status: 429}, want: budget},
		{name: "500_is_retried", fault: &regaldouble.Fault{Status: 500}, want: budget},
		{name: "502_is_retried", fault: &regaldouble.Fault{Status: 502}, want: budget},
		{name: "503_is_retried", fault: &regaldouble.Fault{Status: 503}, want: budget},
		{name: "504_is_retried", fault: &regaldouble.Fault{Status: 504}, want: budget},
		{name: "attempt_timeout_is_retried", fault: &regaldouble.Fault{Delay: 5 * time.Second}, want: budget},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			double := startDouble(t)
			if tt.fault != nil {
				double.SetFaults(*tt.fault)
			}
			cfg := fastConfig(double.URL())
			cfg.MaxAttempts = 1
			cfg.Timeout = 200 * time.Millisecond
			key := testKey
			if tt.key != "" {
				key = secret.Secret(tt.key)
			}
			res := newClient(t, cfg).Send(context.Background(), key, sampleEvent())
			if got := regal.Classify(res); got != tt.want {
				t.Fatalf("Classify(%v) = %+v, want %+v", res.Err, got, tt.want)
			}
		})
	}
}

func TestClassify_network_error_is_retried(t *testing.T) {
	double := startDouble(t)
	url := double.URL()
	if err := double.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	res := newClient(t, fastConfig(url)).Send(context.Background(), testKey, sampleEvent())
	want := regal.Verdict{Outcome: regal.OutcomeRetryLater, Class: regal.ClassBudgetSpent}
	if got := regal.Classify(res); got != want || res.Attempts != 3 {
		t.Fatalf("Classify(%v) = %+v after %d attempts, want %+v after 3", res.Err, got, res.Attempts, want)
	}
}

// TestClassify_single_answers covers answers without the client's retry
// loop: a Result as a caller may build it.
func TestClassify_single_answers(t *testing.T) {
	tests := []struct {
		name string
		res  regal.Result
		want regal.Verdict
	}{
		{"transient_503", regal.Result{Err: &regal.StatusError{Status: 503}}, regal.Verdict{Outcome: regal.OutcomeRetryLater, Class: regal.ClassTransient}},
		{"transient_429", regal.Result{Err: &regal.StatusError{Status: 429, Body: `{"statusCode":429,"message":"Too many requests"}`}}, regal.Verdict{Outcome: regal.OutcomeRetryLater, Class: regal.ClassTransient}},
		{"redirect", regal.Result{Err: &regal.StatusError{Status: http.StatusPermanentRedirect}}, regal.Verdict{Outcome: regal.OutcomePauseTenant, Class: regal.PauseEndpoint}},
		{"400_empty_body", regal.Result{Err: &regal.StatusError{Status: 400}}, regal.Verdict{Outcome: regal.OutcomeRetryLater, Class: regal.ClassUnexplained}},
		{"400_plain_text_detail", regal.Result{Err: &regal.StatusError{Status: 400, Body: "name is required"}}, regal.Verdict{Outcome: regal.OutcomeDeadLetter, Class: regal.ClassBadRequest}},
		{"400_json_null_message", regal.Result{Err: &regal.StatusError{Status: 400, Body: `{"message":null}`}}, regal.Verdict{Outcome: regal.OutcomeRetryLater, Class: regal.ClassUnexplained}},
		{"400_message_and_error", regal.Result{Err: &regal.StatusError{Status: 400, Body: `{"message":"Bad Request","error":"properties.x: expected number"}`}}, regal.Verdict{Outcome: regal.OutcomeDeadLetter, Class: regal.ClassBadRequest}},
		{"stopped", regal.Result{Err: context.Canceled}, regal.Verdict{Outcome: regal.OutcomeRetryLater, Class: regal.ClassStopped}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := regal.Classify(tt.res); got != tt.want {
				t.Fatalf("Classify(%v) = %+v, want %+v", tt.res.Err, got, tt.want)
			}
		})
	}
}
