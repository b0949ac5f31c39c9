//! paved's entity model: Backstage's entity envelope, entity references, relations, validation,
//! YAML parsing with source positions, and the catalog filter language.
//!
//! Invariant: this crate does no I/O and is not async. Its functions cannot fail except by
//! returning diagnostics.
#![forbid(unsafe_code)]

pub mod diagnostic;
pub mod entity;
pub mod entity_ref;
pub mod filter;
pub mod relations;
pub mod search;
pub mod validation;
pub mod yaml;

pub use diagnostic::{Diagnostic, Severity};
pub use entity::{EmittedRelation, Entity, ProcessedEntity, Relation, SourcePosition};
pub use entity_ref::{EntityRef, RefDefaults, RefError};
