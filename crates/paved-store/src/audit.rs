//! The audit log: one row per mutation made through the API or the portal (who, what, when,
//! the state before and after). Appended, never updated; read newest first.

use crate::sql::{Sql, get};
use crate::store::{SqlStore, now_millis};
use crate::{StoreError, StoreResult};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// What to record. `before`/`after` are whatever describes the state (a location, an entity,
/// an outcome); `None` where there is no such state (nothing before an addition).
#[derive(Clone, Debug, PartialEq)]
pub struct NewAuditEntry {
    /// Who: the API token's name, the portal session's, or `anonymous (loopback)`.
    pub actor: String,
    /// What, as `noun.verb`: `location.add`, `location.delete`, `entity.delete`,
    /// `entity.refresh`, `session.sign-in`.
    pub action: String,
    /// On what: a location target, an entity ref.
    pub target: String,
    pub before: Option<Value>,
    pub after: Option<Value>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AuditEntry {
    pub id: i64,
    /// Unix milliseconds.
    pub at: i64,
    pub actor: String,
    pub action: String,
    pub target: String,
    pub before: Option<Value>,
    pub after: Option<Value>,
}

fn json_text(value: &Option<Value>) -> Option<String> {
    value.as_ref().map(Value::to_string)
}

fn parse_json(text: Option<String>) -> Option<Value> {
    text.and_then(|t| serde_json::from_str(&t).ok())
}

impl SqlStore {
    pub(crate) async fn insert_audit_entry(&self, entry: NewAuditEntry) -> StoreResult<()> {
        let mut conn = self.writer_connection().await?;
        let mut sql =
            Sql::new("INSERT INTO audit_log (at, actor, action, target, before, after) VALUES (");
        sql.bind(now_millis())
            .push(", ")
            .bind(entry.actor)
            .push(", ")
            .bind(entry.action)
            .push(", ")
            .bind(entry.target)
            .push(", ")
            .bind(json_text(&entry.before))
            .push(", ")
            .bind(json_text(&entry.after))
            .push(")");
        sql.execute(&mut conn).await?;
        Ok(())
    }

    pub(crate) async fn select_audit_entries(
        &self,
        limit: usize,
        before_id: Option<i64>,
    ) -> StoreResult<Vec<AuditEntry>> {
        let mut conn = self.read().await?;
        let mut sql =
            Sql::new("SELECT id, at, actor, action, target, before, after FROM audit_log");
        if let Some(before_id) = before_id {
            sql.push(" WHERE id < ").bind(before_id);
        }
        sql.push(" ORDER BY id DESC LIMIT ")
            .bind(i64::try_from(limit).map_err(|_| StoreError::Invalid("limit too large".into()))?);
        sql.fetch_all(&mut conn)
            .await?
            .iter()
            .map(|row| {
                Ok(AuditEntry {
                    id: get(row, 0)?,
                    at: get(row, 1)?,
                    actor: get(row, 2)?,
                    action: get(row, 3)?,
                    target: get(row, 4)?,
                    before: parse_json(get(row, 5)?),
                    after: parse_json(get(row, 6)?),
                })
            })
            .collect()
    }
}
