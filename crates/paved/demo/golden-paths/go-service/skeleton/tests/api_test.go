// Package tests drives the service's handler through net/http/httptest.
package tests

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"

	"${{ values.destination.host }}/${{ values.destination.owner }}/${{ values.destination.repo }}/src/service"
)

func newServer(t *testing.T, ready bool) (*httptest.Server, *service.Service) {
	t.Helper()
	svc := service.New(slog.New(slog.NewJSONHandler(io.Discard, nil)), nil)
	svc.SetReady(ready)
	server := httptest.NewServer(svc.Handler())
	t.Cleanup(server.Close)
	return server, svc
}

func call(t *testing.T, server *httptest.Server, method, path, body string) (*http.Response, map[string]any, string) {
	t.Helper()
	req, err := http.NewRequest(method, server.URL+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var decoded map[string]any
	_ = json.Unmarshal(raw, &decoded)
	return resp, decoded, string(raw)
}

func errorCode(body map[string]any) string {
	e, _ := body["error"].(map[string]any)
	code, _ := e["code"].(string)
	return code
}

func TestLivenessAndReadiness(t *testing.T) {
	server, svc := newServer(t, false)
	resp, body, _ := call(t, server, "GET", "/healthz/live", "")
	if resp.StatusCode != 200 || body["status"] != "ok" {
		t.Fatalf("live: %d %v", resp.StatusCode, body)
	}
	resp, body, _ = call(t, server, "GET", "/healthz/ready", "")
	if resp.StatusCode != 503 || errorCode(body) != "not_ready" {
		t.Fatalf("ready before start: %d %v", resp.StatusCode, body)
	}
	svc.SetReady(true)
	if resp, _, _ = call(t, server, "GET", "/healthz/ready", ""); resp.StatusCode != 200 {
		t.Fatalf("ready: %d", resp.StatusCode)
	}
}

func TestItemsAreCreatedAndReadBack(t *testing.T) {
	server, _ := newServer(t, true)
	resp, created, raw := call(t, server, "POST", "/v1/items", `{"name":" bolts ","quantity":12}`)
	if resp.StatusCode != 201 {
		t.Fatalf("create: %d %s", resp.StatusCode, raw)
	}
	if got := resp.Header.Get("X-Content-Type-Options"); got != "nosniff" {
		t.Fatalf("X-Content-Type-Options = %q", got)
	}
	want := map[string]any{"id": 1.0, "name": "bolts", "quantity": 12.0}
	if !reflect.DeepEqual(created, want) {
		t.Fatalf("created %v, want %v", created, want)
	}
	if _, got, _ := call(t, server, "GET", "/v1/items/1", ""); !reflect.DeepEqual(got, want) {
		t.Fatalf("read back %v", got)
	}
	if _, got, _ := call(t, server, "GET", "/v1/items", ""); !reflect.DeepEqual(got, map[string]any{"items": []any{want}}) {
		t.Fatalf("list %v", got)
	}
	resp, body, _ := call(t, server, "GET", "/v1/items/7", "")
	if resp.StatusCode != 404 || errorCode(body) != "not_found" {
		t.Fatalf("missing item: %d %v", resp.StatusCode, body)
	}
}

func TestInvalidBodiesGetJSONErrorsNamingTheField(t *testing.T) {
	server, _ := newServer(t, true)
	resp, body, _ := call(t, server, "POST", "/v1/items", `{"name":"","quantity":-1}`)
	if resp.StatusCode != 400 || errorCode(body) != "validation_failed" {
		t.Fatalf("invalid item: %d %v", resp.StatusCode, body)
	}
	details := body["error"].(map[string]any)["details"].([]any)
	var fields []string
	for _, d := range details {
		fields = append(fields, d.(map[string]any)["field"].(string))
	}
	if !reflect.DeepEqual(fields, []string{"name", "quantity"}) {
		t.Fatalf("fields %v", fields)
	}
	if resp, body, _ = call(t, server, "POST", "/v1/items", `{not json`); resp.StatusCode != 400 || errorCode(body) != "bad_request" {
		t.Fatalf("bad JSON: %d %v", resp.StatusCode, body)
	}
	if resp, body, _ = call(t, server, "GET", "/v1/items/zero", ""); resp.StatusCode != 400 || errorCode(body) != "validation_failed" {
		t.Fatalf("bad id: %d %v", resp.StatusCode, body)
	}
	if resp, body, _ = call(t, server, "GET", "/nowhere", ""); resp.StatusCode != 404 || errorCode(body) != "not_found" {
		t.Fatalf("unknown route: %d %v", resp.StatusCode, body)
	}
}

func TestMetricsAndOpenAPIAreServed(t *testing.T) {
	server, _ := newServer(t, true)
	call(t, server, "GET", "/healthz/live", "")
	_, _, metrics := call(t, server, "GET", "/metrics", "")
	if !strings.Contains(metrics, `http_requests_total{method="GET",route="/healthz/live",status="200"} 1`) {
		t.Fatalf("metrics:\n%s", metrics)
	}
	resp, _, doc := call(t, server, "GET", "/openapi.yaml", "")
	if resp.Header.Get("Content-Type") != "application/yaml" || !strings.HasPrefix(doc, "openapi: 3.0.3") {
		t.Fatalf("openapi: %s %.40s", resp.Header.Get("Content-Type"), doc)
	}
}

func TestSpansAreExportedAsOTLPJSON(t *testing.T) {
	received := make(chan map[string]any, 1)
	collector := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var body map[string]any
		if r.URL.Path == "/v1/traces" && r.Header.Get("Content-Type") == "application/json" {
			_ = json.NewDecoder(r.Body).Decode(&body)
			received <- body
		}
	}))
	defer collector.Close()
	t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", collector.URL)
	tracer := service.NewTracerFromEnv("stock-test")
	svc := service.New(slog.New(slog.NewJSONHandler(io.Discard, nil)), tracer)
	server := httptest.NewServer(svc.Handler())
	defer server.Close()
	req, _ := http.NewRequest("GET", server.URL+"/healthz/live", nil)
	req.Header.Set("traceparent", "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if err := tracer.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	body := <-received
	scope := body["resourceSpans"].([]any)[0].(map[string]any)["scopeSpans"].([]any)[0].(map[string]any)
	span := scope["spans"].([]any)[0].(map[string]any)
	if span["traceId"] != "0af7651916cd43dd8448eb211c80319c" || span["parentSpanId"] != "b7ad6b7169203331" || span["name"] != "GET /healthz/live" {
		t.Fatalf("span %v", span)
	}
}
