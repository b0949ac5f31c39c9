//! Keeping the history tables bounded: change events, the audit log and finished jobs are
//! pruned by a recurring job (`catalog.prune`), so any one replica does it and a restart
//! never loses the schedule.

use crate::service::CatalogService;
use async_trait::async_trait;
use paved_jobs::{JobContext, JobHandler, JobQueue};
use paved_store::{Job, JobOutcome, JobStore, NewJob, StoreResult};
use serde_json::json;
use std::sync::Arc;
use std::time::Duration;

/// The job kind.
pub const PRUNE_JOB: &str = "catalog.prune";

/// How long each history is kept, and how often pruning runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Retention {
    pub changes: Duration,
    pub audit: Duration,
    pub jobs: Duration,
    pub every: Duration,
}

/// Runs one pruning and schedules the next.
pub struct PruneHandler {
    catalog: Arc<CatalogService>,
    jobs: Arc<dyn JobStore>,
    queue: JobQueue,
    retention: Retention,
}

impl PruneHandler {
    pub fn new(
        catalog: Arc<CatalogService>,
        jobs: Arc<dyn JobStore>,
        queue: JobQueue,
        retention: Retention,
    ) -> Self {
        PruneHandler {
            catalog,
            jobs,
            queue,
            retention,
        }
    }
}

/// The recurring pruning job, due after `delay`. Enqueued at every start: while one is
/// queued, enqueueing again returns it, so replicas and restarts never pile them up.
pub async fn schedule_pruning(queue: &JobQueue, delay: Duration) -> StoreResult<Job> {
    queue
        .enqueue(NewJob {
            kind: PRUNE_JOB.into(),
            dedupe_key: Some(PRUNE_JOB.into()),
            payload: json!({}),
            max_attempts: 3,
            delay,
        })
        .await
}

#[async_trait]
impl JobHandler for PruneHandler {
    fn kind(&self) -> &'static str {
        PRUNE_JOB
    }

    async fn run(&self, _job: Job, _ctx: JobContext) -> JobOutcome {
        let r = self.retention;
        let pruned = async {
            let changes = self.catalog.prune_changes(r.changes).await?;
            let audit = self.catalog.prune_audit_log(r.audit).await?;
            let jobs = self.jobs.prune_finished_jobs(r.jobs).await?;
            Ok::<_, crate::CatalogError>((changes, audit, jobs))
        }
        .await;
        // The next run is scheduled whatever this one did: a failure is retried by then.
        if let Err(error) = schedule_pruning(&self.queue, r.every).await {
            tracing::warn!(%error, "scheduling the next pruning failed; the next start will");
        }
        match pruned {
            Ok((changes, audit, jobs)) => {
                tracing::info!(
                    changes,
                    audit,
                    jobs,
                    "pruned history older than its retention"
                );
                JobOutcome::Succeeded
            }
            Err(error) => JobOutcome::Failed(error.to_string()),
        }
    }
}
