//! The runner against a real SQLite store: jobs run once, cancellation reaches a running job,
//! a crashed runner's job is taken over as a new attempt, a panicking handler fails its job.

use async_trait::async_trait;
use paved_jobs::{JobContext, JobHandler, JobQueue, JobRunner};
use paved_store::{Job, JobId, JobOutcome, JobState, JobStore, NewJob, connect_stores};
use serde_json::json;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::watch;

/// Records what it ran; `"wait"` payloads run until cancelled, `"panic"` ones panic.
#[derive(Default)]
struct Recorder {
    seen: Mutex<Vec<(i64, u32, serde_json::Value)>>,
}

#[async_trait]
impl JobHandler for Recorder {
    fn kind(&self) -> &'static str {
        "test.record"
    }
    async fn run(&self, job: Job, ctx: JobContext) -> JobOutcome {
        self.seen
            .lock()
            .unwrap()
            .push((job.id.0, ctx.attempt(), job.payload.clone()));
        match job.payload["mode"].as_str() {
            Some("wait") => {
                ctx.cancellation().await;
                JobOutcome::Cancelled
            }
            Some("panic") => panic!("handler bug"),
            _ => JobOutcome::Succeeded,
        }
    }
}

async fn store(dir: &tempfile::TempDir) -> Arc<dyn JobStore> {
    let url = format!("sqlite://{}", dir.path().join("jobs.db").display());
    connect_stores(&url).await.expect("store").jobs
}

fn runner(store: Arc<dyn JobStore>, worker: &str, handler: Arc<Recorder>) -> JobRunner {
    JobRunner::new(store, worker)
        .register(handler)
        .lease(Duration::from_millis(300), Duration::from_millis(50))
        .poll_every(Duration::from_millis(50))
        .shutdown_grace(Duration::from_millis(200))
}

async fn wait_for_state(queue: &JobQueue, id: JobId, state: JobState) -> Job {
    for _ in 0..200 {
        let job = queue.job(id).await.unwrap().unwrap();
        if job.state == state {
            return job;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!(
        "job {id} never reached {state:?}: {:?}",
        queue.job(id).await.unwrap()
    );
}

#[tokio::test]
async fn enqueued_jobs_run_once_and_succeed() {
    let dir = tempfile::tempdir().unwrap();
    let handler = Arc::new(Recorder::default());
    let (shutdown_tx, shutdown) = watch::channel(false);
    let (queue, handle) = runner(store(&dir).await, "w1", handler.clone()).spawn(shutdown);
    let a = queue
        .enqueue(NewJob::new("test.record", json!({"n": 1})))
        .await
        .unwrap();
    let b = queue
        .enqueue(NewJob::new("test.record", json!({"n": 2})))
        .await
        .unwrap();
    wait_for_state(&queue, a.id, JobState::Succeeded).await;
    wait_for_state(&queue, b.id, JobState::Succeeded).await;
    let seen = handler.seen.lock().unwrap().clone();
    assert_eq!(
        seen,
        vec![(a.id.0, 1, json!({"n": 1})), (b.id.0, 1, json!({"n": 2}))]
    );
    shutdown_tx.send(true).unwrap();
    handle.await.unwrap();
}

#[tokio::test]
async fn cancelling_a_running_job_stops_it() {
    let dir = tempfile::tempdir().unwrap();
    let handler = Arc::new(Recorder::default());
    let (_shutdown_tx, shutdown) = watch::channel(false);
    let (queue, _handle) = runner(store(&dir).await, "w1", handler.clone()).spawn(shutdown);
    let job = queue
        .enqueue(NewJob::new("test.record", json!({"mode": "wait"})))
        .await
        .unwrap();
    wait_for_state(&queue, job.id, JobState::Running).await;
    let asked = queue.cancel(job.id).await.unwrap().unwrap();
    assert!(asked.cancel_requested);
    wait_for_state(&queue, job.id, JobState::Cancelled).await;
}

#[tokio::test]
async fn a_crashed_runners_job_is_taken_over_as_a_new_attempt() {
    let dir = tempfile::tempdir().unwrap();
    let jobs = store(&dir).await;
    let first = Arc::new(Recorder::default());
    let (_tx1, shutdown1) = watch::channel(false);
    let (queue, crashed) = runner(jobs.clone(), "crashing", first.clone()).spawn(shutdown1);
    let mut new = NewJob::new("test.record", json!({"mode": "wait"}));
    new.max_attempts = 2;
    let job = queue.enqueue(new).await.unwrap();
    wait_for_state(&queue, job.id, JobState::Running).await;
    crashed.abort(); // the process dies: no finish, no more renewals
    let _ = crashed.await;

    let second = Arc::new(Recorder::default());
    let (_tx2, shutdown2) = watch::channel(false);
    let (queue2, _handle) = runner(jobs.clone(), "survivor", second.clone()).spawn(shutdown2);
    for _ in 0..200 {
        if !second.seen.lock().unwrap().is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    assert_eq!(second.seen.lock().unwrap()[0].0, job.id.0);
    assert_eq!(
        second.seen.lock().unwrap()[0].1,
        2,
        "the takeover is the second attempt"
    );
    queue2.cancel(job.id).await.unwrap();
    wait_for_state(&queue2, job.id, JobState::Cancelled).await;
}

#[tokio::test]
async fn a_panicking_handler_fails_its_job_and_the_runner_goes_on() {
    let dir = tempfile::tempdir().unwrap();
    let handler = Arc::new(Recorder::default());
    let (_shutdown_tx, shutdown) = watch::channel(false);
    let (queue, _handle) = runner(store(&dir).await, "w1", handler.clone()).spawn(shutdown);
    let bad = queue
        .enqueue(NewJob::new("test.record", json!({"mode": "panic"})))
        .await
        .unwrap();
    let failed = wait_for_state(&queue, bad.id, JobState::Failed).await;
    assert!(failed.last_error.unwrap().contains("crashed"));
    let good = queue
        .enqueue(NewJob::new("test.record", json!({})))
        .await
        .unwrap();
    wait_for_state(&queue, good.id, JobState::Succeeded).await;
}
