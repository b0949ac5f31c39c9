package service

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"
)

// NewLogger logs one JSON object per line; LOG_LEVEL picks the level (debug, info, warn, error).
// Records logged with a request's context carry its trace_id and span_id.
func NewLogger(w io.Writer) *slog.Logger {
	var level slog.Level
	if err := level.UnmarshalText([]byte(os.Getenv("LOG_LEVEL"))); err != nil {
		level = slog.LevelInfo
	}
	return slog.New(traceHandler{slog.NewJSONHandler(w, &slog.HandlerOptions{Level: level})})
}

type traceHandler struct{ slog.Handler }

func (h traceHandler) Handle(ctx context.Context, r slog.Record) error {
	if span := SpanFromContext(ctx); span != nil {
		r.AddAttrs(slog.String("trace_id", span.TraceID), slog.String("span_id", span.SpanID))
	}
	return h.Handler.Handle(ctx, r)
}

func (h traceHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return traceHandler{h.Handler.WithAttrs(attrs)}
}

func (h traceHandler) WithGroup(name string) slog.Handler {
	return traceHandler{h.Handler.WithGroup(name)}
}

// OpenTelemetry tracing with the standard library only: W3C trace context in and out, spans
// exported in batches as OTLP/HTTP JSON to $OTEL_EXPORTER_OTLP_ENDPOINT/v1/traces (or
// $OTEL_EXPORTER_OTLP_TRACES_ENDPOINT). With neither set, no span is recorded. Teams that need
// more (metrics over OTLP, sampling, other propagators) swap in go.opentelemetry.io/otel.

// Span is one recorded operation.
type Span struct {
	TraceID, SpanID, ParentID string
	Name                      string
	Start, End                time.Time
	Attributes                map[string]any
	Error                     bool
}

type spanKey struct{}

// SpanFromContext returns the span of a request, or nil when tracing is off.
func SpanFromContext(ctx context.Context) *Span {
	span, _ := ctx.Value(spanKey{}).(*Span)
	return span
}

// Tracer records spans and hands them to its exporter.
type Tracer struct {
	service  string
	endpoint string
	client   *http.Client
	mu       sync.Mutex
	pending  []*Span
	done     chan struct{}
	stopped  sync.WaitGroup
}

func tracesEndpoint() string {
	if v := strings.TrimSpace(os.Getenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")); v != "" {
		return v
	}
	if v := strings.TrimSpace(os.Getenv("OTEL_EXPORTER_OTLP_ENDPOINT")); v != "" {
		return strings.TrimRight(v, "/") + "/v1/traces"
	}
	return ""
}

// NewTracerFromEnv returns nil (tracing off) unless an OTLP endpoint is configured.
func NewTracerFromEnv(service string) *Tracer {
	if name := os.Getenv("OTEL_SERVICE_NAME"); name != "" {
		service = name
	}
	endpoint := tracesEndpoint()
	if endpoint == "" {
		return nil
	}
	return NewTracer(service, endpoint, 5*time.Second)
}

// NewTracer exports to endpoint every interval (and on Shutdown).
func NewTracer(service, endpoint string, interval time.Duration) *Tracer {
	t := &Tracer{service: service, endpoint: endpoint, client: &http.Client{Timeout: 10 * time.Second}, done: make(chan struct{})}
	t.stopped.Add(1)
	go func() {
		defer t.stopped.Done()
		ticker := time.NewTicker(interval)
		defer ticker.Stop()
		for {
			select {
			case <-ticker.C:
				t.flush(context.Background())
			case <-t.done:
				return
			}
		}
	}()
	return t
}

// Shutdown stops the background export and sends what is still pending.
func (t *Tracer) Shutdown(ctx context.Context) error {
	if t == nil {
		return nil
	}
	close(t.done)
	t.stopped.Wait()
	return t.flush(ctx)
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// Start opens a span, continuing the trace named by a W3C traceparent header if there is one.
func (t *Tracer) Start(ctx context.Context, name, traceparent string) (context.Context, *Span) {
	span := &Span{TraceID: randomHex(16), SpanID: randomHex(8), Name: name, Start: time.Now(), Attributes: map[string]any{}}
	if parent := SpanFromContext(ctx); parent != nil {
		span.TraceID, span.ParentID = parent.TraceID, parent.SpanID
	} else if parts := strings.Split(traceparent, "-"); len(parts) == 4 && len(parts[1]) == 32 && len(parts[2]) == 16 {
		span.TraceID, span.ParentID = parts[1], parts[2]
	}
	return context.WithValue(ctx, spanKey{}, span), span
}

// End closes the span and queues it for export (at most 10000 are kept between exports).
func (t *Tracer) End(span *Span) {
	span.End = time.Now()
	t.mu.Lock()
	if len(t.pending) < 10000 {
		t.pending = append(t.pending, span)
	}
	t.mu.Unlock()
}

func attribute(key string, value any) map[string]any {
	var v map[string]any
	switch x := value.(type) {
	case int:
		v = map[string]any{"intValue": strconv.Itoa(x)}
	case bool:
		v = map[string]any{"boolValue": x}
	default:
		v = map[string]any{"stringValue": toString(x)}
	}
	return map[string]any{"key": key, "value": v}
}

func toString(v any) string {
	if s, ok := v.(string); ok {
		return s
	}
	b, _ := json.Marshal(v)
	return string(b)
}

func (t *Tracer) flush(ctx context.Context) error {
	t.mu.Lock()
	spans := t.pending
	t.pending = nil
	t.mu.Unlock()
	if len(spans) == 0 {
		return nil
	}
	encoded := make([]map[string]any, 0, len(spans))
	for _, s := range spans {
		attrs := []map[string]any{}
		for k, v := range s.Attributes {
			attrs = append(attrs, attribute(k, v))
		}
		span := map[string]any{
			"traceId": s.TraceID, "spanId": s.SpanID, "name": s.Name, "kind": 2,
			"startTimeUnixNano": strconv.FormatInt(s.Start.UnixNano(), 10),
			"endTimeUnixNano":   strconv.FormatInt(s.End.UnixNano(), 10),
			"attributes":        attrs,
		}
		if s.ParentID != "" {
			span["parentSpanId"] = s.ParentID
		}
		if s.Error {
			span["status"] = map[string]any{"code": 2}
		}
		encoded = append(encoded, span)
	}
	body, err := json.Marshal(map[string]any{"resourceSpans": []any{map[string]any{
		"resource":   map[string]any{"attributes": []any{attribute("service.name", t.service)}},
		"scopeSpans": []any{map[string]any{"scope": map[string]any{"name": t.service}, "spans": encoded}},
	}}})
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, t.endpoint, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := t.client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	return nil
}
