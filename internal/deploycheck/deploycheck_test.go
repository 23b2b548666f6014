package deploycheck

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"text/template"

	"gopkg.in/yaml.v3"
)

var (
	dashboardPath = filepath.Join("..", "..", "deploy", "grafana", "ccbridge-dashboard.json")
	alertsPath    = filepath.Join("..", "..", "deploy", "prometheus", "ccbridge-alerts.yaml")
)

// ---------------------------------------------------------------- dashboard

type datasourceRef struct {
	Type string `json:"type"`
	UID  string `json:"uid"`
}

type gridPos struct {
	H, W, X, Y int
}

type panel struct {
	ID          int            `json:"id"`
	Type        string         `json:"type"`
	Title       string         `json:"title"`
	Description string         `json:"description"`
	Datasource  *datasourceRef `json:"datasource"`
	GridPos     *gridPos       `json:"gridPos"`
	Targets     []target       `json:"targets"`
	Collapsed   bool           `json:"collapsed"`
	Panels      []panel        `json:"panels"` // a collapsed row's panels
}

type target struct {
	RefID      string         `json:"refId"`
	Expr       string         `json:"expr"`
	Datasource *datasourceRef `json:"datasource"`
}

type variable struct {
	Name       string          `json:"name"`
	Type       string          `json:"type"`
	Query      json.RawMessage `json:"query"`
	Datasource *datasourceRef  `json:"datasource"`
}

type dashboard struct {
	Title         string  `json:"title"`
	UID           string  `json:"uid"`
	SchemaVersion int     `json:"schemaVersion"`
	Panels        []panel `json:"panels"`
	Templating    struct {
		List []variable `json:"list"`
	} `json:"templating"`
}

// row is a dashboard row with the panels shown under it.
type row struct {
	title  string
	panels []panel
}

func loadDashboard(t *testing.T) (dashboard, []row) {
	t.Helper()
	raw, err := os.ReadFile(dashboardPath)
	if err != nil {
		t.Fatal(err)
	}
	var d dashboard
	dec := json.NewDecoder(bytes.NewReader(raw))
	if err := dec.Decode(&d); err != nil {
		t.Fatalf("%s: %v", dashboardPath, err)
	}
	var rows []row
	for _, p := range d.Panels {
		if p.Type == "row" {
			rows = append(rows, row{title: p.Title, panels: p.Panels})
			continue
		}
		if len(rows) == 0 {
			t.Errorf("panel %q comes before the first row", p.Title)
			rows = append(rows, row{})
		}
		rows[len(rows)-1].panels = append(rows[len(rows)-1].panels, p)
	}
	return d, rows
}

const (
	datasourceUID = "${datasource}"
	tenantQuery   = "label_values(ccb_collector_events_received_total, tenant)"
)

// grafanaBuiltins are the variables Grafana defines itself.
var grafanaBuiltins = setOf("__rate_interval", "__interval", "__interval_ms", "__range", "__range_s",
	"__range_ms", "__dashboard", "__from", "__to")

func TestDashboardHeaderAndVariables(t *testing.T) {
	d, _ := loadDashboard(t)
	if d.Title == "" || d.UID == "" {
		t.Errorf("title %q, uid %q: both are needed", d.Title, d.UID)
	}
	if d.SchemaVersion < 36 {
		t.Errorf("schemaVersion %d: want 36 or later (Grafana 9+ data source references)", d.SchemaVersion)
	}
	vars := map[string]variable{}
	for _, v := range d.Templating.List {
		if _, dup := vars[v.Name]; dup {
			t.Errorf("variable %s defined twice", v.Name)
		}
		vars[v.Name] = v
	}
	ds, ok := vars["datasource"]
	if !ok {
		t.Fatal("no datasource variable")
	}
	var dsQuery string
	if ds.Type != "datasource" || json.Unmarshal(ds.Query, &dsQuery) != nil || dsQuery != "prometheus" {
		t.Errorf("datasource variable: type %q, query %s; want a Prometheus data source variable", ds.Type, ds.Query)
	}
	tenant, ok := vars["tenant"]
	if !ok {
		t.Fatal("no tenant variable")
	}
	if tenant.Type != "query" || tenant.Datasource == nil || tenant.Datasource.UID != datasourceUID {
		t.Errorf("tenant variable: type %q, data source %+v; want a query on %s", tenant.Type, tenant.Datasource, datasourceUID)
	}
	// The query is a string in older dashboards and an object in newer ones.
	var query string
	if json.Unmarshal(tenant.Query, &query) != nil {
		var q struct {
			Query string `json:"query"`
		}
		_ = json.Unmarshal(tenant.Query, &q)
		query = q.Query
	}
	if query != tenantQuery {
		t.Errorf("tenant variable query %q, want %q", query, tenantQuery)
	}
}

// rowMetrics are, for each row in order, metrics its panels must show.
var rowMetrics = []struct {
	title   string
	metrics []string
}{
	{"Flow", []string{"ccb_collector_events_received_total", "ccb_collector_events_duplicates_total",
		"ccb_collector_events_admitted_total", "ccb_collector_deliveries_settled_total", "ccb_collector_backlog"}},
	{"Regal", []string{"ccb_regal_responses_total", "ccb_regal_request_duration_seconds_bucket", "ccb_regal_retries_total"}},
	{"Problems", []string{"ccb_collector_dead_letters_total", "ccb_collector_frames_malformed_total",
		"ccb_dispatcher_deliveries_total", "ccb_collector_admit_errors_total"}},
	{"SAPI connection", []string{"ccb_collector_sapi_connected", "ccb_collector_sapi_unauthorized",
		"ccb_collector_sapi_last_event_age_seconds", "ccb_collector_sapi_reconnects_total"}},
	{"Dispatchers", []string{"ccb_collector_dispatchers", "ccb_collector_in_flight", "ccb_dispatcher_deliveries_total"}},
}

func TestDashboardRows(t *testing.T) {
	_, rows := loadDashboard(t)
	var titles, want []string
	for _, r := range rows {
		titles = append(titles, r.title)
	}
	for _, r := range rowMetrics {
		want = append(want, r.title)
	}
	if !slices.Equal(titles, want) {
		t.Fatalf("rows %q, want %q", titles, want)
	}
	for i, r := range rows {
		used := map[string]bool{}
		for _, p := range r.panels {
			for _, tg := range p.Targets {
				info, _ := analyze(tg.Expr)
				for _, m := range info.metrics {
					used[m] = true
				}
			}
		}
		for _, m := range rowMetrics[i].metrics {
			if !used[m] {
				t.Errorf("row %q shows no %s", r.title, m)
			}
		}
	}
}

func TestDashboardPanels(t *testing.T) {
	d, rows := loadDashboard(t)
	vars := map[string]bool{}
	for _, v := range d.Templating.List {
		vars[v.Name] = true
	}
	ids := map[int]string{}
	type placed struct {
		title string
		pos   gridPos
	}
	var layout []placed
	for _, p := range d.Panels {
		if p.Type == "row" {
			if !p.Collapsed && len(p.Panels) > 0 {
				t.Errorf("row %q is open but holds panels of its own", p.Title)
			}
			if p.GridPos != nil {
				layout = append(layout, placed{"row " + p.Title, *p.GridPos})
			}
			if prev, dup := ids[p.ID]; dup {
				t.Errorf("row %q has the id %d of %q", p.Title, p.ID, prev)
			}
			ids[p.ID] = p.Title
		}
	}
	for _, r := range rows {
		if len(r.panels) == 0 {
			t.Errorf("row %q has no panels", r.title)
		}
		for _, p := range r.panels {
			name := fmt.Sprintf("%s / %q", r.title, p.Title)
			if p.Title == "" {
				t.Errorf("%s: panel %d has no title", name, p.ID)
			}
			if len(strings.Fields(p.Description)) < 8 {
				t.Errorf("%s: the description must say what to do when the panel looks wrong", name)
			}
			if prev, dup := ids[p.ID]; dup || p.ID == 0 {
				t.Errorf("%s: id %d is missing or also used by %q", name, p.ID, prev)
			}
			ids[p.ID] = p.Title
			if p.Datasource == nil || p.Datasource.UID != datasourceUID {
				t.Errorf("%s: data source %+v, want uid %s", name, p.Datasource, datasourceUID)
			}
			if g := p.GridPos; g == nil || g.W <= 0 || g.H <= 0 || g.X < 0 || g.X+g.W > 24 {
				t.Errorf("%s: gridPos %+v is not within the 24-column grid", name, p.GridPos)
			} else {
				layout = append(layout, placed{name, *g})
			}
			if len(p.Targets) == 0 {
				t.Errorf("%s: no query", name)
			}
			refIDs := map[string]bool{}
			for _, tg := range p.Targets {
				if tg.RefID == "" || refIDs[tg.RefID] {
					t.Errorf("%s: refId %q is missing or repeated", name, tg.RefID)
				}
				refIDs[tg.RefID] = true
				if tg.Datasource != nil && tg.Datasource.UID != datasourceUID {
					t.Errorf("%s %s: data source %+v, want uid %s", name, tg.RefID, tg.Datasource, datasourceUID)
				}
				info, problems := checkExpr(tg.Expr)
				for _, v := range info.variables {
					if !vars[v] && !grafanaBuiltins[v] {
						problems = append(problems, "undefined variable $"+v)
					}
				}
				for _, pr := range problems {
					t.Errorf("%s %s: %s\n\t%s", name, tg.RefID, pr, tg.Expr)
				}
			}
		}
	}
	for i, a := range layout {
		for _, b := range layout[i+1:] {
			if a.pos.X < b.pos.X+b.pos.W && b.pos.X < a.pos.X+a.pos.W &&
				a.pos.Y < b.pos.Y+b.pos.H && b.pos.Y < a.pos.Y+a.pos.H {
				t.Errorf("%s and %s overlap", a.title, b.title)
			}
		}
	}
}

// ---------------------------------------------------------------- alerts

type ruleFile struct {
	Groups []ruleGroup `yaml:"groups"`
}

type ruleGroup struct {
	Name     string `yaml:"name"`
	Interval string `yaml:"interval"`
	Limit    int    `yaml:"limit"`
	Rules    []rule `yaml:"rules"`
}

type rule struct {
	Alert         string            `yaml:"alert"`
	Record        string            `yaml:"record"`
	Expr          string            `yaml:"expr"`
	For           string            `yaml:"for"`
	KeepFiringFor string            `yaml:"keep_firing_for"`
	Labels        map[string]string `yaml:"labels"`
	Annotations   map[string]string `yaml:"annotations"`
}

func loadAlerts(t *testing.T) ruleFile {
	t.Helper()
	raw, err := os.ReadFile(alertsPath)
	if err != nil {
		t.Fatal(err)
	}
	var f ruleFile
	dec := yaml.NewDecoder(bytes.NewReader(raw))
	dec.KnownFields(true) // Prometheus refuses unknown keys too
	if err := dec.Decode(&f); err != nil {
		t.Fatalf("%s: %v", alertsPath, err)
	}
	if len(f.Groups) == 0 {
		t.Fatalf("%s: no groups", alertsPath)
	}
	return f
}

// requiredAlerts are the alerts operators page on.
var requiredAlerts = []string{
	"CCBridgeSAPIStreamDown",     // connected == 0 for 2m
	"CCBridgeSAPITokenRejected",  // unauthorized == 1
	"CCBridgeSAPISilent",         // last event age > 180 s
	"CCBridgeDeadLetters",        // dead letters increasing
	"CCBridgeRegalUnauthorized",  // Regal 401/403: the key is wrong
	"CCBridgeRegalRejectsEvents", // other Regal 4xx
	"CCBridgeRegal429Ratio",      // > 1 % for 10m
	"CCBridgeRegalServerErrors",  // 5xx ratio high
	"CCBridgeBacklogGrowing",     // for 10m
	"CCBridgeNoDispatcher",       // for 1m
	"CCBridgeMalformedFrames",    // increasing
	"CCBridgeAdmitErrors",        // Redis trouble
	"CCBridgeEventsWithoutPhone", // no usable phone: dead-lettered
	"CCBridgePhonesUnverified",   // many numbers unknown to libphonenumber
	"CCBridgeRegalRateLowered",   // Regal holds the account under the configured rate
	"CCBridgeRegalTenantPaused",  // Regal refuses a tenant's account: its deliveries wait
	"CCBridgeDeadLettersNearBound",
	"CCBridgeDeadLettersTrimmed",
}

// withoutFor are the alerts on facts that waiting cannot change, which
// therefore fire at once.
var withoutFor = map[string]string{
	"CCBridgeSAPITokenRejected":  "8x8 answers 401/403 only to wrong credentials",
	"CCBridgeSAPIPossibleGap":    "the gap has already happened when the counter moves",
	"CCBridgeDeadLetters":        "each dead letter is an event that already failed",
	"CCBridgeMalformedFrames":    "each malformed frame was already skipped",
	"CCBridgeRegalUnauthorized":  "a refused key does not fix itself",
	"CCBridgeRegalRejectsEvents": "each permanent 4xx is an event dead-lettered at once",
	"CCBridgeLeaseLost":          "the tenant's stream has already stopped",
	"CCBridgeEventsWithoutPhone": "each event without a usable phone was already dead-lettered",
	"CCBridgeRegalTenantPaused":  "a refused account does not fix itself; the tenant's events wait",
	"CCBridgeDeadLettersTrimmed": "the dropped letters are already gone",
}

var (
	alertName      = regexp.MustCompile(`^[A-Z][A-Za-z0-9]+$`)
	promDuration   = regexp.MustCompile(`^([0-9]+(ms|s|m|h|d|w|y))+$`)
	severities     = setOf("critical", "warning")
	labelReference = regexp.MustCompile(`\$labels\.([A-Za-z_][A-Za-z0-9_]*)`)
)

// templateDefs are what Prometheus puts before every annotation template.
const templateDefs = "{{$labels := .Labels}}{{$externalLabels := .ExternalLabels}}{{$externalURL := .ExternalURL}}{{$value := .Value}}"

// templateFuncs stand in for Prometheus's template functions.
var templateFuncs = template.FuncMap{
	"humanize": fmt.Sprint, "humanize1024": fmt.Sprint, "humanizeDuration": fmt.Sprint,
	"humanizePercentage": fmt.Sprint, "humanizeTimestamp": fmt.Sprint, "title": strings.ToTitle,
	"toUpper": strings.ToUpper, "toLower": strings.ToLower, "reReplaceAll": regexp.MustCompile(`x`).ReplaceAllString,
}

func TestAlertRules(t *testing.T) {
	f := loadAlerts(t)
	groups := map[string]bool{}
	alerts := map[string]bool{}
	for _, g := range f.Groups {
		if g.Name == "" || groups[g.Name] {
			t.Errorf("group name %q is missing or repeated", g.Name)
		}
		groups[g.Name] = true
		if len(g.Rules) == 0 {
			t.Errorf("group %s has no rules", g.Name)
		}
		for i, r := range g.Rules {
			name := fmt.Sprintf("%s[%d] %s", g.Name, i, r.Alert)
			if r.Record != "" || !alertName.MatchString(r.Alert) {
				t.Errorf("%s: every rule must be an alert with a CamelCase name", name)
			}
			if alerts[r.Alert] {
				t.Errorf("%s: alert defined twice", name)
			}
			alerts[r.Alert] = true

			info, problems := checkExpr(r.Expr)
			for _, v := range info.variables {
				problems = append(problems, "Grafana variable $"+v+" in a Prometheus rule")
			}
			for _, p := range problems {
				t.Errorf("%s: %s\n\t%s", name, p, r.Expr)
			}

			_, noFor := withoutFor[r.Alert]
			switch {
			case r.For == "" && !noFor:
				t.Errorf("%s: no `for` (or add it to withoutFor with the reason)", name)
			case r.For != "" && noFor:
				t.Errorf("%s: has `for: %s` but is listed in withoutFor", name, r.For)
			case r.For != "" && !promDuration.MatchString(r.For):
				t.Errorf("%s: `for: %s` is not a Prometheus duration", name, r.For)
			}

			if !severities[r.Labels["severity"]] {
				t.Errorf("%s: severity %q, want critical or warning", name, r.Labels["severity"])
			}
			for _, key := range []string{"summary", "description", "runbook"} {
				if strings.TrimSpace(r.Annotations[key]) == "" {
					t.Errorf("%s: no %s annotation", name, key)
				}
			}
			checkAnnotations(t, name, r, info)
		}
	}
	for _, a := range requiredAlerts {
		if !alerts[a] {
			t.Errorf("alert %s is missing", a)
		}
	}
	for a := range withoutFor {
		if !alerts[a] {
			t.Errorf("withoutFor names %s, which is not an alert", a)
		}
	}
}

// checkAnnotations parses and renders each annotation as Prometheus would,
// and checks that $labels.X names a label the alert has: one it is grouped
// by (or, without grouping, one of its metrics' labels) or one of the rule's
// own labels.
func checkAnnotations(t *testing.T, name string, r rule, info exprInfo) {
	t.Helper()
	var available []string
	if len(info.grouping) > 0 {
		available = slices.Clone(info.grouping)
	} else {
		available = slices.Clone(commonLabels)
		for _, m := range info.metrics {
			l, _ := metricLabels(m)
			available = append(available, l...)
		}
	}
	for k := range r.Labels {
		available = append(available, k)
	}
	data := map[string]any{
		"Labels": map[string]string{}, "ExternalLabels": map[string]string{}, "ExternalURL": "", "Value": 1.0,
	}
	for key, text := range r.Annotations {
		tmpl, err := template.New(key).Funcs(templateFuncs).Option("missingkey=zero").Parse(templateDefs + text)
		if err != nil {
			t.Errorf("%s: annotation %s: %v", name, key, err)
			continue
		}
		if err := tmpl.Execute(&bytes.Buffer{}, data); err != nil {
			t.Errorf("%s: annotation %s: %v", name, key, err)
		}
		for _, m := range labelReference.FindAllStringSubmatch(text, -1) {
			if !slices.Contains(available, m[1]) {
				t.Errorf("%s: annotation %s uses $labels.%s, which the alert does not carry", name, key, m[1])
			}
		}
	}
}
