// Package deploycheck holds the tests that keep the monitoring files under
// deploy/ honest; it has no code of its own.
//
// The tests check deploy/grafana/ccbridge-dashboard.json:
//   - it is a Grafana dashboard with a Prometheus data source variable
//     (${datasource}) and a tenant variable read from
//     label_values(ccb_collector_events_received_total, tenant);
//   - its rows are Flow, Regal, Problems, SAPI connection and Dispatchers, in
//     that order, each showing the metrics it is meant to show;
//   - every panel has a unique id, a place on the grid that overlaps no other
//     panel, a title, a description (what to do when it looks wrong), the
//     ${datasource} data source and at least one query.
//
// and deploy/prometheus/ccbridge-alerts.yaml:
//   - it is a Prometheus rule file (groups/rules) with no unknown keys;
//   - every rule is an alert with a unique name, an expression, a `for`
//     duration (except the alerts on facts that waiting cannot change, listed
//     in the test), a severity label (critical or warning), and summary,
//     description and runbook annotations whose templates parse and name only
//     labels the alert carries;
//   - every alert the operators rely on is there.
//
// Every PromQL expression, in both files, must have balanced parentheses,
// braces and brackets and well-formed strings, and may use only the metric
// names the bridge exports (the list is in the test, with each metric's
// labels), only those metrics' labels in selectors and groupings, only
// PromQL functions, and, in the dashboard only, only defined variables.
//
// The checks use a small PromQL scanner, not Prometheus's parser, so they
// need no module beyond the standard library and gopkg.in/yaml.v3; when
// promtool is at hand, `promtool check rules
// deploy/prometheus/ccbridge-alerts.yaml` is the full parse.
package deploycheck
