//! The job queue: work that outlives a request (template tasks, docs builds, …) as rows
//! claimed with a lease. Any replica may claim a due job; a replica that dies mid-job stops
//! renewing its lease, and the job becomes claimable again (counted as another attempt) or,
//! when its attempts are used up, failed with a message that says it was interrupted.

use crate::sql::{Backend, Sql, get};
use crate::store::{SqlStore, now_millis};
use crate::{StoreError, StoreResult};
use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::fmt;
use std::time::Duration;

/// A job's id: the row's sequence number.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct JobId(pub i64);

impl fmt::Display for JobId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum JobState {
    Queued,
    Running,
    Succeeded,
    Failed,
    Cancelled,
}

impl JobState {
    pub fn as_str(self) -> &'static str {
        match self {
            JobState::Queued => "queued",
            JobState::Running => "running",
            JobState::Succeeded => "succeeded",
            JobState::Failed => "failed",
            JobState::Cancelled => "cancelled",
        }
    }

    fn parse(text: &str) -> StoreResult<Self> {
        Ok(match text {
            "queued" => JobState::Queued,
            "running" => JobState::Running,
            "succeeded" => JobState::Succeeded,
            "failed" => JobState::Failed,
            "cancelled" => JobState::Cancelled,
            other => return Err(StoreError::Database(format!("unknown job state {other:?}"))),
        })
    }

    /// Whether the job will not run again.
    pub fn is_final(self) -> bool {
        matches!(
            self,
            JobState::Succeeded | JobState::Failed | JobState::Cancelled
        )
    }
}

/// A job to enqueue.
#[derive(Clone, Debug, PartialEq)]
pub struct NewJob {
    /// Which handler runs it: `scaffolder.task`, `docs.build`, …
    pub kind: String,
    /// While a job of the same kind and key is queued (not yet running), enqueueing another
    /// returns that one instead: ten refreshes of one entity build its docs once.
    pub dedupe_key: Option<String>,
    pub payload: Value,
    /// How many times it may start (≥ 1). A run cut off by a lost lease counts.
    pub max_attempts: u32,
    /// Run no earlier than now + `delay`.
    pub delay: Duration,
}

impl NewJob {
    /// A job of `kind` that runs once, now.
    pub fn new(kind: impl Into<String>, payload: Value) -> Self {
        NewJob {
            kind: kind.into(),
            dedupe_key: None,
            payload,
            max_attempts: 1,
            delay: Duration::ZERO,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Job {
    pub id: JobId,
    pub kind: String,
    pub dedupe_key: Option<String>,
    pub payload: Value,
    pub state: JobState,
    /// How many times it has been started.
    pub attempts: u32,
    pub max_attempts: u32,
    pub cancel_requested: bool,
    pub last_error: Option<String>,
    /// Unix milliseconds.
    pub created_at: i64,
    pub updated_at: i64,
}

/// How a run ended, as the handler reports it.
#[derive(Clone, Debug, PartialEq)]
pub enum JobOutcome {
    Succeeded,
    Failed(String),
    /// Run again after `after`, if attempts remain; failed with `error` otherwise.
    Retry {
        after: Duration,
        error: String,
    },
    /// Stopped because cancellation was asked for.
    Cancelled,
}

/// What renewing a lease found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LeaseStatus {
    /// Still ours; carry on.
    Held,
    /// Still ours, but someone asked to cancel the job: stop and finish it as cancelled.
    CancelRequested,
    /// No longer ours (it expired and another worker took it, or it was finished): stop
    /// without finishing it.
    Lost,
}

/// The job queue. Implemented by the one SQL store; tested by the conformance suite.
#[async_trait]
pub trait JobStore: Send + Sync + 'static {
    async fn enqueue_job(&self, job: NewJob) -> StoreResult<Job>;
    /// Leases the oldest due job of one of `kinds` to `worker`: a queued one, or a running one
    /// whose lease expired (its previous worker is gone). Each claim is an attempt; an expired
    /// job without attempts left is failed ("interrupted") instead of claimed.
    async fn claim_job(
        &self,
        kinds: &[&str],
        worker: &str,
        lease: Duration,
    ) -> StoreResult<Option<Job>>;
    async fn renew_job_lease(
        &self,
        id: JobId,
        worker: &str,
        lease: Duration,
    ) -> StoreResult<LeaseStatus>;
    /// Records how `worker`'s run ended. `Ok(false)` when the lease was no longer its own (the
    /// outcome is dropped: another worker owns the job now).
    async fn finish_job(&self, id: JobId, worker: &str, outcome: JobOutcome) -> StoreResult<bool>;
    /// A queued job is cancelled at once; a running one gets `cancel_requested`, which its
    /// worker sees when it next renews the lease. `None` when there is no such job.
    async fn cancel_job(&self, id: JobId) -> StoreResult<Option<Job>>;
    async fn job(&self, id: JobId) -> StoreResult<Option<Job>>;
    /// Newest first, optionally of one kind.
    async fn list_jobs(&self, kind: Option<&str>, limit: usize) -> StoreResult<Vec<Job>>;
    /// Deletes finished jobs last updated at least `older_than` ago (all of them for zero);
    /// returns how many.
    async fn prune_finished_jobs(&self, older_than: Duration) -> StoreResult<u64>;
}

const JOB_COLUMNS: &str = "id, kind, dedupe_key, payload, state, attempts, max_attempts, \
    cancel_requested, last_error, created_at, updated_at";

fn millis(duration: Duration) -> i64 {
    i64::try_from(duration.as_millis()).unwrap_or(i64::MAX / 4)
}

fn job_from_row(row: &crate::sql::Row) -> StoreResult<Job> {
    let payload: String = get(row, 3)?;
    let state: String = get(row, 4)?;
    let attempts: i64 = get(row, 5)?;
    let max_attempts: i64 = get(row, 6)?;
    let cancel_requested: i64 = get(row, 7)?;
    Ok(Job {
        id: JobId(get(row, 0)?),
        kind: get(row, 1)?,
        dedupe_key: get(row, 2)?,
        payload: serde_json::from_str(&payload)
            .map_err(|e| StoreError::Database(format!("job payload is not JSON: {e}")))?,
        state: JobState::parse(&state)?,
        attempts: u32::try_from(attempts).unwrap_or(u32::MAX),
        max_attempts: u32::try_from(max_attempts).unwrap_or(u32::MAX),
        cancel_requested: cancel_requested != 0,
        last_error: get(row, 8)?,
        created_at: get(row, 9)?,
        updated_at: get(row, 10)?,
    })
}

fn push_kinds(sql: &mut Sql, kinds: &[&str]) {
    sql.push("kind IN ")
        .bind_list(kinds.iter().map(|k| k.to_string()));
}

#[async_trait]
impl JobStore for SqlStore {
    async fn enqueue_job(&self, job: NewJob) -> StoreResult<Job> {
        if job.kind.is_empty() {
            return Err(StoreError::Invalid("a job needs a kind".into()));
        }
        let payload = job.payload.to_string();
        // Twice at most: the queued duplicate may be claimed between our insert and select.
        for _ in 0..2 {
            let now = now_millis();
            let mut conn = self.writer_connection().await?;
            let mut sql = Sql::new(
                "INSERT INTO jobs (kind, dedupe_key, payload, state, attempts, max_attempts, \
                 run_at, cancel_requested, created_at, updated_at) VALUES (",
            );
            sql.bind(job.kind.clone())
                .push(", ")
                .bind(job.dedupe_key.clone())
                .push(", ")
                .bind(payload.clone())
                .push(", 'queued', 0, ")
                .bind(i64::from(job.max_attempts.max(1)))
                .push(", ")
                .bind(now.saturating_add(millis(job.delay)))
                .push(", 0, ")
                .bind(now)
                .push(", ")
                .bind(now)
                .push(
                    ") ON CONFLICT (kind, dedupe_key) WHERE state = 'queued' AND dedupe_key IS \
                     NOT NULL DO NOTHING RETURNING ",
                )
                .push(JOB_COLUMNS);
            if let Some(row) = sql.fetch_optional(&mut conn).await? {
                return job_from_row(&row);
            }
            let mut existing = Sql::new(&format!("SELECT {JOB_COLUMNS} FROM jobs WHERE kind = "));
            existing
                .bind(job.kind.clone())
                .push(" AND dedupe_key = ")
                .bind(job.dedupe_key.clone())
                .push(" AND state = 'queued'");
            if let Some(row) = existing.fetch_optional(&mut conn).await? {
                return job_from_row(&row);
            }
        }
        Err(StoreError::Conflict(format!(
            "could not enqueue a {} job: its queued duplicate kept changing",
            job.kind
        )))
    }

    async fn claim_job(
        &self,
        kinds: &[&str],
        worker: &str,
        lease: Duration,
    ) -> StoreResult<Option<Job>> {
        if kinds.is_empty() {
            return Ok(None);
        }
        let now = now_millis();
        let mut tx = self.begin_write_unordered().await?;
        // Expired runs that must not start again: cancelled ones, and ones out of attempts.
        let mut cancelled = Sql::new(
            "UPDATE jobs SET state = 'cancelled', lease_owner = NULL, lease_until = NULL, \
             updated_at = ",
        );
        cancelled
            .bind(now)
            .push(" WHERE state = 'running' AND cancel_requested = 1 AND lease_until <= ")
            .bind(now)
            .push(" AND ");
        push_kinds(&mut cancelled, kinds);
        cancelled.execute(&mut tx).await?;
        let mut exhausted = Sql::new(
            "UPDATE jobs SET state = 'failed', lease_owner = NULL, lease_until = NULL, \
             last_error = 'interrupted: the worker running it stopped (crash or restart) and \
             no attempts are left', updated_at = ",
        );
        exhausted
            .bind(now)
            .push(" WHERE state = 'running' AND attempts >= max_attempts AND lease_until <= ")
            .bind(now)
            .push(" AND ");
        push_kinds(&mut exhausted, kinds);
        exhausted.execute(&mut tx).await?;

        let mut claim =
            Sql::new("UPDATE jobs SET state = 'running', attempts = attempts + 1, lease_owner = ");
        claim
            .bind(worker.to_string())
            .push(", lease_until = ")
            .bind(now.saturating_add(millis(lease)))
            .push(", updated_at = ")
            .bind(now)
            .push(" WHERE id = (SELECT id FROM jobs WHERE ((state = 'queued' AND run_at <= ")
            .bind(now)
            .push(") OR (state = 'running' AND lease_until <= ")
            .bind(now)
            .push(")) AND ");
        push_kinds(&mut claim, kinds);
        claim.push(" ORDER BY run_at, id LIMIT 1");
        if self.backend == Backend::Postgres {
            claim.push(" FOR UPDATE SKIP LOCKED");
        }
        claim.push(") RETURNING ").push(JOB_COLUMNS);
        let row = claim.fetch_optional(&mut tx).await?;
        tx.commit().await?;
        row.as_ref().map(job_from_row).transpose()
    }

    async fn renew_job_lease(
        &self,
        id: JobId,
        worker: &str,
        lease: Duration,
    ) -> StoreResult<LeaseStatus> {
        let now = now_millis();
        let mut conn = self.writer_connection().await?;
        let mut sql = Sql::new("UPDATE jobs SET lease_until = ");
        sql.bind(now.saturating_add(millis(lease)))
            .push(", updated_at = ")
            .bind(now)
            .push(" WHERE id = ")
            .bind(id.0)
            .push(" AND state = 'running' AND lease_owner = ")
            .bind(worker.to_string())
            .push(" RETURNING cancel_requested");
        Ok(match sql.fetch_optional(&mut conn).await? {
            None => LeaseStatus::Lost,
            Some(row) if get::<i64>(&row, 0)? != 0 => LeaseStatus::CancelRequested,
            Some(_) => LeaseStatus::Held,
        })
    }

    async fn finish_job(&self, id: JobId, worker: &str, outcome: JobOutcome) -> StoreResult<bool> {
        let now = now_millis();
        let mut tx = self.begin_write_unordered().await?;
        let mut current = Sql::new(&format!("SELECT {JOB_COLUMNS} FROM jobs WHERE id = "));
        current
            .bind(id.0)
            .push(" AND state = 'running' AND lease_owner = ")
            .bind(worker.to_string());
        let Some(row) = current.fetch_optional(&mut tx).await? else {
            return Ok(false);
        };
        let job = job_from_row(&row)?;
        let (state, error, run_at) = match outcome {
            JobOutcome::Succeeded => (JobState::Succeeded, None, None),
            JobOutcome::Failed(error) => (JobState::Failed, Some(error), None),
            JobOutcome::Cancelled => (JobState::Cancelled, None, None),
            JobOutcome::Retry { after, error } => {
                let duplicate_queued = match &job.dedupe_key {
                    None => false,
                    Some(key) => {
                        let mut sql = Sql::new("SELECT 1 FROM jobs WHERE kind = ");
                        sql.bind(job.kind.clone())
                            .push(" AND dedupe_key = ")
                            .bind(key.clone())
                            .push(" AND state = 'queued'");
                        sql.fetch_optional(&mut tx).await?.is_some()
                    }
                };
                if job.cancel_requested {
                    (JobState::Cancelled, Some(error), None)
                } else if duplicate_queued {
                    // A newer job of the same key is queued and will do this work.
                    (
                        JobState::Failed,
                        Some(format!("{error} (superseded by a queued job)")),
                        None,
                    )
                } else if job.attempts < job.max_attempts {
                    (
                        JobState::Queued,
                        Some(error),
                        Some(now.saturating_add(millis(after))),
                    )
                } else {
                    (JobState::Failed, Some(error), None)
                }
            }
        };
        let mut sql = Sql::new("UPDATE jobs SET state = ");
        sql.bind(state.as_str())
            .push(", last_error = ")
            .bind(error)
            .push(", lease_owner = NULL, lease_until = NULL, updated_at = ")
            .bind(now);
        if let Some(run_at) = run_at {
            sql.push(", run_at = ").bind(run_at);
        }
        sql.push(" WHERE id = ").bind(id.0);
        sql.execute(&mut tx).await?;
        tx.commit().await?;
        Ok(true)
    }

    async fn cancel_job(&self, id: JobId) -> StoreResult<Option<Job>> {
        let now = now_millis();
        let mut tx = self.begin_write_unordered().await?;
        let mut queued = Sql::new("UPDATE jobs SET state = 'cancelled', updated_at = ");
        queued
            .bind(now)
            .push(" WHERE id = ")
            .bind(id.0)
            .push(" AND state = 'queued'");
        queued.execute(&mut tx).await?;
        let mut running = Sql::new("UPDATE jobs SET cancel_requested = 1, updated_at = ");
        running
            .bind(now)
            .push(" WHERE id = ")
            .bind(id.0)
            .push(" AND state = 'running'");
        running.execute(&mut tx).await?;
        let mut select = Sql::new(&format!("SELECT {JOB_COLUMNS} FROM jobs WHERE id = "));
        select.bind(id.0);
        let row = select.fetch_optional(&mut tx).await?;
        tx.commit().await?;
        row.as_ref().map(job_from_row).transpose()
    }

    async fn job(&self, id: JobId) -> StoreResult<Option<Job>> {
        let mut conn = self.read().await?;
        let mut sql = Sql::new(&format!("SELECT {JOB_COLUMNS} FROM jobs WHERE id = "));
        sql.bind(id.0);
        sql.fetch_optional(&mut conn)
            .await?
            .as_ref()
            .map(job_from_row)
            .transpose()
    }

    async fn list_jobs(&self, kind: Option<&str>, limit: usize) -> StoreResult<Vec<Job>> {
        let mut conn = self.read().await?;
        let mut sql = Sql::new(&format!("SELECT {JOB_COLUMNS} FROM jobs"));
        if let Some(kind) = kind {
            sql.push(" WHERE kind = ").bind(kind.to_string());
        }
        sql.push(" ORDER BY id DESC LIMIT ")
            .bind(i64::try_from(limit).unwrap_or(i64::MAX));
        sql.fetch_all(&mut conn)
            .await?
            .iter()
            .map(job_from_row)
            .collect()
    }

    async fn prune_finished_jobs(&self, older_than: Duration) -> StoreResult<u64> {
        let mut conn = self.writer_connection().await?;
        let mut sql = Sql::new(
            "DELETE FROM jobs WHERE state IN ('succeeded', 'failed', 'cancelled') AND updated_at <= ",
        );
        sql.bind(now_millis().saturating_sub(millis(older_than)));
        sql.execute(&mut conn).await
    }
}
