//! Scaffolder tasks: one row per template run (its spec, status, output) and an append-only
//! list of events per task (log lines, completion, cancellation), read by cursor (`after`).

use crate::sql::{Sql, get};
use crate::store::{SqlStore, now_millis};
use crate::{StoreError, StoreResult};
use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// A task's status, with Backstage's names.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TaskStatus {
    Open,
    Processing,
    Failed,
    Cancelled,
    Completed,
}

impl TaskStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            TaskStatus::Open => "open",
            TaskStatus::Processing => "processing",
            TaskStatus::Failed => "failed",
            TaskStatus::Cancelled => "cancelled",
            TaskStatus::Completed => "completed",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Some(match text {
            "open" => TaskStatus::Open,
            "processing" => TaskStatus::Processing,
            "failed" => TaskStatus::Failed,
            "cancelled" => TaskStatus::Cancelled,
            "completed" => TaskStatus::Completed,
            _ => return None,
        })
    }

    pub fn is_final(self) -> bool {
        matches!(
            self,
            TaskStatus::Failed | TaskStatus::Cancelled | TaskStatus::Completed
        )
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct NewTask {
    pub id: String,
    pub spec: Value,
    pub created_by: Option<String>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct StoredTask {
    pub id: String,
    pub spec: Value,
    pub status: TaskStatus,
    pub created_by: Option<String>,
    pub job_id: Option<i64>,
    pub output: Option<Value>,
    /// Unix milliseconds.
    pub created_at: i64,
    pub updated_at: i64,
    pub last_heartbeat_at: Option<i64>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct TaskEvent {
    pub id: i64,
    pub task_id: String,
    /// `log`, `completion`, `cancelled`, `recovered`.
    pub event_type: String,
    pub body: Value,
    pub created_at: i64,
}

#[async_trait]
pub trait TaskStore: Send + Sync + 'static {
    async fn create_task(&self, task: NewTask) -> StoreResult<StoredTask>;
    async fn task(&self, id: &str) -> StoreResult<Option<StoredTask>>;
    /// Newest first; `created_by` filters; returns the page and the total.
    async fn list_tasks(
        &self,
        created_by: Option<&str>,
        limit: usize,
        offset: usize,
    ) -> StoreResult<(Vec<StoredTask>, u64)>;
    async fn set_task_job(&self, id: &str, job_id: i64) -> StoreResult<()>;
    /// Sets the status (and the output when given). A final status is never changed again:
    /// `Ok(false)` then.
    async fn set_task_status(
        &self,
        id: &str,
        status: TaskStatus,
        output: Option<Value>,
    ) -> StoreResult<bool>;
    async fn heartbeat_task(&self, id: &str) -> StoreResult<()>;
    /// Opens a failed or cancelled task again (retry); `Ok(false)` when it is not one.
    async fn reopen_task(&self, id: &str) -> StoreResult<bool>;
    async fn append_task_event(
        &self,
        task_id: &str,
        event_type: &str,
        body: Value,
    ) -> StoreResult<TaskEvent>;
    /// Events with id greater than `after`, oldest first, at most `limit`.
    async fn task_events(
        &self,
        task_id: &str,
        after: Option<i64>,
        limit: usize,
    ) -> StoreResult<Vec<TaskEvent>>;
}

const TASK_COLUMNS: &str =
    "id, spec, status, created_by, job_id, output, created_at, updated_at, last_heartbeat_at";

fn json(text: &str, what: &str) -> StoreResult<Value> {
    serde_json::from_str(text).map_err(|e| StoreError::Database(format!("{what} is not JSON: {e}")))
}

fn task_from_row(row: &crate::sql::Row) -> StoreResult<StoredTask> {
    let spec: String = get(row, 1)?;
    let status: String = get(row, 2)?;
    let output: Option<String> = get(row, 5)?;
    Ok(StoredTask {
        id: get(row, 0)?,
        spec: json(&spec, "task spec")?,
        status: TaskStatus::parse(&status)
            .ok_or_else(|| StoreError::Database(format!("unknown task status {status:?}")))?,
        created_by: get(row, 3)?,
        job_id: get(row, 4)?,
        output: output.map(|o| json(&o, "task output")).transpose()?,
        created_at: get(row, 6)?,
        updated_at: get(row, 7)?,
        last_heartbeat_at: get(row, 8)?,
    })
}

fn limit_value(n: usize) -> StoreResult<i64> {
    i64::try_from(n).map_err(|_| StoreError::Invalid("limit too large".into()))
}

#[async_trait]
impl TaskStore for SqlStore {
    async fn create_task(&self, task: NewTask) -> StoreResult<StoredTask> {
        let now = now_millis();
        let mut conn = self.writer_connection().await?;
        let mut sql = Sql::new(
            "INSERT INTO scaffolder_tasks (id, spec, status, created_by, created_at, updated_at) VALUES (",
        );
        sql.bind(task.id.clone())
            .push(", ")
            .bind(task.spec.to_string())
            .push(", 'open', ")
            .bind(task.created_by.clone())
            .push(", ")
            .bind(now)
            .push(", ")
            .bind(now)
            .push(&format!(") RETURNING {TASK_COLUMNS}"));
        let row = sql
            .fetch_optional(&mut conn)
            .await?
            .ok_or_else(|| StoreError::Database("insert returned nothing".into()))?;
        task_from_row(&row)
    }

    async fn task(&self, id: &str) -> StoreResult<Option<StoredTask>> {
        let mut conn = self.read().await?;
        let mut sql = Sql::new(&format!(
            "SELECT {TASK_COLUMNS} FROM scaffolder_tasks WHERE id = "
        ));
        sql.bind(id.to_string());
        sql.fetch_optional(&mut conn)
            .await?
            .as_ref()
            .map(task_from_row)
            .transpose()
    }

    async fn list_tasks(
        &self,
        created_by: Option<&str>,
        limit: usize,
        offset: usize,
    ) -> StoreResult<(Vec<StoredTask>, u64)> {
        let mut conn = self.read().await?;
        let filter = |sql: &mut Sql| {
            if let Some(by) = created_by {
                sql.push(" WHERE created_by = ").bind(by.to_string());
            }
        };
        let mut count = Sql::new("SELECT COUNT(*) FROM scaffolder_tasks");
        filter(&mut count);
        let total: i64 = match count.fetch_optional(&mut conn).await? {
            Some(row) => get(&row, 0)?,
            None => 0,
        };
        let mut sql = Sql::new(&format!("SELECT {TASK_COLUMNS} FROM scaffolder_tasks"));
        filter(&mut sql);
        sql.push(" ORDER BY created_at DESC, id DESC LIMIT ")
            .bind(limit_value(limit)?)
            .push(" OFFSET ")
            .bind(limit_value(offset)?);
        let tasks = sql
            .fetch_all(&mut conn)
            .await?
            .iter()
            .map(task_from_row)
            .collect::<StoreResult<Vec<_>>>()?;
        Ok((tasks, u64::try_from(total).unwrap_or(0)))
    }

    async fn set_task_job(&self, id: &str, job_id: i64) -> StoreResult<()> {
        let mut conn = self.writer_connection().await?;
        let mut sql = Sql::new("UPDATE scaffolder_tasks SET job_id = ");
        sql.bind(job_id)
            .push(", updated_at = ")
            .bind(now_millis())
            .push(" WHERE id = ")
            .bind(id.to_string());
        if sql.execute(&mut conn).await? == 0 {
            return Err(StoreError::NotFound(format!("task {id} not found")));
        }
        Ok(())
    }

    async fn set_task_status(
        &self,
        id: &str,
        status: TaskStatus,
        output: Option<Value>,
    ) -> StoreResult<bool> {
        let mut conn = self.writer_connection().await?;
        let mut sql = Sql::new("UPDATE scaffolder_tasks SET status = ");
        sql.bind(status.as_str().to_string())
            .push(", updated_at = ")
            .bind(now_millis());
        if let Some(output) = output {
            sql.push(", output = ").bind(output.to_string());
        }
        sql.push(" WHERE id = ")
            .bind(id.to_string())
            .push(" AND status NOT IN ('failed', 'cancelled', 'completed')");
        Ok(sql.execute(&mut conn).await? > 0)
    }

    async fn heartbeat_task(&self, id: &str) -> StoreResult<()> {
        let mut conn = self.writer_connection().await?;
        let mut sql = Sql::new("UPDATE scaffolder_tasks SET last_heartbeat_at = ");
        sql.bind(now_millis())
            .push(" WHERE id = ")
            .bind(id.to_string());
        sql.execute(&mut conn).await?;
        Ok(())
    }

    async fn reopen_task(&self, id: &str) -> StoreResult<bool> {
        let mut conn = self.writer_connection().await?;
        let mut sql =
            Sql::new("UPDATE scaffolder_tasks SET status = 'open', output = NULL, updated_at = ");
        sql.bind(now_millis())
            .push(" WHERE id = ")
            .bind(id.to_string())
            .push(" AND status IN ('failed', 'cancelled')");
        Ok(sql.execute(&mut conn).await? > 0)
    }

    async fn append_task_event(
        &self,
        task_id: &str,
        event_type: &str,
        body: Value,
    ) -> StoreResult<TaskEvent> {
        let now = now_millis();
        let mut conn = self.writer_connection().await?;
        let mut sql = Sql::new(
            "INSERT INTO scaffolder_task_events (task_id, event_type, body, created_at) VALUES (",
        );
        sql.bind(task_id.to_string())
            .push(", ")
            .bind(event_type.to_string())
            .push(", ")
            .bind(body.to_string())
            .push(", ")
            .bind(now)
            .push(") RETURNING id");
        let row = sql
            .fetch_optional(&mut conn)
            .await
            .map_err(|e| match e {
                StoreError::Database(m) if m.to_ascii_lowercase().contains("foreign key") => {
                    StoreError::NotFound(format!("task {task_id} not found"))
                }
                other => other,
            })?
            .ok_or_else(|| StoreError::Database("insert returned nothing".into()))?;
        Ok(TaskEvent {
            id: get(&row, 0)?,
            task_id: task_id.to_string(),
            event_type: event_type.to_string(),
            body,
            created_at: now,
        })
    }

    async fn task_events(
        &self,
        task_id: &str,
        after: Option<i64>,
        limit: usize,
    ) -> StoreResult<Vec<TaskEvent>> {
        let mut conn = self.read().await?;
        let mut sql = Sql::new(
            "SELECT id, task_id, event_type, body, created_at FROM scaffolder_task_events WHERE task_id = ",
        );
        sql.bind(task_id.to_string());
        if let Some(after) = after {
            sql.push(" AND id > ").bind(after);
        }
        sql.push(" ORDER BY id LIMIT ").bind(limit_value(limit)?);
        sql.fetch_all(&mut conn)
            .await?
            .iter()
            .map(|row| {
                let body: String = get(row, 3)?;
                Ok(TaskEvent {
                    id: get(row, 0)?,
                    task_id: get(row, 1)?,
                    event_type: get(row, 2)?,
                    body: json(&body, "task event")?,
                    created_at: get(row, 4)?,
                })
            })
            .collect()
    }
}
