//! Pure presentation helpers for the portal: they turn catalog data into HTML and SVG
//! fragments. Nothing here does I/O or knows HTTP; every function is total over its input
//! (bad input yields a message in the output, never a panic).
#![forbid(unsafe_code)]

pub mod apidef;
pub mod graph;
pub mod highlight;
