//! The paved process under test: start, watch (/proc), wait for readiness, stop.

use crate::http::Connection;
use anyhow::{Context, Result, anyhow, bail};
use serde::Deserialize;
use sqlx::AssertSqlSafe;
use std::collections::BTreeMap;
use std::net::{Ipv4Addr, SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};
use tokio::process::{Child, Command};

pub struct ServerSpec {
    pub binary: PathBuf,
    pub data_dir: PathBuf,
    pub location_file: PathBuf,
    /// `None` runs on SQLite in the data directory.
    pub database: Option<String>,
}

pub struct PavedProcess {
    child: Child,
    pid: u32,
    pub address: SocketAddr,
    pub started: Instant,
    pub log_file: PathBuf,
}

/// A port that was free a moment ago. paved cannot tell us which port `--port 0` chose, so the
/// harness picks one; the window between closing this listener and paved binding is tiny.
fn free_port() -> Result<u16> {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).context("finding a free port")?;
    Ok(listener.local_addr()?.port())
}

impl PavedProcess {
    pub fn start(spec: &ServerSpec, log_file: &Path) -> Result<PavedProcess> {
        let port = free_port()?;
        let log = std::fs::File::create(log_file)
            .with_context(|| format!("creating {}", log_file.display()))?;
        let mut command = Command::new(&spec.binary);
        command
            .arg("serve")
            .arg("--port")
            .arg(port.to_string())
            .arg("--bind")
            .arg("127.0.0.1")
            .arg("--data-dir")
            .arg(&spec.data_dir)
            .arg("--location")
            .arg(&spec.location_file);
        if let Some(url) = &spec.database {
            command.arg("--database").arg(url);
        }
        // The server's own configuration must not leak in from the environment or cwd.
        for (key, _) in std::env::vars_os() {
            if key.to_string_lossy().starts_with("PAVED_") {
                command.env_remove(&key);
            }
        }
        command
            .current_dir(&spec.data_dir)
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log)
            .kill_on_drop(true);
        let started = Instant::now();
        let child = command
            .spawn()
            .with_context(|| format!("starting {}", spec.binary.display()))?;
        let pid = child.id().ok_or_else(|| anyhow!("paved exited at once"))?;
        Ok(PavedProcess {
            child,
            pid,
            address: SocketAddr::from((Ipv4Addr::LOCALHOST, port)),
            started,
            log_file: log_file.to_path_buf(),
        })
    }

    /// Fails with the end of the server's log when it has exited.
    pub fn check_alive(&mut self) -> Result<()> {
        if let Some(status) = self.child.try_wait()? {
            bail!(
                "paved exited ({status}); end of {}:\n{}",
                self.log_file.display(),
                log_tail(&self.log_file)
            );
        }
        Ok(())
    }

    /// Peak resident set size so far (VmHWM), in bytes.
    pub fn peak_rss_bytes(&self) -> Result<u64> {
        proc_status_kib(self.pid, "VmHWM:").map(|kib| kib * 1024)
    }

    pub fn rss_bytes(&self) -> Result<u64> {
        proc_status_kib(self.pid, "VmRSS:").map(|kib| kib * 1024)
    }

    /// User plus system CPU time consumed so far, all threads.
    pub fn cpu_time(&self) -> Result<Duration> {
        let stat = std::fs::read_to_string(format!("/proc/{}/stat", self.pid))?;
        // The command name (field 2) may hold spaces; the fields we need follow its ')'.
        let after_name = stat
            .rsplit_once(')')
            .map(|(_, rest)| rest)
            .ok_or_else(|| anyhow!("unexpected /proc/{}/stat", self.pid))?;
        let fields: Vec<&str> = after_name.split_whitespace().collect();
        // utime and stime are fields 14 and 15 of the file, 12 and 13 after the name.
        let ticks = |index: usize| -> Result<u64> {
            fields
                .get(index)
                .ok_or_else(|| anyhow!("short /proc/{}/stat", self.pid))?
                .parse::<u64>()
                .context("parsing /proc stat")
        };
        let total_ticks = ticks(11)? + ticks(12)?;
        // USER_HZ is 100 on every Linux ABI that matters here.
        Ok(Duration::from_millis(total_ticks * 10))
    }

    /// Polls `/readyz` until it answers 200; returns the time since the process started.
    pub async fn wait_ready(&mut self, deadline: Duration) -> Result<Duration> {
        let mut connection = Connection::new(self.address, Duration::from_secs(5));
        loop {
            if let Ok((status, _)) = connection.get("/readyz").await
                && status.is_success()
            {
                return Ok(self.started.elapsed());
            }
            self.check_alive()?;
            if self.started.elapsed() > deadline {
                bail!("/readyz did not answer 200 within {deadline:?}");
            }
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
    }

    pub async fn stats(&self, connection: &mut Connection) -> Result<CatalogStats> {
        let (status, body) = connection.get("/api/paved/catalog/stats").await?;
        if !status.is_success() {
            bail!("/api/paved/catalog/stats answered {status}");
        }
        serde_json::from_slice(&body).context("parsing /api/paved/catalog/stats")
    }

    /// Waits until paved's CPU use drops below a few percent over two windows in a row: after
    /// a restart the server re-reads its locations and then builds its search index, and a
    /// load test during either measures both. Returns when the first quiet window began.
    pub async fn wait_idle(&mut self, deadline: Duration) -> Result<Duration> {
        let started = Instant::now();
        let window = Duration::from_millis(500);
        let mut quiet_since: Option<Duration> = None;
        loop {
            let window_began = started.elapsed();
            let before = self.cpu_time()?;
            tokio::time::sleep(window).await;
            self.check_alive()?;
            let used = self.cpu_time()?.saturating_sub(before);
            if used.as_secs_f64() < window.as_secs_f64() * 0.05 {
                match quiet_since {
                    Some(since) => return Ok(since),
                    None => quiet_since = Some(window_began),
                }
            } else {
                quiet_since = None;
            }
            if started.elapsed() > deadline {
                return Ok(started.elapsed());
            }
        }
    }

    /// SIGTERM, then the time until exit; SIGKILL after `grace`.
    pub async fn stop(mut self, grace: Duration) -> Result<StopOutcome> {
        let started = Instant::now();
        // `kill` keeps this crate free of unsafe code (no libc::kill).
        let status = std::process::Command::new("kill")
            .arg("-TERM")
            .arg(self.pid.to_string())
            .status()
            .context("running kill -TERM")?;
        if !status.success() {
            bail!("kill -TERM {} failed", self.pid);
        }
        match tokio::time::timeout(grace, self.child.wait()).await {
            Ok(exit) => {
                let exit = exit?;
                Ok(StopOutcome {
                    seconds: started.elapsed().as_secs_f64(),
                    clean: exit.success(),
                    killed: false,
                })
            }
            Err(_) => {
                self.child.kill().await?;
                Ok(StopOutcome {
                    seconds: started.elapsed().as_secs_f64(),
                    clean: false,
                    killed: true,
                })
            }
        }
    }
}

pub struct StopOutcome {
    pub seconds: f64,
    /// Exit status 0 after SIGTERM.
    pub clean: bool,
    /// Did not stop within the grace period.
    pub killed: bool,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CatalogStats {
    pub total_entities: u64,
    #[serde(default)]
    pub kinds: BTreeMap<String, u64>,
}

impl CatalogStats {
    /// Entities other than Locations: the generated catalog holds exactly one Location, and
    /// paved may add its own for each registered target, so those are left out of the count.
    pub fn non_location_entities(&self) -> u64 {
        let locations = self.kinds.get("location").copied().unwrap_or(0);
        self.total_entities.saturating_sub(locations)
    }
}

fn proc_status_kib(pid: u32, key: &str) -> Result<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))
        .with_context(|| format!("reading /proc/{pid}/status"))?;
    status
        .lines()
        .find_map(|line| line.strip_prefix(key))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|kib| kib.parse::<u64>().ok())
        .ok_or_else(|| anyhow!("no {key} in /proc/{pid}/status"))
}

pub fn log_tail(path: &Path) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(30)..].join("\n")
}

/// Gives a PostgreSQL run a database of its own, dropped and created anew, so every run starts
/// empty and nothing else in the server is touched. Returns the URL pointing at it.
pub async fn fresh_postgres_database(url: &str, database_name: &str) -> Result<String> {
    use sqlx::Connection as _;
    let mut admin = sqlx::PgConnection::connect(url)
        .await
        .with_context(|| format!("connecting to {}", redact_url(url)))?;
    sqlx::query(drop_database_sql(database_name)?)
        .execute(&mut admin)
        .await
        .with_context(|| format!("dropping database {database_name}"))?;
    sqlx::query(AssertSqlSafe(format!(
        "CREATE DATABASE \"{}\"",
        plain_name(database_name)?
    )))
    .execute(&mut admin)
    .await
    .with_context(|| format!("creating database {database_name} (needs CREATEDB)"))?;
    admin.close().await?;
    replace_database_in_url(url, database_name)
}

pub async fn drop_postgres_database(url: &str, database_name: &str) -> Result<()> {
    use sqlx::Connection as _;
    let mut admin = sqlx::PgConnection::connect(url).await?;
    sqlx::query(drop_database_sql(database_name)?)
        .execute(&mut admin)
        .await?;
    admin.close().await?;
    Ok(())
}

fn drop_database_sql(database_name: &str) -> Result<AssertSqlSafe<String>> {
    let name = plain_name(database_name)?;
    Ok(AssertSqlSafe(format!(
        "DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"
    )))
}

/// Identifiers cannot be bound as parameters, so the name goes into the SQL text: it must be
/// plain (it is the harness's own constant, checked anyway).
fn plain_name(database_name: &str) -> Result<&str> {
    let plain = !database_name.is_empty()
        && database_name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
    if !plain {
        bail!("database name {database_name:?} must be lower-case letters, digits and _");
    }
    Ok(database_name)
}

/// `postgres://user@host:5432/test?x=y` → `postgres://user@host:5432/<name>?x=y`.
pub fn replace_database_in_url(url: &str, database_name: &str) -> Result<String> {
    let (scheme, rest) = url
        .split_once("://")
        .ok_or_else(|| anyhow!("{} is not a URL", redact_url(url)))?;
    let (before_query, query) = match rest.split_once('?') {
        Some((before, query)) => (before, Some(query)),
        None => (rest, None),
    };
    let authority = before_query
        .split_once('/')
        .map_or(before_query, |(a, _)| a);
    let mut out = format!("{scheme}://{authority}/{database_name}");
    if let Some(query) = query {
        out.push('?');
        out.push_str(query);
    }
    Ok(out)
}

/// The URL with any password replaced, for logs and the results file.
pub fn redact_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_string();
    };
    let authority_end = rest.find(['/', '?']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(authority_end);
    match authority.rsplit_once('@') {
        Some((userinfo, host)) => match userinfo.split_once(':') {
            Some((user, _password)) => format!("{scheme}://{user}:***@{host}{tail}"),
            None => url.to_string(),
        },
        None => url.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replaces_the_database_and_keeps_the_query() {
        let url = replace_database_in_url(
            "postgres://postgres@127.0.0.1:5432/test?sslmode=disable",
            "paved_bench",
        )
        .unwrap();
        assert_eq!(
            url,
            "postgres://postgres@127.0.0.1:5432/paved_bench?sslmode=disable"
        );
        let url = replace_database_in_url("postgres://localhost", "b").unwrap();
        assert_eq!(url, "postgres://localhost/b");
    }

    #[test]
    fn hides_passwords() {
        assert_eq!(
            redact_url("postgres://u:secret@h/db"),
            "postgres://u:***@h/db"
        );
        assert_eq!(redact_url("postgres://u@h/db"), "postgres://u@h/db");
    }

    #[test]
    fn counts_entities_without_locations() {
        let stats: CatalogStats =
            serde_json::from_str(r#"{"totalEntities":12,"kinds":{"component":10,"location":2}}"#)
                .unwrap();
        assert_eq!(stats.non_location_entities(), 10);
    }
}
