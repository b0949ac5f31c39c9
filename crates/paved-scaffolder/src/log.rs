//! A task's log: lines with the step they belong to and step status changes, in Backstage's
//! event body shape (`{message, stepId?, status?}`). Secrets are masked before a line is kept.

use serde::Serialize;
use serde_json::{Map, Value};
use std::sync::Mutex;
use tokio::sync::mpsc::UnboundedSender;

/// A step's state in the log, as Backstage's UI reads it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum StepStatus {
    Processing,
    Completed,
    Failed,
    Skipped,
    Cancelled,
}

/// One line of a task's log.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LogLine {
    pub message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub step_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<StepStatus>,
}

/// Where a task's log goes: a channel (the task runner stores the lines as events) and/or a
/// list kept in memory (dry runs, the CLI).
pub struct TaskLog {
    sender: Option<UnboundedSender<LogLine>>,
    kept: Option<Mutex<Vec<LogLine>>>,
    secrets: Vec<String>,
    echo: bool,
}

impl TaskLog {
    /// Lines are sent to `sender`.
    pub fn channel(sender: UnboundedSender<LogLine>, secrets: &Map<String, Value>) -> Self {
        TaskLog {
            sender: Some(sender),
            kept: None,
            secrets: secret_texts(secrets),
            echo: false,
        }
    }

    /// Lines are kept in memory; `echo` also prints them to stderr (the CLI).
    pub fn collect(secrets: &Map<String, Value>, echo: bool) -> Self {
        TaskLog {
            sender: None,
            kept: Some(Mutex::new(Vec::new())),
            secrets: secret_texts(secrets),
            echo,
        }
    }

    pub fn lines(&self) -> Vec<LogLine> {
        self.kept
            .as_ref()
            .map(|k| k.lock().map(|l| l.clone()).unwrap_or_default())
            .unwrap_or_default()
    }

    pub fn push(&self, mut line: LogLine) {
        for secret in &self.secrets {
            if line.message.contains(secret.as_str()) {
                line.message = line.message.replace(secret.as_str(), "***");
            }
        }
        if self.echo {
            match &line.step_id {
                Some(step) => eprintln!("[{step}] {}", line.message),
                None => eprintln!("{}", line.message),
            }
        }
        if let Some(kept) = &self.kept
            && let Ok(mut kept) = kept.lock()
        {
            kept.push(line.clone());
        }
        if let Some(sender) = &self.sender {
            let _ = sender.send(line);
        }
    }

    pub fn info(&self, message: &str) {
        self.push(LogLine {
            message: message.to_string(),
            step_id: None,
            status: None,
        });
    }

    pub fn step(&self, step_id: &str, message: &str) {
        self.push(LogLine {
            message: message.to_string(),
            step_id: Some(step_id.to_string()),
            status: None,
        });
    }

    pub fn step_status(&self, step_id: &str, status: StepStatus, message: &str) {
        self.push(LogLine {
            message: message.to_string(),
            step_id: Some(step_id.to_string()),
            status: Some(status),
        });
    }
}

/// Secret values long enough to mask without blanking common words.
fn secret_texts(secrets: &Map<String, Value>) -> Vec<String> {
    let mut out: Vec<String> = secrets
        .values()
        .filter_map(|v| match v {
            Value::String(s) => Some(s.clone()),
            Value::Null => None,
            other => Some(other.to_string()),
        })
        .filter(|s| s.len() >= 3)
        .collect();
    out.sort_by_key(|s| std::cmp::Reverse(s.len()));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_secrets() {
        let mut secrets = Map::new();
        secrets.insert("token".into(), Value::String("hunter2-token".into()));
        let log = TaskLog::collect(&secrets, false);
        log.step("publish", "pushing with hunter2-token");
        assert_eq!(log.lines()[0].message, "pushing with ***");
    }
}
