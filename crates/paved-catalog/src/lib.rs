//! paved's catalog: reads locations (files, directories, globs, git repositories), turns their
//! YAML into validated entities with relations, and keeps the store current (on demand and on
//! a schedule). [`CatalogService`] is what the HTTP server and the CLI call.
//!
//! Invariant: no HTTP types and no SQL here; storage goes through `paved_store::CatalogStore`.
#![forbid(unsafe_code)]

pub mod error;
pub mod facet_cache;
pub mod git;
pub mod ingest;
pub mod location;
pub mod maintenance;
pub mod placeholder;
pub mod processor;
pub mod rules;
pub mod service;

pub use error::CatalogError;
pub use ingest::validate_files;
pub use location::{AllowedRoots, LocationSpec};
pub use rules::{CatalogRule, CatalogRules, RuleLocation};
pub use service::{
    AddLocationOutcome, CatalogResult, CatalogService, CatalogSettings, ValidationReport,
};
