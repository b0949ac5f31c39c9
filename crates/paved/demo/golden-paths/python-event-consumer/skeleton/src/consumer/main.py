"""The consume loop, with health, readiness and metrics served over HTTP."""
from __future__ import annotations

import json
import logging
import os
import signal
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from opentelemetry import context, trace
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest

from .broker import Broker, Message, broker_from_env
from .handler import InvalidEvent, Ledger, parse
from .telemetry import setup_logging, setup_tracing

log = logging.getLogger("${{ values.name }}")
tracer = trace.get_tracer("${{ values.name }}")
propagator = TraceContextTextMapPropagator()

TOPIC = os.environ.get("TOPIC", "stock-changed")
DEAD_LETTER_TOPIC = os.environ.get("DEAD_LETTER_TOPIC", f"{TOPIC}.dead-letter")
MAX_ATTEMPTS = int(os.environ.get("MAX_ATTEMPTS", "5"))


class Consumer:
    def __init__(self, broker: Broker, ledger: Ledger | None = None, retry_delay: float = 0.5) -> None:
        self.broker = broker
        self.ledger = ledger or Ledger()
        self.retry_delay = retry_delay
        self.stopping = threading.Event()
        self.ready = threading.Event()
        self.last_poll = time.monotonic()
        self.registry = CollectorRegistry()
        self.handled = Counter("events_handled", "Events handled, by outcome", ["outcome"],
                               registry=self.registry)
        self.duration = Histogram("event_handling_seconds", "Time to handle one event",
                                  registry=self.registry)

    def handle(self, message: Message) -> str:
        """Handles one message and acknowledges it; returns the outcome."""
        parent = propagator.extract(message.headers)
        token = context.attach(parent)
        started = time.perf_counter()
        try:
            with tracer.start_as_current_span("consume " + message.topic, kind=trace.SpanKind.CONSUMER) as span:
                span.set_attribute("messaging.destination.name", message.topic)
                outcome = self._handle(message)
                span.set_attribute("app.outcome", outcome)
        finally:
            context.detach(token)
        self.duration.observe(time.perf_counter() - started)
        self.handled.labels(outcome).inc()
        self.broker.ack(message)
        return outcome

    def _handle(self, message: Message) -> str:
        try:
            event = parse(message.value)
        except InvalidEvent as e:
            log.warning("invalid event, dead-lettered",
                        extra={"fields": {"offset": message.offset, "errors": e.errors}})
            headers = dict(message.headers, error=json.dumps(e.errors))
            self.broker.publish(DEAD_LETTER_TOPIC, message.value, headers)
            return "dead_lettered"
        for attempt in range(1, MAX_ATTEMPTS + 1):
            try:
                applied = self.ledger.apply(event)
                log.info("event handled", extra={"fields": {"id": event.event_id, "applied": applied}})
                return "applied" if applied else "duplicate"
            except Exception:  # transient failures are retried, then dead-lettered
                log.exception("event failed", extra={"fields": {"id": event.event_id, "attempt": attempt}})
                if attempt < MAX_ATTEMPTS:
                    time.sleep(self.retry_delay * 2 ** (attempt - 1))
        self.broker.publish(DEAD_LETTER_TOPIC, message.value, dict(message.headers, error="retries exhausted"))
        return "dead_lettered"

    def run(self) -> None:
        self.ready.set()
        while not self.stopping.is_set():
            message = self.broker.poll(timeout=1.0)
            self.last_poll = time.monotonic()
            if message is not None:
                self.handle(message)
        self.ready.clear()
        self.broker.close()

    def live(self) -> bool:
        """Alive while the loop keeps polling (a stuck handler fails the probe)."""
        return time.monotonic() - self.last_poll < 60


def health_server(consumer: Consumer, port: int) -> ThreadingHTTPServer:
    class Handler(BaseHTTPRequestHandler):
        def _send(self, status: int, body: bytes, content_type: str = "application/json") -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("X-Content-Type-Options", "nosniff")
            self.send_header("Cache-Control", "no-store")
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self) -> None:  # noqa: N802 - the stdlib's name
            if self.path == "/healthz/live":
                ok = consumer.live()
                self._send(200 if ok else 503, json.dumps({"status": "ok"} if ok else {"error": {"code": "stalled", "message": "the consume loop is stuck"}}).encode())
            elif self.path == "/healthz/ready":
                ok = consumer.ready.is_set()
                self._send(200 if ok else 503, json.dumps({"status": "ready"} if ok else {"error": {"code": "not_ready", "message": "not consuming"}}).encode())
            elif self.path == "/metrics":
                self._send(200, generate_latest(consumer.registry), CONTENT_TYPE_LATEST)
            else:
                self._send(404, json.dumps({"error": {"code": "not_found", "message": "no such route"}}).encode())

        def log_message(self, *args) -> None:
            pass

    server = ThreadingHTTPServer(("0.0.0.0", port), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def main() -> None:
    setup_logging()
    setup_tracing()
    consumer = Consumer(broker_from_env(TOPIC))
    server = health_server(consumer, int(os.environ.get("PORT", "8080")))
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: consumer.stopping.set())
    log.info("consuming", extra={"fields": {"topic": TOPIC}})
    consumer.run()
    server.shutdown()
    trace.get_tracer_provider().shutdown() if hasattr(trace.get_tracer_provider(), "shutdown") else None


if __name__ == "__main__":
    main()
