//! paved's scaffolder: Backstage `scaffolder.backstage.io/v1beta3` Software Templates.
//! [`template`] reads Template entities, [`render`] renders `${{ … }}` with minijinja the way
//! Backstage's nunjucks does, [`actions`] are what steps do, [`runner`] runs a template's steps
//! in a workspace, and [`service`] keeps tasks in the store and runs them as jobs.
//!
//! Invariant: no HTTP types and no SQL here. Every file access goes through [`confine`]: a
//! template reads only inside its own folder and writes only inside its task's workspace.
#![forbid(unsafe_code)]

pub mod actions;
pub mod confine;
pub mod filters;
pub mod form;
pub mod git;
pub mod log;
pub mod render;
pub mod runner;
pub mod service;
pub mod template;

pub use actions::{Action, ActionContext, ActionError, ActionRegistry, CatalogAccess, Services};
pub use log::{LogLine, StepStatus, TaskLog};
pub use render::{RenderError, Renderer, Syntax};
pub use runner::{RunError, RunOptions, RunOutcome, run_template};
pub use service::{
    FieldError, ScaffolderError, ScaffolderService, ScaffolderSettings, TaskJobHandler,
};
pub use template::{ParameterStep, StepSpec, Template, lint_template, parse_template};
