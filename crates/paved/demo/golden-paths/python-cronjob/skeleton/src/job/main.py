"""One run of the scheduled job: read the settings, do the work in batches, report, exit.

The exit code is the job's health for Kubernetes (non-zero: the CronJob retries up to its
backoffLimit, and the failure shows in the catalog's Kubernetes tab). Metrics go to a
Prometheus Pushgateway when PUSHGATEWAY_URL is set (a job is gone before anyone scrapes it).
"""
from __future__ import annotations

import json
import logging
import os
import sys
import time
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

from opentelemetry import trace
from prometheus_client import CollectorRegistry, Counter, Gauge, push_to_gateway

from .telemetry import setup_logging, setup_tracing

log = logging.getLogger("${{ values.name }}")
tracer = trace.get_tracer("${{ values.name }}")


class ConfigError(ValueError):
    """A setting is missing or malformed; the message names it."""


@dataclass(frozen=True)
class Settings:
    data_dir: Path
    retention_days: int
    batch_size: int
    dry_run: bool

    @staticmethod
    def from_env(env: dict[str, str]) -> "Settings":
        errors = []
        data_dir = env.get("DATA_DIR", "")
        if not data_dir:
            errors.append("DATA_DIR is required")
        def integer(name: str, default: str, low: int, high: int) -> int:
            raw = env.get(name, default)
            try:
                value = int(raw)
            except ValueError:
                errors.append(f"{name} must be an integer, got {raw!r}")
                return 0
            if not low <= value <= high:
                errors.append(f"{name} must be between {low} and {high}, got {value}")
            return value
        retention = integer("RETENTION_DAYS", "30", 1, 3650)
        batch = integer("BATCH_SIZE", "500", 1, 100_000)
        dry_run = env.get("DRY_RUN", "false").lower()
        if dry_run not in ("true", "false"):
            errors.append(f"DRY_RUN must be true or false, got {dry_run!r}")
        if errors:
            raise ConfigError("; ".join(errors))
        return Settings(Path(data_dir), retention, batch, dry_run == "true")


@dataclass
class Report:
    scanned: int = 0
    removed: int = 0
    kept: int = 0


def run(settings: Settings, now: datetime | None = None) -> Report:
    """Removes the files under DATA_DIR older than the retention, a batch at a time."""
    now = now or datetime.now(timezone.utc)
    cutoff = (now - timedelta(days=settings.retention_days)).timestamp()
    report = Report()
    if not settings.data_dir.is_dir():
        raise ConfigError(f"DATA_DIR {settings.data_dir} is not a folder")
    files = sorted(p for p in settings.data_dir.rglob("*") if p.is_file() and not p.is_symlink())
    for start in range(0, len(files), settings.batch_size):
        batch = files[start:start + settings.batch_size]
        with tracer.start_as_current_span("batch") as span:
            span.set_attribute("app.batch.size", len(batch))
            for path in batch:
                report.scanned += 1
                if path.stat().st_mtime < cutoff:
                    if not settings.dry_run:
                        path.unlink()
                    report.removed += 1
                else:
                    report.kept += 1
    return report


def push_metrics(report: Report | None, started: float, ok: bool) -> None:
    url = os.environ.get("PUSHGATEWAY_URL", "").strip()
    registry = CollectorRegistry()
    Gauge("job_duration_seconds", "Duration of the last run", registry=registry).set(time.time() - started)
    Gauge("job_last_run_success", "1 if the last run succeeded", registry=registry).set(1 if ok else 0)
    if ok:
        Gauge("job_last_success_timestamp_seconds", "End of the last successful run", registry=registry).set_to_current_time()
    items = Counter("job_items", "Items handled in the last run", ["outcome"], registry=registry)
    if report:
        items.labels("removed").inc(report.removed)
        items.labels("kept").inc(report.kept)
    if url:
        push_to_gateway(url, job="${{ values.name }}", registry=registry)


def main(env: dict[str, str] | None = None) -> int:
    setup_logging()
    setup_tracing()
    started = time.time()
    report = None
    try:
        settings = Settings.from_env(dict(os.environ) if env is None else env)
        with tracer.start_as_current_span("${{ values.name }} run"):
            report = run(settings)
        log.info("run finished", extra={"fields": report.__dict__ | {"dry_run": settings.dry_run}})
        ok = True
    except ConfigError as e:
        log.error("bad configuration", extra={"fields": {"error": str(e)}})
        ok = False
    except Exception:
        log.exception("run failed")
        ok = False
    try:
        push_metrics(report, started, ok)
    except OSError as e:
        log.warning("metrics not pushed", extra={"fields": {"error": str(e)}})
    provider = trace.get_tracer_provider()
    if hasattr(provider, "shutdown"):
        provider.shutdown()
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
