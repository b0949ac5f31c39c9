package service

import (
	"fmt"
	"io"
	"sort"
	"strings"
	"sync"
	"time"
)

// Prometheus metrics with the standard library only: request count and duration by method,
// route and status, written in the text exposition format.

var buckets = []float64{0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10}

type series struct {
	count   uint64
	sum     float64
	buckets []uint64
}

type metrics struct {
	mu     sync.Mutex
	series map[[3]string]*series
}

func newMetrics() *metrics { return &metrics{series: map[[3]string]*series{}} }

func (m *metrics) observe(method, route, status string, elapsed time.Duration) {
	key := [3]string{method, route, status}
	m.mu.Lock()
	defer m.mu.Unlock()
	s := m.series[key]
	if s == nil {
		s = &series{buckets: make([]uint64, len(buckets))}
		m.series[key] = s
	}
	seconds := elapsed.Seconds()
	s.count++
	s.sum += seconds
	for i, bound := range buckets {
		if seconds <= bound {
			s.buckets[i]++
		}
	}
}

func labelValue(v string) string {
	return strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`).Replace(v)
}

func (m *metrics) write(w io.Writer) {
	m.mu.Lock()
	defer m.mu.Unlock()
	keys := make([][3]string, 0, len(m.series))
	for k := range m.series {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool { return strings.Join(keys[i][:], " ") < strings.Join(keys[j][:], " ") })
	// Each label set is written with its braces: `{method="GET",route="/x",status="200"`.
	labels := func(k [3]string) string {
		return "{" + `method="` + labelValue(k[0]) + `",route="` + labelValue(k[1]) + `",status="` + labelValue(k[2]) + `"`
	}
	fmt.Fprintln(w, "# HELP http_requests_total HTTP requests served.")
	fmt.Fprintln(w, "# TYPE http_requests_total counter")
	for _, k := range keys {
		fmt.Fprintf(w, "http_requests_total%s} %d\n", labels(k), m.series[k].count)
	}
	fmt.Fprintln(w, "# HELP http_request_duration_seconds HTTP request durations.")
	fmt.Fprintln(w, "# TYPE http_request_duration_seconds histogram")
	for _, k := range keys {
		s := m.series[k]
		for i, bound := range buckets {
			fmt.Fprintf(w, "http_request_duration_seconds_bucket%s,le=\"%g\"} %d\n", labels(k), bound, s.buckets[i])
		}
		fmt.Fprintf(w, "http_request_duration_seconds_bucket%s,le=\"+Inf\"} %d\n", labels(k), s.count)
		fmt.Fprintf(w, "http_request_duration_seconds_sum%s} %g\n", labels(k), s.sum)
		fmt.Fprintf(w, "http_request_duration_seconds_count%s} %d\n", labels(k), s.count)
	}
}
