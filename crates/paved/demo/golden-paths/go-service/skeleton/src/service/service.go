// Package service holds the HTTP API: routes, validation, errors, metrics and security headers.
package service

import (
	"context"
	_ "embed"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"
)

// OpenAPI is the contract of the service, served at /openapi.yaml and registered in the catalog.
//
//go:embed openapi.yaml
var OpenAPI []byte

const maxBody = 64 << 10

var securityHeaders = map[string]string{
	"X-Content-Type-Options":       "nosniff",
	"X-Frame-Options":              "DENY",
	"Referrer-Policy":              "no-referrer",
	"Content-Security-Policy":      "default-src 'none'; frame-ancestors 'none'",
	"Strict-Transport-Security":    "max-age=63072000; includeSubDomains",
	"Cross-Origin-Resource-Policy": "same-origin",
	"Cache-Control":                "no-store",
}

// Item is one stored item.
type Item struct {
	ID       int64  `json:"id"`
	Name     string `json:"name"`
	Quantity int64  `json:"quantity"`
}

// NewItem is the body of POST /v1/items; pointers tell a missing field from a zero one.
type NewItem struct {
	Name     *string `json:"name"`
	Quantity *int64  `json:"quantity"`
}

// Validate returns the trimmed values or the broken rules, by field.
func (n NewItem) Validate() (string, int64, []FieldError) {
	var errs []FieldError
	name := ""
	switch {
	case n.Name == nil:
		errs = append(errs, FieldError{"name", "is required"})
	case strings.TrimSpace(*n.Name) == "":
		errs = append(errs, FieldError{"name", "must not be empty"})
	case utf8.RuneCountInString(strings.TrimSpace(*n.Name)) > 100:
		errs = append(errs, FieldError{"name", "must be at most 100 characters"})
	default:
		name = strings.TrimSpace(*n.Name)
	}
	var quantity int64
	switch {
	case n.Quantity == nil:
		errs = append(errs, FieldError{"quantity", "is required"})
	case *n.Quantity < 0 || *n.Quantity > 1_000_000:
		errs = append(errs, FieldError{"quantity", "must be between 0 and 1000000"})
	default:
		quantity = *n.Quantity
	}
	return name, quantity, errs
}

// Service is the API with its in-memory store and metrics.
type Service struct {
	log     *slog.Logger
	ready   atomic.Bool
	mu      sync.Mutex
	items   []Item
	metrics *metrics
	tracer  *Tracer
}

// New builds a service that is not ready until SetReady(true); tracer may be nil (tracing off).
func New(log *slog.Logger, tracer *Tracer) *Service {
	return &Service{log: log, metrics: newMetrics(), tracer: tracer}
}

// SetReady flips the readiness probe.
func (s *Service) SetReady(ready bool) { s.ready.Store(ready) }

// Handler is the whole HTTP surface with its middleware.
func (s *Service) Handler() http.Handler {
	mux := http.NewServeMux()
	route := func(pattern string, h http.HandlerFunc) {
		mux.Handle(pattern, s.observe(pattern, h))
	}
	route("GET /healthz/live", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	route("GET /healthz/ready", func(w http.ResponseWriter, r *http.Request) {
		if !s.ready.Load() {
			writeError(w, http.StatusServiceUnavailable, "not_ready", "the service is not ready", nil)
			return
		}
		writeJSON(w, http.StatusOK, map[string]string{"status": "ready"})
	})
	route("GET /metrics", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
		s.metrics.write(w)
	})
	route("GET /openapi.yaml", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/yaml")
		_, _ = w.Write(OpenAPI)
	})
	route("GET /v1/items", s.listItems)
	route("POST /v1/items", s.createItem)
	route("GET /v1/items/{id}", s.getItem)
	route("/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, "not_found", "no such route", nil)
	})
	return s.secure(s.recoverer(mux))
}

func (s *Service) secure(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		for k, v := range securityHeaders {
			w.Header().Set(k, v)
		}
		next.ServeHTTP(w, r)
	})
}

func (s *Service) recoverer(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if v := recover(); v != nil {
				s.log.ErrorContext(r.Context(), "panic", "value", v)
				writeError(w, http.StatusInternalServerError, "internal", "internal error", nil)
			}
		}()
		next.ServeHTTP(w, r)
	})
}

type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (r *statusRecorder) WriteHeader(status int) {
	r.status = status
	r.ResponseWriter.WriteHeader(status)
}

func (s *Service) observe(pattern string, next http.HandlerFunc) http.Handler {
	route := pattern
	if _, path, ok := strings.Cut(pattern, " "); ok {
		route = path
	}
	if route == "/" {
		route = "unmatched"
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		started := time.Now()
		rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
		var span *Span
		if s.tracer != nil {
			var ctx context.Context
			ctx, span = s.tracer.Start(r.Context(), r.Method+" "+route, r.Header.Get("traceparent"))
			r = r.WithContext(ctx)
			span.Attributes["http.request.method"] = r.Method
			span.Attributes["http.route"] = route
		}
		next(rec, r)
		if span != nil {
			span.Attributes["http.response.status_code"] = rec.status
			span.Error = rec.status >= 500
			s.tracer.End(span)
		}
		s.metrics.observe(r.Method, route, strconv.Itoa(rec.status), time.Since(started))
	})
}

func (s *Service) listItems(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	items := append([]Item{}, s.items...)
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string][]Item{"items": items})
}

func (s *Service) createItem(w http.ResponseWriter, r *http.Request) {
	decoder := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxBody))
	decoder.DisallowUnknownFields()
	var body NewItem
	if err := decoder.Decode(&body); err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			writeError(w, http.StatusRequestEntityTooLarge, "too_large", "the body is larger than 64 KiB", nil)
			return
		}
		writeError(w, http.StatusBadRequest, "bad_request", "the body is not valid JSON: "+err.Error(), nil)
		return
	}
	if _, err := decoder.Token(); !errors.Is(err, io.EOF) {
		writeError(w, http.StatusBadRequest, "bad_request", "the body holds more than one JSON value", nil)
		return
	}
	name, quantity, errs := body.Validate()
	if len(errs) > 0 {
		writeError(w, http.StatusBadRequest, "validation_failed", "the request breaks one or more rules", errs)
		return
	}
	s.mu.Lock()
	item := Item{ID: int64(len(s.items) + 1), Name: name, Quantity: quantity}
	s.items = append(s.items, item)
	s.mu.Unlock()
	s.log.InfoContext(r.Context(), "item created", "id", item.ID)
	writeJSON(w, http.StatusCreated, item)
}

func (s *Service) getItem(w http.ResponseWriter, r *http.Request) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id < 1 {
		writeError(w, http.StatusBadRequest, "validation_failed", "the request breaks one or more rules",
			[]FieldError{{"id", "must be a positive integer"}})
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, item := range s.items {
		if item.ID == id {
			writeJSON(w, http.StatusOK, item)
			return
		}
	}
	writeError(w, http.StatusNotFound, "not_found", "item "+strconv.FormatInt(id, 10)+" does not exist", nil)
}
