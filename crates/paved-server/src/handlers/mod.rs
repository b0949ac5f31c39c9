//! The HTTP handlers: each parses its request, calls `CatalogService`, maps the result.

pub mod entities;
pub mod health;
pub mod locations;
pub mod paved;
pub mod scaffolder;
pub mod search;
pub mod techdocs;
