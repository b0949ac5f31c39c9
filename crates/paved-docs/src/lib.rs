//! paved's documentation sites, TechDocs-style: docs as code next to the catalog.
//!
//! For an entity with `backstage.io/techdocs-ref`, [`source`] finds the folder with its
//! `mkdocs.yml` (or README.md) through the catalog's confinement, [`site`] reads the nav and the
//! Markdown pages and collects build problems, [`markdown`] turns each page into safe HTML with
//! a table of contents, and [`service::DocsService`] runs builds as `docs.build` jobs, follows
//! catalog changes and serves what the store holds.
//!
//! Invariant: no HTTP here, no SQL (the store's `DocsStore` keeps sites and pages); every file
//! read stays inside the allowed roots or the git checkout.
#![forbid(unsafe_code)]

pub mod error;
pub mod markdown;
pub mod service;
pub mod site;
pub mod source;

pub use error::DocsError;
pub use service::{
    BUILD_JOB, BuildJobHandler, BuildOutcome, DocsService, DocsSettings, SiteProblems,
    docs_base_url, site_key,
};
pub use site::{BuiltSite, Limits, NavNode, Problem, build_site};
