//! The pruning job against a real SQLite store and the real job runner.

use paved_catalog::maintenance::{PRUNE_JOB, PruneHandler, Retention, schedule_pruning};
use paved_catalog::{CatalogService, CatalogSettings};
use paved_jobs::JobRunner;
use paved_store::{JobState, NewAuditEntry};
use std::sync::Arc;
use std::time::Duration;

#[tokio::test]
async fn pruning_runs_as_a_job_and_schedules_its_next_run() {
    let dir = tempfile::tempdir().unwrap();
    let root = std::fs::canonicalize(dir.path()).unwrap();
    std::fs::write(
        root.join("catalog-info.yaml"),
        "apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata:\n  name: a\nspec:\n  type: service\n  lifecycle: production\n  owner: t\n",
    )
    .unwrap();
    let url = format!("sqlite://{}", root.join("paved.db").display());
    let stores = paved_store::connect_stores(&url).await.unwrap();
    let mut settings = CatalogSettings::new(root.clone());
    settings.allowed_roots = vec![root.clone()];
    let catalog = Arc::new(CatalogService::new(stores.catalog.clone(), settings));
    let target = root.join("catalog-info.yaml").display().to_string();
    catalog.add_location("file", &target, false).await.unwrap();
    catalog
        .record_audit(NewAuditEntry {
            actor: "test".into(),
            action: "location.add".into(),
            target,
            before: None,
            after: None,
        })
        .await;
    assert!(catalog.recent_changes(10).await.unwrap().len() >= 2);
    tokio::time::sleep(Duration::from_millis(5)).await;

    let runner = JobRunner::new(stores.jobs.clone(), "test").poll_every(Duration::from_millis(50));
    let queue = runner.queue();
    let retention = Retention {
        changes: Duration::ZERO,
        audit: Duration::ZERO,
        jobs: Duration::from_secs(3600),
        every: Duration::from_secs(3600),
    };
    let runner = runner.register(Arc::new(PruneHandler::new(
        catalog.clone(),
        stores.jobs.clone(),
        queue.clone(),
        retention,
    )));
    // Both schedules happen before any worker runs, so the first is still queued when the
    // second comes (once it has run, a new one is due and may be queued).
    let first = schedule_pruning(&queue, Duration::ZERO).await.unwrap();
    let again = schedule_pruning(&queue, Duration::ZERO).await.unwrap();
    assert_eq!(first.id, again.id, "a queued pruning is not enqueued twice");
    let (_stop, stopped) = tokio::sync::watch::channel(false);
    let (queue, _handle) = runner.spawn(stopped);

    let mut state = JobState::Queued;
    for _ in 0..200 {
        state = queue.job(first.id).await.unwrap().unwrap().state;
        if state.is_final() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    assert_eq!(state, JobState::Succeeded);
    assert_eq!(
        catalog.recent_changes(10).await.unwrap().len(),
        1,
        "only the newest stays"
    );
    assert!(catalog.audit_log(10, None).await.unwrap().is_empty());
    let jobs = stores.jobs.list_jobs(Some(PRUNE_JOB), 10).await.unwrap();
    assert_eq!(jobs.len(), 2);
    assert_eq!(
        jobs[0].state,
        JobState::Queued,
        "the next run waits an hour"
    );
}
