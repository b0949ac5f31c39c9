"""The HTTP service: routes, validation, errors, metrics and security headers."""
import logging
import threading
import time
from importlib import resources

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from opentelemetry import trace
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest
from pydantic import BaseModel, ConfigDict, Field, field_validator
from starlette.exceptions import HTTPException

from .telemetry import setup_logging, setup_tracing

log = logging.getLogger("${{ values.name }}")
tracer = trace.get_tracer("${{ values.name }}")

OPENAPI = resources.files("app").joinpath("openapi.yaml").read_text()

SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Content-Security-Policy": "default-src 'none'; frame-ancestors 'none'",
    "Strict-Transport-Security": "max-age=63072000; includeSubDomains",
    "Cross-Origin-Resource-Policy": "same-origin",
    "Cache-Control": "no-store",
}


class NewItem(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=100)
    quantity: int = Field(ge=0, le=1_000_000, strict=True)

    @field_validator("name")
    @classmethod
    def strip_name(cls, value: str) -> str:
        value = value.strip()
        if not value:
            raise ValueError("must not be empty")
        return value


class Item(BaseModel):
    id: int
    name: str
    quantity: int


def error(status: int, code: str, message: str, details=None) -> JSONResponse:
    body = {"code": code, "message": message}
    if details is not None:
        body["details"] = details
    return JSONResponse({"error": body}, status_code=status)


def create_app() -> FastAPI:
    setup_logging()
    setup_tracing()
    # The hand-written openapi.yaml is the contract (served below); FastAPI's own stays off.
    app = FastAPI(title="${{ values.name }}", openapi_url=None, docs_url=None, redoc_url=None)
    app.state.ready = True
    app.state.items = []
    app.state.lock = threading.Lock()
    registry = CollectorRegistry()
    requests_total = Counter(
        "http_requests", "HTTP requests served", ["method", "route", "status"], registry=registry
    )
    durations = Histogram(
        "http_request_duration_seconds", "HTTP request durations", ["method", "route", "status"],
        registry=registry,
    )

    @app.middleware("http")
    async def observe(request: Request, call_next):
        started = time.perf_counter()
        with tracer.start_as_current_span(f"{request.method} {request.url.path}"):
            response = await call_next(request)
        route = request.scope.get("route")
        labels = (request.method, getattr(route, "path", "unmatched"), str(response.status_code))
        requests_total.labels(*labels).inc()
        durations.labels(*labels).observe(time.perf_counter() - started)
        for name, value in SECURITY_HEADERS.items():
            response.headers[name] = value
        return response

    @app.exception_handler(RequestValidationError)
    async def validation_failed(_request: Request, exc: RequestValidationError):
        details = []
        for e in exc.errors():
            loc = [str(p) for p in e["loc"] if p not in ("body", "path", "query")]
            if e["type"] == "json_invalid":
                return error(400, "bad_request", "the body is not valid JSON")
            details.append({"field": ".".join(loc) or "body", "message": e["msg"]})
        return error(400, "validation_failed", "the request breaks one or more rules", details)

    @app.exception_handler(HTTPException)
    async def http_error(_request: Request, exc: HTTPException):
        code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "error")
        return error(exc.status_code, code, str(exc.detail))

    @app.exception_handler(Exception)
    async def internal(_request: Request, exc: Exception):
        log.exception("unhandled error")
        return error(500, "internal", "internal error")

    @app.get("/healthz/live")
    def live():
        return {"status": "ok"}

    @app.get("/healthz/ready")
    def ready():
        if not app.state.ready:
            return error(503, "not_ready", "the service is not ready")
        return {"status": "ready"}

    @app.get("/metrics")
    def metrics():
        return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)

    @app.get("/openapi.yaml")
    def openapi():
        return Response(OPENAPI, media_type="application/yaml")

    @app.get("/v1/items")
    def list_items():
        with app.state.lock:
            return {"items": list(app.state.items)}

    @app.post("/v1/items", status_code=201, response_model=Item)
    def create_item(new: NewItem):
        with app.state.lock:
            item = {"id": len(app.state.items) + 1, "name": new.name, "quantity": new.quantity}
            app.state.items.append(item)
        log.info("item created", extra={"fields": {"id": item["id"]}})
        return item

    @app.get("/v1/items/{item_id}", response_model=Item)
    def get_item(item_id: str):
        if not item_id.isdigit() or int(item_id) < 1:
            return error(400, "validation_failed", "the request breaks one or more rules",
                         [{"field": "id", "message": "must be a positive integer"}])
        with app.state.lock:
            for item in app.state.items:
                if item["id"] == int(item_id):
                    return item
        return error(404, "not_found", f"item {item_id} does not exist")

    return app


app = create_app()
