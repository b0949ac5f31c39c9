//! The `git` CLI for publishing, hardened as the catalog's checkouts are: no prompts, no hooks,
//! no system config, a time limit, `--` before anything a user wrote. Credentials travel in
//! `GIT_CONFIG_*` environment variables (an `http.extraHeader`), never on the command line.

use std::path::Path;
use std::process::Stdio;
use std::time::Duration;
use tokio::process::Command;

#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct GitError(pub String);

/// Basic-auth credentials for an https remote.
#[derive(Clone)]
pub struct GitCredentials {
    pub username: String,
    pub password: String,
}

impl std::fmt::Debug for GitCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "GitCredentials({}, ***)", self.username)
    }
}

/// Runs `git <args>` in `dir`; returns stdout. Failures carry git's stderr (credentials are
/// never in it: they are not in the arguments).
pub async fn run_git(
    dir: &Path,
    args: &[&str],
    credentials: Option<&GitCredentials>,
    timeout: Duration,
) -> Result<String, GitError> {
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
            "init.defaultBranch=main",
            "-c",
            "advice.detachedHead=false",
        ])
        .args(["-c", "commit.gpgsign=false", "-c", "core.symlinks=true"])
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
        .env_remove("GIT_INDEX_FILE")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    if let Some(credentials) = credentials {
        use base64::Engine;
        let basic = base64::engine::general_purpose::STANDARD
            .encode(format!("{}:{}", credentials.username, credentials.password));
        command
            .env("GIT_CONFIG_COUNT", "1")
            .env("GIT_CONFIG_KEY_0", "http.extraHeader")
            .env(
                "GIT_CONFIG_VALUE_0",
                format!("Authorization: Basic {basic}"),
            );
    }
    let child = command
        .spawn()
        .map_err(|e| GitError(format!("cannot run git: {e}")))?;
    let output = tokio::time::timeout(timeout, child.wait_with_output())
        .await
        .map_err(|_| {
            GitError(format!(
                "git {} took longer than {} s",
                args.first().unwrap_or(&""),
                timeout.as_secs()
            ))
        })?
        .map_err(|e| GitError(format!("git failed: {e}")))?;
    if !output.status.success() {
        let stderr = String::from_utf8_lossy(&output.stderr);
        return Err(GitError(format!(
            "git {} failed: {}",
            args.first().unwrap_or(&""),
            stderr.trim()
        )));
    }
    Ok(String::from_utf8_lossy(&output.stdout).trim().to_string())
}
