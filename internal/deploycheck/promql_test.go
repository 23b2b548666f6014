package deploycheck

import (
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"
)

// commonLabels are on every series: the scrape target's and the
// OpenTelemetry Prometheus exporter's instrumentation scope.
var commonLabels = []string{"job", "instance", "otel_scope_name", "otel_scope_version", "otel_scope_schema_url"}

// knownMetrics are the series the collector and the dispatchers export, with
// their own labels (commonLabels come on top). Histograms are listed by
// their base name in knownHistograms and expand to _bucket, _sum and _count.
var knownMetrics = map[string][]string{
	// collector
	"ccb_collector_events_received_total":       {"tenant", "event_type"},
	"ccb_collector_events_duplicates_total":     {"tenant"},
	"ccb_collector_frames_malformed_total":      {"tenant", "reason"},
	"ccb_collector_events_admitted_total":       {"tenant"},
	"ccb_collector_admit_errors_total":          nil,
	"ccb_collector_deliveries_settled_total":    {"outcome"},
	"ccb_collector_dead_letters_total":          {"tenant"},
	"ccb_collector_backlog":                     nil,
	"ccb_collector_in_flight":                   {"dispatcher"},
	"ccb_collector_dispatchers":                 nil,
	"ccb_collector_sapi_connected":              {"tenant"},
	"ccb_collector_sapi_unauthorized":           {"tenant"},
	"ccb_collector_sapi_reconnects_total":       {"tenant"},
	"ccb_collector_sapi_last_event_age_seconds": {"tenant"},
	"ccb_collector_sapi_stalls_total":           {"tenant"},
	"ccb_collector_sapi_possible_gaps_total":    {"tenant"},
	"ccb_collector_sapi_outage_seconds":         {"tenant"},
	"ccb_collector_timeline_changes_total":      {"result"},
	"ccb_collector_timeline_queued_bytes":       nil,
	"ccb_collector_sapi_stall_timeout_seconds":  {"tenant"},
	"ccb_collector_lease_held":                  {"tenant"},
	"ccb_collector_lease_lost_total":            {"tenant"},
	"ccb_collector_lease_token":                 {"tenant"},
	"ccb_collector_lease_acquired_total":        {"tenant"},
	"ccb_collector_tenants_served":              nil,
	"ccb_collector_dead_letters_trimmed_total":  {"tenant", "bound"},
	"ccb_collector_dead_letters_bound_ratio":    {"tenant", "bound"},
	"ccb_collector_held_interactions":           {"tenant"},
	"ccb_collector_tenant_paused":               {"tenant"},
	// dispatcher
	"ccb_dispatcher_deliveries_total": {"outcome", "reason"},
	"ccb_dispatcher_in_flight":        nil,
	"ccb_regal_responses_total":       {"status_code"},
	"ccb_regal_retries_total":         nil,

	// dispatcher: phone verdicts and the adaptive Regal rate limit
	"ccb_dispatcher_phones_total":             {"tenant", "verdict"},
	"ccb_dispatcher_regal_rate_limit":         {"tenant"},
	"ccb_dispatcher_regal_rate_limit_ceiling": {"tenant"},
	"ccb_dispatcher_tenant_paused":            {"tenant", "reason"},

	// dispatcher: the collectors it subscribes to
	"ccb_dispatcher_collector_streams":      {"state"},
	"ccb_dispatcher_discovery_errors_total": nil,
}

var knownHistograms = map[string][]string{
	"ccb_collector_event_wait_seconds":   {"stage"},
	"ccb_dispatcher_event_age_seconds":   {"redelivery"},
	"ccb_regal_request_duration_seconds": {"status_code"},
	// otelhttp, around each Regal request
	"http_client_request_duration_seconds": {
		"http_request_method", "http_response_status_code", "error_type", "network_protocol_name",
		"network_protocol_version", "server_address", "server_port", "url_scheme",
	},
}

// metricLabels returns the labels a known metric may carry, and whether the
// metric is known.
func metricLabels(name string) ([]string, bool) {
	if l, ok := knownMetrics[name]; ok {
		return append(slices.Clone(commonLabels), l...), true
	}
	for base, l := range knownHistograms {
		switch name {
		case base + "_bucket":
			return append(append(slices.Clone(commonLabels), l...), "le"), true
		case base + "_sum", base + "_count":
			return append(slices.Clone(commonLabels), l...), true
		}
	}
	return nil, false
}

// promqlFunctions are PromQL's functions and aggregation operators.
var promqlFunctions = setOf(
	// aggregations
	"sum", "min", "max", "avg", "group", "stddev", "stdvar", "count", "count_values", "bottomk", "topk", "quantile",
	// functions
	"abs", "absent", "absent_over_time", "acos", "acosh", "asin", "asinh", "atan", "atanh", "avg_over_time",
	"ceil", "changes", "clamp", "clamp_max", "clamp_min", "cos", "cosh", "count_over_time", "day_of_month",
	"day_of_week", "day_of_year", "days_in_month", "deg", "delta", "deriv", "end", "exp", "floor",
	"histogram_count", "histogram_fraction", "histogram_quantile", "histogram_sum", "holt_winters", "hour",
	"idelta", "increase", "irate", "label_join", "label_replace", "last_over_time", "ln", "log10", "log2",
	"mad_over_time", "max_over_time", "min_over_time", "minute", "month", "pi", "predict_linear",
	"present_over_time", "quantile_over_time", "rad", "rate", "resets", "round", "scalar", "sgn", "sin", "sinh",
	"sort", "sort_desc", "sqrt", "start", "stddev_over_time", "stdvar_over_time", "sum_over_time", "tan", "tanh",
	"time", "timestamp", "vector", "year",
)

// aggregations may be followed by by/without before their parentheses.
var aggregations = setOf("sum", "min", "max", "avg", "group", "stddev", "stdvar", "count", "count_values",
	"bottomk", "topk", "quantile")

// groupingKeywords take a parenthesized list of label names.
var groupingKeywords = setOf("by", "without", "on", "ignoring", "group_left", "group_right")

// keywords are PromQL's other reserved words.
var keywords = setOf("and", "or", "unless", "bool", "offset", "atan2", "inf", "nan")

func setOf(words ...string) map[string]bool {
	m := make(map[string]bool, len(words))
	for _, w := range words {
		m[w] = true
	}
	return m
}

type tokenKind int

const (
	tokIdent tokenKind = iota
	tokNumber
	tokString
	tokVariable // a Grafana variable: $name or ${name}
	tokPunct
)

type token struct {
	kind tokenKind
	text string // for tokString, the contents; for tokVariable, the name
	pos  int
}

var twoCharOps = []string{"==", "!=", ">=", "<=", "=~", "!~"}

const oneCharOps = "(){}[],=<>+-*/%^@:"

func isLetter(c byte) bool { return c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') }
func isDigit(c byte) bool  { return c >= '0' && c <= '9' }

// lex splits a PromQL expression (which may hold Grafana variables) into
// tokens.
func lex(s string) ([]token, error) {
	var toks []token
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			i++
		case c == '#':
			for i < len(s) && s[i] != '\n' {
				i++
			}
		case c == '"' || c == '\'' || c == '`':
			j := i + 1
			var b strings.Builder
			for ; j < len(s) && s[j] != c; j++ {
				if s[j] == '\\' && c != '`' && j+1 < len(s) {
					j++
				}
				b.WriteByte(s[j])
			}
			if j >= len(s) {
				return nil, fmt.Errorf("unterminated string at %d", i)
			}
			toks = append(toks, token{tokString, b.String(), i})
			i = j + 1
		case c == '$':
			j := i + 1
			var name string
			if j < len(s) && s[j] == '{' {
				end := strings.IndexByte(s[j:], '}')
				if end < 0 {
					return nil, fmt.Errorf("unterminated variable at %d", i)
				}
				name, _, _ = strings.Cut(s[j+1:j+end], ":")
				j += end + 1
			} else {
				for j < len(s) && (isLetter(s[j]) || isDigit(s[j])) {
					j++
				}
				name = s[i+1 : j]
			}
			if name == "" {
				return nil, fmt.Errorf("empty variable at %d", i)
			}
			toks = append(toks, token{tokVariable, name, i})
			i = j
		case isDigit(c) || (c == '.' && i+1 < len(s) && isDigit(s[i+1])):
			// Numbers and durations: 0.99, 1e-3, 5m, 1h30m.
			j := i
			letters := false
			for j < len(s) {
				d := s[j]
				if isDigit(d) || d == '.' {
					j++
				} else if isLetter(d) {
					letters = letters || (d != 'e' && d != 'E')
					j++
				} else if (d == '+' || d == '-') && !letters && (s[j-1] == 'e' || s[j-1] == 'E') {
					j++
				} else {
					break
				}
			}
			toks = append(toks, token{tokNumber, s[i:j], i})
			i = j
		case isLetter(c):
			j := i
			for j < len(s) && (isLetter(s[j]) || isDigit(s[j]) || s[j] == ':') {
				j++
			}
			toks = append(toks, token{tokIdent, s[i:j], i})
			i = j
		default:
			op := ""
			for _, o := range twoCharOps {
				if strings.HasPrefix(s[i:], o) {
					op = o
					break
				}
			}
			if op == "" && strings.IndexByte(oneCharOps, c) >= 0 {
				op = string(c)
			}
			if op == "" {
				return nil, fmt.Errorf("unexpected character %q at %d", c, i)
			}
			toks = append(toks, token{tokPunct, op, i})
			i += len(op)
		}
	}
	return toks, nil
}

// exprInfo is what the checks need to know about one expression.
type exprInfo struct {
	metrics   []string            // metric names, in order, repeated as used
	matchers  map[string][]string // metric → label names in its selectors
	grouping  []string            // labels in by/without/on/ignoring/group_*
	functions []string
	variables []string // Grafana variables, inside strings too
}

var variableInString = regexp.MustCompile(`\$\{?([A-Za-z0-9_]+)`)

// analyze scans expr: brackets must balance, selectors must name a metric
// and hold only label matchers, grouping lists only label names.
func analyze(expr string) (exprInfo, error) {
	info := exprInfo{matchers: map[string][]string{}}
	toks, err := lex(expr)
	if err != nil {
		return info, err
	}
	if len(toks) == 0 {
		return info, fmt.Errorf("empty expression")
	}
	type frame struct {
		open   string // "(", "{", "[" or "by(" for a grouping list
		metric string // for "{"
	}
	var stack []frame
	top := func() string {
		if len(stack) == 0 {
			return ""
		}
		return stack[len(stack)-1].open
	}
	pop := func(t token, want string) error {
		if top() != want {
			return fmt.Errorf("unbalanced %q at %d", t.text, t.pos)
		}
		stack = stack[:len(stack)-1]
		return nil
	}
	isPunct := func(i int, texts ...string) bool {
		return i < len(toks) && toks[i].kind == tokPunct && slices.Contains(texts, toks[i].text)
	}
	for _, t := range toks {
		switch t.kind {
		case tokVariable:
			info.variables = append(info.variables, t.text)
		case tokString:
			for _, m := range variableInString.FindAllStringSubmatch(t.text, -1) {
				info.variables = append(info.variables, m[1])
			}
		}
	}
	for i := 0; i < len(toks); i++ {
		t := toks[i]
		if t.kind == tokVariable {
			continue
		}
		switch top() {
		case "[": // a range or subquery: durations, variables, ':'
			if t.kind == tokPunct && t.text == "]" {
				stack = stack[:len(stack)-1]
			} else if t.kind == tokPunct && t.text != ":" {
				return info, fmt.Errorf("unexpected %q in a range at %d", t.text, t.pos)
			}
			continue
		case "{":
			switch {
			case t.kind == tokPunct && t.text == "}":
				stack = stack[:len(stack)-1]
			case t.kind == tokIdent && isPunct(i+1, "=", "!=", "=~", "!~"):
				if !(i+2 < len(toks) && toks[i+2].kind == tokString) {
					return info, fmt.Errorf("label %s at %d is not matched against a string", t.text, t.pos)
				}
				m := stack[len(stack)-1].metric
				info.matchers[m] = append(info.matchers[m], t.text)
				i += 2
			case t.kind == tokPunct && t.text == ",":
			default:
				return info, fmt.Errorf("unexpected %q in a selector at %d", t.text, t.pos)
			}
			continue
		case "by(":
			switch {
			case t.kind == tokPunct && t.text == ")":
				stack = stack[:len(stack)-1]
			case t.kind == tokIdent:
				info.grouping = append(info.grouping, t.text)
			case t.kind == tokPunct && t.text == ",":
			default:
				return info, fmt.Errorf("unexpected %q in a label list at %d", t.text, t.pos)
			}
			continue
		}
		if t.kind == tokIdent {
			word := t.text
			switch {
			case groupingKeywords[word]:
				if isPunct(i+1, "(") {
					stack = append(stack, frame{open: "by("})
					i++
				}
			case keywords[strings.ToLower(word)]:
			case aggregations[word] || isPunct(i+1, "("):
				info.functions = append(info.functions, word)
			default:
				info.metrics = append(info.metrics, word)
				if isPunct(i+1, "{") {
					stack = append(stack, frame{open: "{", metric: word})
					i++
				}
			}
			continue
		}
		if t.kind != tokPunct {
			continue
		}
		switch t.text {
		case "(", "[":
			stack = append(stack, frame{open: t.text})
		case "{":
			return info, fmt.Errorf("selector without a metric name at %d", t.pos)
		case ")":
			if err := pop(t, "("); err != nil {
				return info, err
			}
		case "]", "}":
			return info, fmt.Errorf("unbalanced %q at %d", t.text, t.pos)
		}
	}
	if len(stack) > 0 {
		return info, fmt.Errorf("unclosed %q", top())
	}
	return info, nil
}

// checkExpr reports what is wrong with expr: it must scan, use at least one
// metric, and use only known metrics, their labels and PromQL functions.
// It returns the analysis for further checks.
func checkExpr(expr string) (exprInfo, []string) {
	info, err := analyze(expr)
	if err != nil {
		return info, []string{err.Error()}
	}
	var problems []string
	if len(info.metrics) == 0 {
		problems = append(problems, "uses no metric")
	}
	union := slices.Clone(commonLabels)
	for _, m := range info.metrics {
		labels, ok := metricLabels(m)
		if !ok {
			problems = append(problems, fmt.Sprintf("unknown metric %s", m))
			continue
		}
		union = append(union, labels...)
		for _, l := range info.matchers[m] {
			if l != "__name__" && !slices.Contains(labels, l) {
				problems = append(problems, fmt.Sprintf("metric %s has no label %s", m, l))
			}
		}
	}
	for _, l := range info.grouping {
		if !slices.Contains(union, l) {
			problems = append(problems, fmt.Sprintf("grouping label %s is on none of the expression's metrics", l))
		}
	}
	for _, f := range info.functions {
		if !promqlFunctions[f] {
			problems = append(problems, fmt.Sprintf("unknown function %s", f))
		}
	}
	sort.Strings(problems)
	return info, slices.Compact(problems)
}

func TestCheckExprAcceptsValidExpressions(t *testing.T) {
	for _, expr := range []string{
		`sum by (event_type) (rate(ccb_collector_events_received_total{tenant=~"$tenant"}[$__rate_interval]))`,
		`histogram_quantile(0.99, sum by (le) (rate(ccb_regal_request_duration_seconds_bucket[5m])))`,
		`(sum(rate(ccb_regal_responses_total{status_code="429"}[5m])) or vector(0)) / sum(rate(ccb_regal_responses_total[5m])) > 1e-2`,
		`sum(ccb_collector_dead_letters_total) by (tenant)`,
		"max by (job, instance) (deriv(ccb_collector_backlog[10m:1m])) > 0\n# a comment\nand ccb_collector_backlog offset 1h30m > 500",
		`ccb_collector_dead_letters_total unless ccb_collector_dead_letters_total offset 10m and on (job, instance) ccb_collector_backlog`,
		`ccb_regal_responses_total / ignoring(status_code) group_left sum without (status_code) (ccb_regal_responses_total)`,
		`absent(ccb_collector_backlog)`,
	} {
		if _, problems := checkExpr(expr); len(problems) > 0 {
			t.Errorf("%s: %v", expr, problems)
		}
	}
}

func TestCheckExprRejectsBadExpressions(t *testing.T) {
	for expr, want := range map[string]string{
		`sum(rate(ccb_collector_backlog[5m])`:                         "unclosed",
		`sum(rate(ccb_collector_backlog[5m])))`:                       "unbalanced",
		`rate(ccb_collector_backlog[5m)`:                              "unexpected",
		`ccb_collector_backlog{tenant="a"`:                            "unclosed",
		`ccb_collector_backlog}`:                                      "unbalanced",
		`ccb_collector_sapi_connected{tenant="a}`:                     "unterminated string",
		`rate(ccb_collector_events_recieved_total[5m])`:               "unknown metric ccb_collector_events_recieved_total",
		`ccb_regal_request_duration_seconds`:                          "unknown metric ccb_regal_request_duration_seconds",
		`sum(ccb_collector_backlog{tenant=~"$tenant"})`:               "metric ccb_collector_backlog has no label tenant",
		`sum by (tenant) (ccb_regal_retries_total)`:                   "grouping label tenant is on none",
		`rat(ccb_regal_retries_total[5m])`:                            "unknown function rat",
		`{__name__="ccb_collector_backlog"}`:                          "selector without a metric name",
		`vector(1)`:                                                   "uses no metric",
		`ccb_collector_backlog ; 1`:                                   "unexpected character",
		`sum by (tenant (ccb_collector_sapi_connected)`:               "unexpected",
		`ccb_collector_sapi_connected{tenant=~$tenant}`:               "not matched against a string",
		`histogram_quantile(0.5, ccb_regal_request_duration_seconds)`: "unknown metric",
	} {
		_, problems := checkExpr(expr)
		if !slices.ContainsFunc(problems, func(p string) bool { return strings.Contains(p, want) }) {
			t.Errorf("%s: got %v, want a problem containing %q", expr, problems, want)
		}
	}
}

func TestAnalyzeFindsVariables(t *testing.T) {
	info, err := analyze(`sum(rate(ccb_collector_dead_letters_total{tenant=~"${tenant:regex}"}[$__rate_interval])) * $factor`)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := info.variables, []string{"tenant", "__rate_interval", "factor"}; !slices.Equal(got, want) {
		t.Errorf("variables = %v, want %v", got, want)
	}
}
