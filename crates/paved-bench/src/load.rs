//! The load phase: N clients, each on its own keep-alive connection, sending one scenario's
//! requests back to back for a fixed time; latencies go into an HDR histogram.

use crate::http::{Connection, encode_component};
use hdrhistogram::Histogram;
use serde::Serialize;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Scenario {
    ByName,
    ByQueryOwner,
    EntityFacets,
    PortalCatalog,
    PortalCatalogOwner,
    PortalCatalogText,
    PortalEntity,
    PortalDependencies,
}

impl Scenario {
    pub const ALL: [Scenario; 8] = [
        Scenario::ByName,
        Scenario::ByQueryOwner,
        Scenario::EntityFacets,
        Scenario::PortalCatalog,
        Scenario::PortalCatalogOwner,
        Scenario::PortalCatalogText,
        Scenario::PortalEntity,
        Scenario::PortalDependencies,
    ];

    /// Portal pages are measured with one client: their target is the server's time per
    /// page (p99 ≤ 50 ms), which queueing behind 63 other clients on 2 cores would hide.
    pub fn single_client(self) -> bool {
        matches!(
            self,
            Scenario::PortalCatalog
                | Scenario::PortalCatalogOwner
                | Scenario::PortalCatalogText
                | Scenario::PortalEntity
                | Scenario::PortalDependencies
        )
    }

    pub fn name(self) -> &'static str {
        match self {
            Scenario::ByName => "by-name",
            Scenario::ByQueryOwner => "by-query kind=component,spec.owner",
            Scenario::EntityFacets => "entity-facets kind,tags,owner",
            Scenario::PortalCatalog => "portal /catalog",
            Scenario::PortalCatalogOwner => "portal /catalog kind+owner",
            Scenario::PortalCatalogText => "portal /catalog text filter",
            Scenario::PortalEntity => "portal entity page",
            Scenario::PortalDependencies => "portal dependencies graph",
        }
    }

    fn path(self, samples: &Samples, random: &mut SplitMix64) -> String {
        match self {
            Scenario::ByName => {
                let name = random.pick(&samples.component_names);
                format!(
                    "/api/catalog/entities/by-name/component/default/{}",
                    encode_component(name)
                )
            }
            Scenario::ByQueryOwner => {
                let owner = random.pick(&samples.owners);
                format!(
                    "/api/catalog/entities/by-query?filter=kind=component,spec.owner={}&limit=20",
                    encode_component(owner)
                )
            }
            Scenario::EntityFacets => {
                "/api/catalog/entity-facets?facet=kind&facet=metadata.tags&facet=spec.owner"
                    .to_string()
            }
            Scenario::PortalCatalog => "/catalog".to_string(),
            Scenario::PortalCatalogOwner => {
                let owner = random.pick(&samples.owners);
                let owner = if owner.contains(':') {
                    owner.to_string()
                } else {
                    format!("group:default/{owner}")
                };
                format!("/catalog?kind=component&owner={}", encode_component(&owner))
            }
            Scenario::PortalCatalogText => {
                let name = random.pick(&samples.component_names);
                // A prefix of a real name: matches a handful of entities.
                let term: String = name.chars().take(8).collect();
                format!("/catalog?q={}", encode_component(&term))
            }
            Scenario::PortalEntity => {
                let name = random.pick(&samples.component_names);
                format!("/catalog/default/component/{}", encode_component(name))
            }
            Scenario::PortalDependencies => {
                let name = random.pick(&samples.component_names);
                format!(
                    "/catalog/default/component/{}/dependencies?depth=2",
                    encode_component(name)
                )
            }
        }
    }
}

pub struct Samples {
    pub component_names: Vec<String>,
    pub owners: Vec<String>,
}

#[derive(Debug, Serialize)]
pub struct ScenarioResult {
    pub scenario: &'static str,
    pub example_request: String,
    pub clients: usize,
    /// From the end of the warm-up until the last recorded answer: at least the configured
    /// duration, longer when answers in flight at its end were slow.
    pub seconds: f64,
    pub requests: u64,
    /// Non-2xx answers, transport errors and timeouts.
    pub errors: u64,
    pub requests_per_second: f64,
    pub p50_ms: f64,
    pub p90_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
    pub mean_ms: f64,
    /// Largest answer body, uncompressed (a portal page's weight before images).
    pub max_body_bytes: u64,
    /// A few error messages, so a failing run says why.
    pub error_examples: Vec<String>,
}

struct ClientOutcome {
    histogram: Histogram<u64>,
    requests: u64,
    errors: u64,
    max_body_bytes: u64,
    error_examples: Vec<String>,
}

fn new_histogram() -> Histogram<u64> {
    // 1 µs to 60 s at 3 significant digits; values above are clamped by `saturating_record`.
    Histogram::new_with_bounds(1, 60_000_000, 3).expect("constant histogram bounds are valid")
}

/// How the load phase runs.
pub struct LoadPlan {
    pub address: SocketAddr,
    pub samples: Arc<Samples>,
    /// Clients of the API scenarios; portal pages use one (see [`Scenario::single_client`]).
    pub concurrency: usize,
    pub warmup: Duration,
    pub duration: Duration,
}

/// Runs `scenarios` in turn, saying each one's name and its first errors on stderr;
/// `after_each` runs after every scenario and stops the phase when it fails.
pub async fn run_scenarios(
    plan: &LoadPlan,
    scenarios: &[Scenario],
    mut after_each: impl FnMut() -> anyhow::Result<()>,
) -> anyhow::Result<Vec<ScenarioResult>> {
    let mut results = Vec::with_capacity(scenarios.len());
    for &scenario in scenarios {
        let clients = if scenario.single_client() {
            1
        } else {
            plan.concurrency
        };
        eprintln!(
            "load: {} ({clients} clients, {:?})",
            scenario.name(),
            plan.duration
        );
        let result = run_scenario(
            plan.address,
            scenario,
            Arc::clone(&plan.samples),
            clients,
            plan.warmup,
            plan.duration,
            Duration::from_secs(30),
        )
        .await;
        for example in &result.error_examples {
            eprintln!("  error: {example}");
        }
        results.push(result);
        after_each()?;
    }
    Ok(results)
}

/// Runs one scenario: a warm-up (not recorded) and then `duration` of recorded requests.
pub async fn run_scenario(
    address: SocketAddr,
    scenario: Scenario,
    samples: Arc<Samples>,
    clients: usize,
    warmup: Duration,
    duration: Duration,
    request_timeout: Duration,
) -> ScenarioResult {
    let mut tasks = Vec::with_capacity(clients);
    let measure_from = Instant::now() + warmup;
    let stop_at = measure_from + duration;
    for client_index in 0..clients {
        let samples = Arc::clone(&samples);
        tasks.push(tokio::spawn(async move {
            let mut random = SplitMix64(0x9E37_79B9_7F4A_7C15 ^ (client_index as u64 + 1));
            let mut connection = Connection::new(address, request_timeout);
            let mut outcome = ClientOutcome {
                histogram: new_histogram(),
                requests: 0,
                errors: 0,
                max_body_bytes: 0,
                error_examples: Vec::new(),
            };
            loop {
                let path = scenario.path(&samples, &mut random);
                let sent = Instant::now();
                if sent >= stop_at {
                    break;
                }
                let answer = connection.get(&path).await;
                let elapsed = sent.elapsed();
                if sent < measure_from {
                    continue;
                }
                outcome.requests += 1;
                outcome
                    .histogram
                    .saturating_record(elapsed.as_micros().max(1).try_into().unwrap_or(u64::MAX));
                if let Ok((_, body)) = &answer {
                    outcome.max_body_bytes = outcome.max_body_bytes.max(body.len() as u64);
                }
                let failure = match answer {
                    Ok((status, _)) if status.is_success() => None,
                    Ok((status, body)) => Some(format!(
                        "GET {path}: {status} {}",
                        String::from_utf8_lossy(&body[..body.len().min(200)])
                    )),
                    Err(error) => Some(format!("{error:#}")),
                };
                if let Some(message) = failure {
                    outcome.errors += 1;
                    if outcome.error_examples.len() < 3 {
                        outcome.error_examples.push(message);
                    }
                }
            }
            outcome
        }));
    }
    let mut histogram = new_histogram();
    let mut requests = 0;
    let mut errors = 0;
    let mut max_body_bytes = 0;
    let mut error_examples = Vec::new();
    for task in tasks {
        match task.await {
            Ok(outcome) => {
                // Same bounds on both sides, so adding cannot fail.
                let _ = histogram.add(&outcome.histogram);
                requests += outcome.requests;
                errors += outcome.errors;
                max_body_bytes = max_body_bytes.max(outcome.max_body_bytes);
                for example in outcome.error_examples {
                    if error_examples.len() < 5 {
                        error_examples.push(example);
                    }
                }
            }
            Err(join_error) => {
                errors += 1;
                error_examples.push(format!("client task failed: {join_error}"));
            }
        }
    }
    let ms = |micros: u64| micros as f64 / 1000.0;
    // Requests sent before the end are waited for, so the window can outlast `duration`.
    let seconds = Instant::now()
        .saturating_duration_since(measure_from)
        .max(duration)
        .as_secs_f64();
    ScenarioResult {
        scenario: scenario.name(),
        example_request: scenario.path(&samples, &mut SplitMix64(1)),
        clients,
        seconds,
        requests,
        errors,
        requests_per_second: requests as f64 / seconds,
        p50_ms: ms(histogram.value_at_quantile(0.50)),
        p90_ms: ms(histogram.value_at_quantile(0.90)),
        p99_ms: ms(histogram.value_at_quantile(0.99)),
        max_ms: ms(histogram.max()),
        mean_ms: histogram.mean() / 1000.0,
        max_body_bytes,
        error_examples,
    }
}

/// A tiny deterministic generator: each client picks its sample names from its own seed, so
/// runs are repeatable and the harness needs no `rand`.
pub struct SplitMix64(pub u64);

impl SplitMix64 {
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// `items` is never empty here: the catalog loader refuses empty sample lists.
    pub fn pick<'a>(&mut self, items: &'a [String]) -> &'a str {
        let index = (self.next_u64() % items.len().max(1) as u64) as usize;
        items.get(index).map_or("", String::as_str)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn picks_every_item_eventually() {
        let items: Vec<String> = (0..5).map(|i| i.to_string()).collect();
        let mut random = SplitMix64(7);
        let mut seen = std::collections::BTreeSet::new();
        for _ in 0..200 {
            seen.insert(random.pick(&items).to_string());
        }
        assert_eq!(seen.len(), 5);
    }

    #[test]
    fn builds_backstage_paths() {
        let samples = Samples {
            component_names: vec!["svc-a-1".into()],
            owners: vec!["team-b-2".into()],
        };
        let mut random = SplitMix64(1);
        assert_eq!(
            Scenario::ByName.path(&samples, &mut random),
            "/api/catalog/entities/by-name/component/default/svc-a-1"
        );
        assert_eq!(
            Scenario::ByQueryOwner.path(&samples, &mut random),
            "/api/catalog/entities/by-query?filter=kind=component,spec.owner=team-b-2&limit=20"
        );
    }
}
