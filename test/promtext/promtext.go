// Package promtext reads the Prometheus text format the services serve on
// /metrics, for tests and the bench that compare counters.
package promtext

import (
	"bufio"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"
)

// Parse reads a Prometheus text page into "name{labels}" → value; comment
// lines and values that are not numbers are skipped.
func Parse(r io.Reader) (map[string]float64, error) {
	out := map[string]float64{}
	sc := bufio.NewScanner(r)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || line[0] == '#' {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		if i < 0 {
			continue
		}
		if v, err := strconv.ParseFloat(line[i+1:], 64); err == nil {
			out[line[:i]] = v
		}
	}
	return out, sc.Err()
}

// Sum adds the series of metric name whose labels contain every given
// pair (written as `key="value"`).
func Sum(m map[string]float64, name string, labels ...string) float64 {
	var total float64
	for series, v := range m {
		if series != name && !strings.HasPrefix(series, name+"{") {
			continue
		}
		ok := true
		for _, l := range labels {
			ok = ok && strings.Contains(series, l)
		}
		if ok {
			total += v
		}
	}
	return total
}

// Quantile estimates the q-quantile (0 < q < 1) of histogram name from the
// buckets of every series whose labels contain the given pairs (series of
// several processes add up), interpolating linearly inside the bucket
// that holds it, as Prometheus's histogram_quantile does. ok is false when
// the histogram holds no observation; a quantile in the +Inf bucket is the
// highest finite bound.
func Quantile(m map[string]float64, name string, q float64, labels ...string) (value float64, ok bool) {
	counts := map[float64]float64{} // upper bound → cumulative count
	prefix := name + "_bucket{"
	for series, v := range m {
		if !strings.HasPrefix(series, prefix) {
			continue
		}
		match := true
		for _, l := range labels {
			match = match && strings.Contains(series, l)
		}
		le, found := labelValue(series, "le")
		if !match || !found {
			continue
		}
		bound, err := strconv.ParseFloat(le, 64)
		if err != nil {
			continue
		}
		counts[bound] += v
	}
	bounds := make([]float64, 0, len(counts))
	for b := range counts {
		bounds = append(bounds, b)
	}
	slices.Sort(bounds)
	if len(bounds) == 0 || counts[bounds[len(bounds)-1]] == 0 {
		return 0, false
	}
	rank := q * counts[bounds[len(bounds)-1]]
	lower, below := 0.0, 0.0
	for _, b := range bounds {
		c := counts[b]
		if c >= rank {
			if math.IsInf(b, 1) {
				return lower, true
			}
			if c == below {
				return b, true
			}
			return lower + (b-lower)*(rank-below)/(c-below), true
		}
		lower, below = b, c
	}
	return lower, true
}

// labelValue is the value of label key in a series written
// `name{a="x",key="value"}`.
func labelValue(series, key string) (string, bool) {
	i := strings.Index(series, "{"+key+`="`)
	if i < 0 {
		i = strings.Index(series, ","+key+`="`)
	}
	if i < 0 {
		return "", false
	}
	rest := series[i+len(key)+3:]
	end := strings.IndexByte(rest, '"')
	if end < 0 {
		return "", false
	}
	return rest[:end], true
}
