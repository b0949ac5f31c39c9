//! The process's memory allocator: mimalloc, told to return freed memory to the system
//! sooner than it does by default.
//!
//! mimalloc 3 keeps freed pages for a second before it gives them back (its purge delay),
//! and only when the thread that owns them allocates again. paved's work comes in bursts
//! on many threads (an ingestion's parse batches and stitch chunks, the search index's
//! build), so the pages of one burst were still held when the next began: a 100k ingestion
//! peaked at 246–274 MiB with the default and at 196–208 MiB with a 50 ms delay, for 1–4%
//! more CPU time and no measurable change of wall time (docs/PERFORMANCE.md, "2026-12-04
//! (evening)").
//!
//! The one crate of the workspace that is not `#![forbid(unsafe_code)]`: setting the option
//! is a call into mimalloc's C API. It is the only unsafe code here, and it takes and
//! returns plain integers.
#![deny(unsafe_code)]

use std::os::raw::{c_int, c_long};

pub use mimalloc::MiMalloc;

/// How long freed memory is kept for reuse before it goes back to the system.
pub const PURGE_DELAY_MS: i64 = 50;

/// The environment variable mimalloc reads the purge delay from when the process starts: a
/// value set there is left as it is.
pub const PURGE_DELAY_ENV: &str = "MIMALLOC_PURGE_DELAY";

/// `mi_option_purge_delay`: its place in mimalloc 3's `mi_option_e` (the bindings do not
/// name it). [`tests`] check it is the option [`PURGE_DELAY_ENV`] sets.
const OPTION_PURGE_DELAY: c_int = 15;

/// Sets the purge delay to [`PURGE_DELAY_MS`] unless [`PURGE_DELAY_ENV`] chose one. Call it
/// first thing in `main`.
pub fn tune() {
    if std::env::var_os(PURGE_DELAY_ENV).is_some() {
        return;
    }
    #[allow(unsafe_code)]
    // SAFETY: mi_option_set takes an option number and a value, both plain integers; any
    // thread may call it at any time (options are read on use).
    unsafe {
        libmimalloc_sys::mi_option_set(OPTION_PURGE_DELAY, PURGE_DELAY_MS as c_long)
    };
}

/// The purge delay in effect, in milliseconds.
pub fn purge_delay_ms() -> i64 {
    #[allow(unsafe_code)]
    // SAFETY: mi_option_get takes an option number and returns its value.
    let value = unsafe { libmimalloc_sys::mi_option_get(OPTION_PURGE_DELAY) };
    // `c_long` is 32 bits on some targets.
    #[allow(clippy::useless_conversion)]
    i64::from(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// mimalloc 3's purge delay when nothing sets it.
    const MIMALLOC_DEFAULT_MS: i64 = 1000;

    #[test]
    fn the_purge_delay_is_the_environments_or_ours() {
        // mimalloc read its environment when the option was first asked for: option 15 holds
        // what MIMALLOC_PURGE_DELAY says, or mimalloc's default, if it is the purge delay.
        let from_env = std::env::var(PURGE_DELAY_ENV)
            .ok()
            .and_then(|v| v.trim().parse::<i64>().ok());
        assert_eq!(purge_delay_ms(), from_env.unwrap_or(MIMALLOC_DEFAULT_MS));
        tune();
        assert_eq!(purge_delay_ms(), from_env.unwrap_or(PURGE_DELAY_MS));
    }

    #[test]
    fn a_child_process_reads_the_variable() {
        // The same check with the variable set, in a process of its own: the test binary run
        // again for the test above alone.
        let output = std::process::Command::new(std::env::current_exe().expect("test binary"))
            .args([
                "--exact",
                "tests::the_purge_delay_is_the_environments_or_ours",
            ])
            .env(PURGE_DELAY_ENV, "123")
            .output()
            .expect("test binary runs");
        let stdout = String::from_utf8_lossy(&output.stdout);
        assert!(output.status.success(), "{stdout}");
        assert!(stdout.contains("1 passed"), "{stdout}");
    }
}
