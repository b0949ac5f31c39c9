//! Runs a template's steps in a workspace, as Backstage's NunjucksWorkflowRunner does: each
//! step's `if` and `each` and `input` are rendered against `parameters`, the outputs of the
//! steps before it, `secrets`, `user` and `context`; the input is checked against the action's
//! schema; the action runs; its output becomes `steps.<id>.output`. Then `output` is rendered.

use crate::actions::{ActionContext, ActionError, ActionRegistry, Services, validate_input};
use crate::log::{StepStatus, TaskLog};
use crate::render::{Renderer, is_truthy};
use crate::template::Template;
use serde_json::{Map, Value, json};
use std::path::PathBuf;
use tokio::sync::watch;

/// What to run, with what, where.
pub struct RunOptions<'a> {
    pub task_id: String,
    pub template: &'a Template,
    /// The folder holding the template's files (`None` for a template without files).
    pub template_dir: Option<PathBuf>,
    pub values: Value,
    pub secrets: Map<String, Value>,
    /// `{ "ref": "user:default/ada", "entity": {…} }`.
    pub user: Value,
    pub workspace: PathBuf,
    /// Actions that do not support dry runs are skipped; nothing is published or registered.
    pub dry_run: bool,
}

/// The result of a successful run.
#[derive(Clone, Debug, PartialEq)]
pub struct RunOutcome {
    /// The template's rendered `output` (`links`, `text`, …).
    pub output: Value,
    /// `steps.<id>.output` of every step that ran.
    pub steps: Map<String, Value>,
}

#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error("step {step_id} failed: {message}")]
    StepFailed { step_id: String, message: String },
    #[error("the task was cancelled during step {step_id}")]
    Cancelled { step_id: String },
    #[error("{0}")]
    Invalid(String),
}

/// Resolves when `cancel` turns true (or its sender is gone, which also ends the run).
async fn cancelled(cancel: &mut watch::Receiver<bool>) {
    loop {
        if *cancel.borrow() {
            return;
        }
        if cancel.changed().await.is_err() {
            std::future::pending::<()>().await;
        }
    }
}

pub async fn run_template(
    registry: &ActionRegistry,
    services: &Services,
    options: RunOptions<'_>,
    log: &TaskLog,
    mut cancel: watch::Receiver<bool>,
) -> Result<RunOutcome, RunError> {
    let renderer = Renderer::default();
    std::fs::create_dir_all(&options.workspace)
        .map_err(|e| RunError::Invalid(format!("cannot create the workspace: {e}")))?;
    let mut context = json!({
        "parameters": options.values,
        "steps": {},
        "secrets": options.secrets,
        "user": options.user,
        "context": { "task": { "id": options.task_id } },
        "templateInfo": { "entityRef": options.template.entity_ref },
    });
    let mut step_outputs = Map::new();
    for step in &options.template.steps {
        if *cancel.borrow() {
            log.step_status(&step.id, StepStatus::Cancelled, "The task was cancelled");
            return Err(RunError::Cancelled {
                step_id: step.id.clone(),
            });
        }
        let fail = |message: String| {
            log.step_status(&step.id, StepStatus::Failed, &message);
            RunError::StepFailed {
                step_id: step.id.clone(),
                message,
            }
        };
        if let Some(condition) = &step.condition {
            let rendered = match condition {
                Value::String(_) => renderer
                    .render_value(condition, &context)
                    .map_err(|e| fail(format!("cannot evaluate `if`: {e}")))?,
                other => other.clone(),
            };
            if !is_truthy(Some(&rendered)) {
                log.step_status(
                    &step.id,
                    StepStatus::Skipped,
                    &format!(
                        "Skipping step {} because its if condition was false",
                        step.id
                    ),
                );
                continue;
            }
        }
        let Some(action) = registry.get(&step.action) else {
            return Err(fail(format!(
                "Template action with ID '{}' is not registered.",
                step.action
            )));
        };
        if options.dry_run && !action.supports_dry_run() {
            log.step_status(
                &step.id,
                StepStatus::Skipped,
                &format!("Skipping because {} does not support dry-run", step.action),
            );
            continue;
        }
        let iterations: Vec<Option<Value>> = match &step.each {
            None => vec![None],
            Some(each) => {
                let rendered = renderer
                    .render_value(each, &context)
                    .map_err(|e| fail(format!("cannot evaluate `each`: {e}")))?;
                match rendered {
                    Value::Array(items) => items
                        .into_iter()
                        .enumerate()
                        .map(|(i, value)| Some(json!({ "key": i.to_string(), "value": value })))
                        .collect(),
                    Value::Object(entries) => entries
                        .into_iter()
                        .map(|(key, value)| Some(json!({ "key": key, "value": value })))
                        .collect(),
                    other => {
                        return Err(fail(format!(
                            "`each` must be an array or an object, got {other}"
                        )));
                    }
                }
            }
        };
        log.step_status(
            &step.id,
            StepStatus::Processing,
            &format!("Beginning step {}", step.name),
        );
        let mut output = Map::new();
        for iteration in iterations {
            let mut iteration_context = context.clone();
            if let Some(each) = &iteration {
                iteration_context["each"] = each.clone();
            }
            let input = renderer
                .render_value(&step.input, &iteration_context)
                .map_err(|e| fail(format!("cannot render the input: {e}")))?;
            if let Err(errors) = validate_input(&action.input_schema(), &input) {
                return Err(fail(format!(
                    "Invalid input passed to action {}: {}",
                    step.action,
                    errors.join("; ")
                )));
            }
            let mut action_context = ActionContext {
                task_id: &options.task_id,
                step_id: &step.id,
                input,
                workspace: &options.workspace,
                template_dir: options.template_dir.as_deref(),
                services,
                log,
                secrets: &options.secrets,
                user: &options.user,
                dry_run: options.dry_run,
                output: Map::new(),
            };
            let result = tokio::select! {
                result = action.run(&mut action_context) => result,
                _ = cancelled(&mut cancel) => Err(ActionError::Cancelled),
            };
            match result {
                Ok(()) => {}
                Err(ActionError::Cancelled) => {
                    log.step_status(&step.id, StepStatus::Cancelled, "The task was cancelled");
                    return Err(RunError::Cancelled {
                        step_id: step.id.clone(),
                    });
                }
                Err(e) => return Err(fail(e.to_string())),
            }
            for (name, value) in action_context.output {
                if iteration.is_some() {
                    if let Value::Array(items) = output
                        .entry(name)
                        .or_insert_with(|| Value::Array(Vec::new()))
                    {
                        items.push(value);
                    }
                } else {
                    output.insert(name, value);
                }
            }
        }
        let output = Value::Object(output);
        context["steps"][&step.id] = json!({ "output": output.clone() });
        step_outputs.insert(step.id.clone(), output);
        log.step_status(
            &step.id,
            StepStatus::Completed,
            &format!("Finished step {}", step.name),
        );
    }
    let output = renderer
        .render_value(&options.template.output, &context)
        .map_err(|e| RunError::Invalid(format!("cannot render the template's output: {e}")))?;
    Ok(RunOutcome {
        output,
        steps: step_outputs,
    })
}
