//! The job runner: claims jobs from a [`JobStore`] with a lease, runs the handler registered
//! for each job's kind, renews the lease while it runs and passes cancellation on.
//!
//! Invariants: a job is finished only by the worker holding its lease; a run whose lease was
//! lost is dropped without finishing (the store hands the job to another worker or fails it
//! as interrupted); shutting down never marks a job finished that did not finish — an
//! abandoned run's lease expires and the store decides.
#![forbid(unsafe_code)]

use async_trait::async_trait;
use paved_store::{Job, JobId, JobOutcome, JobStore, LeaseStatus, NewJob, StoreResult};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::{Notify, watch};
use tokio::task::JoinSet;

/// Runs the jobs of one kind.
#[async_trait]
pub trait JobHandler: Send + Sync + 'static {
    /// The kind this handler runs, e.g. `scaffolder.task`.
    fn kind(&self) -> &'static str;
    /// Runs one job. Long runs should watch `ctx` and stop when it says cancelled, returning
    /// [`JobOutcome::Cancelled`].
    async fn run(&self, job: Job, ctx: JobContext) -> JobOutcome;
}

/// What a running job can ask of its runner.
#[derive(Clone, Debug)]
pub struct JobContext {
    attempt: u32,
    cancel: watch::Receiver<bool>,
}

impl JobContext {
    /// Which start of the job this is, from 1. More than 1 means an earlier run was cut off
    /// (crash, restart) or asked to be retried.
    pub fn attempt(&self) -> u32 {
        self.attempt
    }

    /// Whether the job was cancelled or its lease lost: stop as soon as it is safe.
    pub fn cancelled(&self) -> bool {
        *self.cancel.borrow()
    }

    /// Resolves when the job is cancelled or its lease is lost (for `tokio::select!`).
    pub async fn cancellation(&self) {
        let mut cancel = self.cancel.clone();
        // An Err means the runner went away; treat it as a cancellation too.
        let _ = cancel.wait_for(|cancelled| *cancelled).await;
    }

    /// A context for running a handler outside a runner (tests, the CLI): never cancelled
    /// unless `cancel` says so.
    pub fn detached(attempt: u32, cancel: watch::Receiver<bool>) -> Self {
        JobContext { attempt, cancel }
    }
}

/// The cancel switches of the jobs running in this process, so a local cancel is immediate
/// instead of waiting for the next lease renewal.
type Running = Arc<Mutex<HashMap<JobId, watch::Sender<bool>>>>;

/// The front of the queue that services use: enqueue (waking the local runner at once),
/// cancel, look up.
#[derive(Clone)]
pub struct JobQueue {
    store: Arc<dyn JobStore>,
    wake: Arc<Notify>,
    running: Running,
}

impl JobQueue {
    pub async fn enqueue(&self, job: NewJob) -> StoreResult<Job> {
        let job = self.store.enqueue_job(job).await?;
        self.wake.notify_one();
        Ok(job)
    }

    /// Cancels a job: a queued one at once; a running one is asked to stop (immediately when
    /// it runs in this process, at its next lease renewal elsewhere).
    pub async fn cancel(&self, id: JobId) -> StoreResult<Option<Job>> {
        let job = self.store.cancel_job(id).await?;
        if let Ok(running) = self.running.lock()
            && let Some(switch) = running.get(&id)
        {
            let _ = switch.send(true);
        }
        Ok(job)
    }

    pub async fn job(&self, id: JobId) -> StoreResult<Option<Job>> {
        self.store.job(id).await
    }

    pub fn store(&self) -> &Arc<dyn JobStore> {
        &self.store
    }
}

/// Claims and runs jobs until shut down.
pub struct JobRunner {
    store: Arc<dyn JobStore>,
    worker: String,
    handlers: HashMap<&'static str, Arc<dyn JobHandler>>,
    concurrency: usize,
    lease: Duration,
    renew_every: Duration,
    poll_every: Duration,
    grace: Duration,
    wake: Arc<Notify>,
    running: Running,
}

impl JobRunner {
    /// A runner for `store` that identifies itself as `worker` (unique per process: it owns
    /// the leases it takes).
    pub fn new(store: Arc<dyn JobStore>, worker: impl Into<String>) -> Self {
        JobRunner {
            store,
            worker: worker.into(),
            handlers: HashMap::new(),
            concurrency: 2,
            lease: Duration::from_secs(30),
            renew_every: Duration::from_secs(2),
            poll_every: Duration::from_secs(1),
            grace: Duration::from_secs(10),
            wake: Arc::new(Notify::new()),
            running: Arc::new(Mutex::new(HashMap::new())),
        }
    }

    pub fn register(mut self, handler: Arc<dyn JobHandler>) -> Self {
        self.handlers.insert(handler.kind(), handler);
        self
    }

    /// How many jobs run at once in this process (default 2).
    pub fn concurrency(mut self, jobs: usize) -> Self {
        self.concurrency = jobs.max(1);
        self
    }

    /// How long a claim lasts without renewal (default 30 s) and how often it is renewed
    /// (default 2 s, which is also how soon a cancel from another replica arrives).
    pub fn lease(mut self, lease: Duration, renew_every: Duration) -> Self {
        self.lease = lease;
        self.renew_every = renew_every.min(lease / 2).max(Duration::from_millis(1));
        self
    }

    /// How often to look for jobs enqueued by other replicas (default 1 s; local enqueues
    /// wake the runner at once).
    pub fn poll_every(mut self, every: Duration) -> Self {
        self.poll_every = every;
        self
    }

    /// How long shutdown waits for running jobs before abandoning them (default 10 s).
    pub fn shutdown_grace(mut self, grace: Duration) -> Self {
        self.grace = grace;
        self
    }

    /// The queue front for services, without starting the runner (for wiring order).
    pub fn queue(&self) -> JobQueue {
        JobQueue {
            store: self.store.clone(),
            wake: self.wake.clone(),
            running: self.running.clone(),
        }
    }

    /// Starts the runner. It stops claiming when `shutdown` turns true, waits up to the grace
    /// period for running jobs, then returns.
    pub fn spawn(self, shutdown: watch::Receiver<bool>) -> (JobQueue, tokio::task::JoinHandle<()>) {
        let queue = self.queue();
        let handle = tokio::spawn(self.run(shutdown));
        (queue, handle)
    }

    async fn run(self, mut shutdown: watch::Receiver<bool>) {
        let runner = Arc::new(self);
        let kinds: Vec<&'static str> = runner.handlers.keys().copied().collect();
        let mut runs = JoinSet::new();
        loop {
            if *shutdown.borrow() {
                break;
            }
            while runs.try_join_next().is_some() {}
            let mut claimed_any = false;
            if !kinds.is_empty() && runs.len() < runner.concurrency {
                match runner
                    .store
                    .claim_job(&kinds, &runner.worker, runner.lease)
                    .await
                {
                    Ok(Some(job)) => {
                        claimed_any = true;
                        runs.spawn(runner.clone().run_one(job));
                    }
                    Ok(None) => {}
                    Err(error) => tracing::warn!(%error, "claiming a job failed"),
                }
            }
            if claimed_any && runs.len() < runner.concurrency {
                continue; // there may be more due right now
            }
            tokio::select! {
                _ = runner.wake.notified() => {}
                _ = tokio::time::sleep(runner.poll_every) => {}
                _ = shutdown.changed() => {}
                Some(_) = runs.join_next(), if !runs.is_empty() => {}
            }
        }
        let drained = tokio::time::timeout(runner.grace, async {
            while runs.join_next().await.is_some() {}
        })
        .await;
        if drained.is_err() {
            tracing::warn!(
                jobs = runs.len(),
                "shutting down with jobs still running; their leases will expire and the store \
                 retries or fails them"
            );
            runs.shutdown().await;
        }
    }

    async fn run_one(self: Arc<Self>, job: Job) {
        let id = job.id;
        let Some(handler) = self.handlers.get(job.kind.as_str()).cloned() else {
            return; // cannot happen: we only claim kinds we have handlers for
        };
        let (cancel_tx, cancel_rx) = watch::channel(job.cancel_requested);
        if let Ok(mut running) = self.running.lock() {
            running.insert(id, cancel_tx.clone());
        }
        let ctx = JobContext {
            attempt: job.attempts,
            cancel: cancel_rx,
        };
        tracing::info!(job = %id, kind = %job.kind, attempt = job.attempts, "job started");
        let mut work = tokio::spawn(async move { handler.run(job, ctx).await });
        // When this run is abandoned (shutdown after the grace period), so is the handler.
        let _abort_handler = AbortOnDrop(work.abort_handle());
        let mut lost = false;
        let mut cancel_asked = false;
        let mut renew = tokio::time::interval(self.renew_every);
        renew.tick().await;
        let joined = loop {
            tokio::select! {
                result = &mut work => break result,
                _ = renew.tick() => {
                    match self.store.renew_job_lease(id, &self.worker, self.lease).await {
                        Ok(LeaseStatus::Held) => {}
                        Ok(LeaseStatus::CancelRequested) => {
                            cancel_asked = true;
                            let _ = cancel_tx.send(true);
                        }
                        Ok(LeaseStatus::Lost) => {
                            lost = true;
                            let _ = cancel_tx.send(true);
                        }
                        // A blip of the database: the lease has time left; try again.
                        Err(error) => tracing::warn!(job = %id, %error, "renewing a lease failed"),
                    }
                }
            }
        };
        if let Ok(mut running) = self.running.lock() {
            running.remove(&id);
        }
        cancel_asked |= *cancel_tx.borrow() && !lost;
        let outcome = match joined {
            Ok(outcome) => outcome,
            Err(error) => JobOutcome::Failed(format!("the job's handler crashed: {error}")),
        };
        let outcome = match outcome {
            JobOutcome::Failed(_) | JobOutcome::Retry { .. } if cancel_asked => {
                JobOutcome::Cancelled
            }
            other => other,
        };
        if lost {
            tracing::warn!(job = %id, "lease lost while running; the run's outcome is dropped");
            return;
        }
        tracing::info!(job = %id, outcome = ?outcome, "job finished");
        if let Err(error) = self.store.finish_job(id, &self.worker, outcome).await {
            tracing::error!(job = %id, %error, "recording a job's outcome failed; its lease will expire");
        }
    }
}

struct AbortOnDrop(tokio::task::AbortHandle);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}
