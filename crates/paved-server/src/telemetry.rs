//! HTTP request metrics: a count and a latency histogram per method, matched route and status,
//! recorded through the `metrics` facade and rendered by the Prometheus exporter.

use axum::extract::{MatchedPath, Request};
use axum::middleware::Next;
use axum::response::Response;
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

const REQUESTS: &str = "http_requests_total";
const DURATION: &str = "http_request_duration_seconds";

/// The route template a request matched, passed from inside the router (where it is known) to
/// the outer middleware that records the metrics.
#[derive(Clone)]
struct RouteLabel(Arc<str>);

pub(crate) async fn label_route(request: Request, next: Next) -> Response {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map(|m| Arc::<str>::from(m.as_str()));
    let mut response = next.run(request).await;
    if let Some(route) = route {
        response.extensions_mut().insert(RouteLabel(route));
    }
    response
}

pub(crate) async fn record_request(request: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = request.method().as_str().to_owned();
    let mut response = next.run(request).await;
    // Unmatched paths share one label, so scanners cannot blow up the series count.
    let route = response
        .extensions_mut()
        .remove::<RouteLabel>()
        .map_or_else(|| "unmatched".to_owned(), |r| r.0.to_string());
    let status = response.status().as_u16().to_string();
    metrics::counter!(REQUESTS, "method" => method.clone(), "route" => route.clone(), "status" => status)
        .increment(1);
    metrics::histogram!(DURATION, "method" => method, "route" => route)
        .record(started.elapsed().as_secs_f64());
    response
}

/// Installs the process-wide Prometheus recorder once and returns its handle; later calls
/// return the same handle.
pub fn install_metrics_recorder() -> PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE
        .get_or_init(|| {
            let builder = PrometheusBuilder::new();
            // Buckets make latency a real histogram (quantiles across replicas) rather than a
            // per-process summary.
            let builder = match builder.set_buckets_for_metric(
                Matcher::Full(DURATION.to_owned()),
                &[
                    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
                ],
            ) {
                Ok(builder) => builder,
                Err(error) => {
                    tracing::warn!(%error, "latency buckets refused; using summaries");
                    PrometheusBuilder::new()
                }
            };
            let recorder = builder.build_recorder();
            let handle = recorder.handle();
            if metrics::set_global_recorder(recorder).is_err() {
                tracing::warn!("a metrics recorder was installed already; /metrics will be empty");
            }
            metrics::describe_counter!(REQUESTS, "HTTP requests served");
            metrics::describe_histogram!(
                DURATION,
                metrics::Unit::Seconds,
                "Time to serve an HTTP request"
            );
            // The exporter keeps histogram samples until upkeep folds them; without it a busy
            // process would grow between scrapes.
            let upkeep = handle.clone();
            let spawned = std::thread::Builder::new()
                .name("metrics-upkeep".into())
                .spawn(move || {
                    loop {
                        std::thread::sleep(Duration::from_secs(5));
                        upkeep.run_upkeep();
                    }
                });
            if let Err(error) = spawned {
                tracing::warn!(%error, "metrics upkeep thread not started");
            }
            handle
        })
        .clone()
}
