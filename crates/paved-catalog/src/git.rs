//! Git checkouts through the `git` CLI, hardened: no prompts, no hooks or config from the
//! environment, a time limit, a size limit, and `--` before anything the user wrote.

use crate::error::CatalogError;
use crate::location::GitTarget;
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;
use tokio::process::Command;

#[derive(Clone, Debug)]
pub struct GitSettings {
    /// Checkouts live in `<cache_dir>/<hash of remote and ref>`.
    pub cache_dir: PathBuf,
    pub timeout: Duration,
    pub max_bytes: u64,
}

/// Brings the repository of `target` at its ref into the cache (shallow fetch) and returns
/// the checkout's folder. A checkout is reused and updated on later calls.
pub async fn checkout(settings: &GitSettings, target: &GitTarget) -> Result<PathBuf, CatalogError> {
    let key = {
        let mut h = Sha256::new();
        h.update(target.remote.as_bytes());
        h.update([0]);
        h.update(target.reference.as_deref().unwrap_or("HEAD").as_bytes());
        hex::encode(&h.finalize()[..10])
    };
    let dir = settings.cache_dir.join(key);
    tokio::fs::create_dir_all(&dir)
        .await
        .map_err(|e| CatalogError::Internal(format!("cannot create {}: {e}", dir.display())))?;
    if !dir.join(".git").exists() {
        run_git(settings, &dir, &["init", "--quiet"]).await?;
    }
    let remote = if target.remote.starts_with('/') {
        // A local path: the file:// form keeps `--depth` working and refuses nothing special.
        format!("file://{}", target.remote)
    } else {
        target.remote.clone()
    };
    let reference = target
        .reference
        .clone()
        .unwrap_or_else(|| "HEAD".to_string());
    let fetch = run_git(
        settings,
        &dir,
        &[
            "fetch",
            "--quiet",
            "--depth",
            "1",
            "--no-tags",
            "--",
            &remote,
            &reference,
        ],
    )
    .await;
    if let Err(e) = fetch {
        return Err(CatalogError::NotFound(format!(
            "cannot fetch '{}' at '{}': {}",
            target.remote, reference, e
        )));
    }
    run_git(
        settings,
        &dir,
        &["checkout", "--quiet", "--force", "--detach", "FETCH_HEAD"],
    )
    .await?;
    run_git(settings, &dir, &["clean", "--quiet", "-ffdx"]).await?;
    let size = dir_size(&dir);
    if size > settings.max_bytes {
        let _ = tokio::fs::remove_dir_all(&dir).await;
        return Err(CatalogError::Invalid(format!(
            "repository '{}' is {size} bytes, over the limit of {} (catalog.git.max_bytes)",
            target.remote, settings.max_bytes
        )));
    }
    Ok(dir)
}

async fn run_git(settings: &GitSettings, dir: &Path, args: &[&str]) -> Result<(), CatalogError> {
    let mut command = Command::new("git");
    command
        .args([
            "-c",
            "core.hooksPath=/dev/null",
            "-c",
            "protocol.file.allow=always",
        ])
        .args([
            "-c",
            "core.symlinks=false",
            "-c",
            "advice.detachedHead=false",
        ])
        .args(args)
        .current_dir(dir)
        .env("GIT_TERMINAL_PROMPT", "0")
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_ASKPASS", "/bin/false")
        .env(
            "GIT_SSH_COMMAND",
            "ssh -o BatchMode=yes -o ConnectTimeout=15",
        )
        .env_remove("GIT_DIR")
        .env_remove("GIT_WORK_TREE")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    let child = command
        .spawn()
        .map_err(|e| CatalogError::Unavailable(format!("cannot run git: {e}")))?;
    let output = tokio::time::timeout(settings.timeout, child.wait_with_output())
        .await
        .map_err(|_| {
            CatalogError::Unavailable(format!(
                "git {} took longer than {:?} (catalog.git.timeout)",
                args.first().unwrap_or(&""),
                settings.timeout
            ))
        })?
        .map_err(|e| CatalogError::Unavailable(format!("git failed: {e}")))?;
    if output.status.success() {
        Ok(())
    } else {
        let stderr = String::from_utf8_lossy(&output.stderr);
        let message = stderr
            .lines()
            .rev()
            .find(|l| !l.trim().is_empty())
            .unwrap_or("")
            .trim();
        Err(CatalogError::Invalid(format!(
            "git {}: {message}",
            args.first().unwrap_or(&"")
        )))
    }
}

fn dir_size(dir: &Path) -> u64 {
    walkdir::WalkDir::new(dir)
        .into_iter()
        .filter_map(Result::ok)
        .filter_map(|e| e.metadata().ok())
        .filter(|m| m.is_file())
        .map(|m| m.len())
        .sum()
}
