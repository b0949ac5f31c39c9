//! `debug:log` and `debug:wait`.

use super::{Action, ActionContext, ActionError};
use async_trait::async_trait;
use serde_json::{Value, json};
use std::time::Duration;

pub struct Log;

#[async_trait]
impl Action for Log {
    fn id(&self) -> &'static str {
        "debug:log"
    }
    fn description(&self) -> &'static str {
        "Writes a message into the log and/or lists all files in the workspace."
    }
    fn supports_dry_run(&self) -> bool {
        true
    }
    fn input_schema(&self) -> Value {
        json!({
            "type": "object",
            "properties": {
                "message": { "title": "Message to output.", "type": "string" },
                "listWorkspace": { "title": "List all files in the workspace, if true.", "type": ["boolean", "string"], "enum": [true, false, "with-filenames", "with-contents"] },
                "extra": { "title": "Extra info" },
            },
        })
    }
    async fn run(&self, ctx: &mut ActionContext<'_>) -> Result<(), ActionError> {
        if let Some(message) = ctx.str_input("message") {
            ctx.info(message);
        }
        let list = ctx
            .input
            .get("listWorkspace")
            .cloned()
            .unwrap_or(Value::Bool(false));
        if list == json!(true) || list == json!("with-filenames") || list == json!("with-contents")
        {
            let mut lines = vec!["Workspace:".to_string()];
            for entry in walkdir::WalkDir::new(ctx.workspace)
                .follow_links(false)
                .sort_by_file_name()
                .min_depth(1)
            {
                let entry = entry.map_err(|e| ActionError::Failed(e.to_string()))?;
                if entry.file_type().is_file() {
                    let rel = crate::confine::relative_display(ctx.workspace, entry.path());
                    if list == json!("with-contents") {
                        let text = std::fs::read_to_string(entry.path())
                            .unwrap_or_else(|_| "(binary)".into());
                        lines.push(format!("  - {rel}:\n{text}"));
                    } else {
                        lines.push(format!("  - {rel}"));
                    }
                }
            }
            ctx.info(lines.join("\n"));
        }
        Ok(())
    }
}

pub struct Wait;

/// The longest wait a template may ask for.
const MAX_WAIT: Duration = Duration::from_secs(600);

#[async_trait]
impl Action for Wait {
    fn id(&self) -> &'static str {
        "debug:wait"
    }
    fn description(&self) -> &'static str {
        "Waits for a certain period of time (at most 10 minutes)."
    }
    fn supports_dry_run(&self) -> bool {
        true
    }
    fn input_schema(&self) -> Value {
        json!({
            "type": "object",
            "properties": {
                "minutes": { "title": "Waiting period in minutes.", "type": "number" },
                "seconds": { "title": "Waiting period in seconds.", "type": "number" },
                "milliseconds": { "title": "Waiting period in milliseconds.", "type": "number" },
            },
        })
    }
    async fn run(&self, ctx: &mut ActionContext<'_>) -> Result<(), ActionError> {
        let number = |key: &str| {
            ctx.input
                .get(key)
                .and_then(Value::as_f64)
                .unwrap_or(0.0)
                .max(0.0)
        };
        let millis =
            number("minutes") * 60_000.0 + number("seconds") * 1000.0 + number("milliseconds");
        let wait = Duration::from_millis(millis as u64);
        if wait > MAX_WAIT {
            return Err(ActionError::Invalid(format!(
                "debug:wait may wait at most {} seconds",
                MAX_WAIT.as_secs()
            )));
        }
        ctx.info(format!("Waiting {} ms", wait.as_millis()));
        tokio::time::sleep(wait).await;
        Ok(())
    }
}
