//! What a run found: the results file's shape, the machine it ran on, the Markdown summary.

use crate::load::ScenarioResult;
use serde::Serialize;
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;
use std::process::Command;

#[derive(Debug, Serialize)]
pub struct Results {
    pub command_line: Vec<String>,
    /// Seconds since the Unix epoch when the run started.
    pub started_at_unix: u64,
    pub machine: Machine,
    pub settings: Settings,
    pub catalog: CatalogFigures,
    pub ingest: IngestFigures,
    pub correctness: Correctness,
    pub edit_refresh: EditRefreshFigures,
    pub shutdown: ShutdownFigures,
    pub cold_start: ColdStartFigures,
    pub load: Vec<ScenarioResult>,
    /// Highest VmHWM of either paved process.
    pub peak_rss_bytes: u64,
    pub total_errors: u64,
}

#[derive(Debug, Serialize)]
pub struct Machine {
    pub nproc: usize,
    pub memory_total_bytes: Option<u64>,
    pub cpu_model: Option<String>,
    pub kernel: Option<String>,
    pub rustc: Option<String>,
    pub git_commit: Option<String>,
    /// Uncommitted changes in the work tree when the run started.
    pub git_dirty: Option<bool>,
    pub paved_binary: String,
    pub paved_version: Option<String>,
    /// `/proc/loadavg` when the run started and when it ended: other work on the machine
    /// shares its cores with the server and the clients, and skews every figure.
    pub loadavg_start: Option<String>,
    pub loadavg_end: Option<String>,
    /// Percent of the machine's CPU time that went to other guests of its host (`steal` in
    /// `/proc/stat`) over the whole run: on a shared virtual machine this, not paved, can
    /// make one run slower than the next.
    pub steal_percent: Option<f64>,
}

#[derive(Debug, Serialize)]
pub struct Settings {
    pub entities: u64,
    /// `sqlite` or the PostgreSQL URL with any password hidden.
    pub database: String,
    pub concurrency: usize,
    pub duration_seconds: f64,
    pub warmup_seconds: f64,
    pub quick: bool,
}

#[derive(Debug, Serialize)]
pub struct CatalogFigures {
    pub dir: String,
    pub files: usize,
    pub counts: BTreeMap<String, u64>,
    pub relations_total: u64,
    /// `None` when the cached catalog was reused.
    pub generated_seconds: Option<f64>,
}

#[derive(Debug, Serialize)]
pub struct IngestFigures {
    /// From process start until the stats endpoint counted every generated entity.
    pub seconds_to_all_entities: f64,
    /// From process start until, in addition, every sampled relation was present.
    pub seconds_to_relations_verified: f64,
    pub entities_per_second: f64,
    /// VmHWM when ingestion was complete.
    pub peak_rss_bytes: u64,
    /// VmRSS when ingestion was complete.
    pub rss_after_bytes: u64,
    /// Entities counted by the stats endpoint, Locations included.
    pub total_entities_reported: u64,
    /// Percent of the machine's CPU time stolen by its host while ingesting (see
    /// [`Machine::steal_percent`]).
    pub steal_percent: Option<f64>,
}

#[derive(Debug, Serialize)]
pub struct Correctness {
    pub entities_checked: usize,
    pub relations_checked: usize,
    pub missing: Vec<String>,
    pub ok: bool,
}

/// One generated file edited after the ingest, refreshed on demand.
#[derive(Debug, Serialize)]
pub struct EditRefreshFigures {
    /// The component whose description was changed, and its file.
    pub entity_ref: String,
    pub file: String,
    /// From sending `POST /api/catalog/refresh` until its answer.
    pub seconds_to_refresh_answer: f64,
    /// From sending it until `GET by-name` served the new description.
    pub seconds_to_visible: f64,
}

#[derive(Debug, Serialize)]
pub struct ShutdownFigures {
    pub seconds: f64,
    pub clean_exit: bool,
    pub killed: bool,
}

#[derive(Debug, Serialize)]
pub struct ColdStartFigures {
    /// From process start until the first 200 from `/readyz`.
    pub seconds_to_ready: f64,
    /// Then until the stats endpoint reported the whole catalog again.
    pub seconds_to_catalog_served: f64,
    /// Then until paved's CPU use fell below 5% (a re-read of its locations, if any).
    pub seconds_until_idle: f64,
    /// VmHWM of the restarted process at the end of the load phase.
    pub peak_rss_bytes: u64,
    pub shutdown_seconds: f64,
}

/// The machine's CPU time counters (the first line of `/proc/stat`), in clock ticks.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CpuTimes {
    total: u64,
    steal: u64,
}

impl CpuTimes {
    pub fn now() -> Option<CpuTimes> {
        CpuTimes::parse(&std::fs::read_to_string("/proc/stat").ok()?)
    }

    /// `cpu  user nice system idle iowait irq softirq steal …`; guest time is counted in
    /// user time already, so the total is the first eight.
    fn parse(proc_stat: &str) -> Option<CpuTimes> {
        let line = proc_stat.lines().find(|l| l.starts_with("cpu "))?;
        let values: Vec<u64> = line
            .split_whitespace()
            .skip(1)
            .take(8)
            .map(str::parse)
            .collect::<Result<_, _>>()
            .ok()?;
        let steal = *values.get(7)?;
        Some(CpuTimes {
            total: values.iter().sum(),
            steal,
        })
    }

    /// Percent of the CPU time between `earlier` and `later` that was stolen.
    pub fn steal_percent(earlier: Option<CpuTimes>, later: Option<CpuTimes>) -> Option<f64> {
        let (earlier, later) = (earlier?, later?);
        let total = later.total.checked_sub(earlier.total)?;
        let steal = later.steal.checked_sub(earlier.steal)?;
        (total > 0).then(|| 100.0 * steal as f64 / total as f64)
    }
}

pub fn loadavg() -> Option<String> {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .map(|text| text.trim().to_string())
}

pub fn machine(
    paved_binary: &Path,
    loadavg_start: Option<String>,
    cpu_start: Option<CpuTimes>,
) -> Machine {
    let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
    let memory_total_bytes = meminfo
        .lines()
        .find_map(|line| line.strip_prefix("MemTotal:"))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|kib| kib.parse::<u64>().ok())
        .map(|kib| kib * 1024);
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let cpu_model = cpuinfo
        .lines()
        .find_map(|line| line.strip_prefix("model name"))
        .and_then(|rest| rest.split_once(':'))
        .map(|(_, model)| model.trim().to_string());
    let git_dirty = command_output("git", &["status", "--porcelain", "--untracked-files=no"])
        .map(|out| !out.is_empty());
    Machine {
        nproc: std::thread::available_parallelism().map_or(1, |n| n.get()),
        memory_total_bytes,
        cpu_model,
        kernel: command_output("uname", &["-sr"]),
        rustc: command_output("rustc", &["-V"]),
        git_commit: command_output("git", &["rev-parse", "HEAD"]),
        git_dirty,
        paved_binary: paved_binary.display().to_string(),
        paved_version: paved_binary
            .to_str()
            .and_then(|binary| command_output(binary, &["--version"])),
        loadavg_start,
        loadavg_end: loadavg(),
        steal_percent: CpuTimes::steal_percent(cpu_start, CpuTimes::now()),
    }
}

fn command_output(program: &str, args: &[&str]) -> Option<String> {
    let output = Command::new(program).args(args).output().ok()?;
    if !output.status.success() {
        return None;
    }
    Some(String::from_utf8_lossy(&output.stdout).trim().to_string())
}

/// A share as `12%`, `?` when unknown.
pub fn percent(value: Option<f64>) -> String {
    value.map_or_else(|| "?".to_string(), |p| format!("{p:.0}%"))
}

fn mib(bytes: u64) -> String {
    format!("{:.0} MiB", bytes as f64 / (1024.0 * 1024.0))
}

pub fn markdown(results: &Results) -> String {
    let mut out = String::new();
    let s = &results.settings;
    let m = &results.machine;
    let _ = writeln!(
        out,
        "## paved-bench: {} entities, {}, {} clients × {:.0} s per scenario\n",
        s.entities, s.database, s.concurrency, s.duration_seconds
    );
    let _ = writeln!(
        out,
        "Machine: {} cores, {}, {}; {}; commit {}{}\n",
        m.nproc,
        m.memory_total_bytes
            .map_or_else(|| "? memory".to_string(), mib),
        m.cpu_model.as_deref().unwrap_or("unknown CPU"),
        m.rustc.as_deref().unwrap_or("rustc ?"),
        m.git_commit
            .as_deref()
            .map_or("?", |c| &c[..c.len().min(12)]),
        if m.git_dirty == Some(true) {
            " (dirty)"
        } else {
            ""
        },
    );
    let i = &results.ingest;
    let c = &results.cold_start;
    let _ = writeln!(out, "| figure | value |\n|---|---|");
    let _ = writeln!(
        out,
        "| ingest + stitch, all entities counted | {:.2} s |",
        i.seconds_to_all_entities
    );
    let _ = writeln!(
        out,
        "| … and sampled relations verified | {:.2} s |",
        i.seconds_to_relations_verified
    );
    let _ = writeln!(
        out,
        "| ingest rate | {:.0} entities/s |",
        i.entities_per_second
    );
    let _ = writeln!(
        out,
        "| peak RSS during ingest (VmHWM) | {} |",
        mib(i.peak_rss_bytes)
    );
    let _ = writeln!(
        out,
        "| machine's CPU stolen by its host: during ingest, whole run | {}, {} |",
        percent(i.steal_percent),
        percent(m.steal_percent)
    );
    let _ = writeln!(
        out,
        "| correctness | {} ({} entities, {} relations checked) |",
        if results.correctness.ok {
            "ok"
        } else {
            "FAILED"
        },
        results.correctness.entities_checked,
        results.correctness.relations_checked
    );
    let _ = writeln!(
        out,
        "| one edited file: refresh on demand until served | {:.3} s (POST answered after {:.3} s) |",
        results.edit_refresh.seconds_to_visible, results.edit_refresh.seconds_to_refresh_answer
    );
    let _ = writeln!(
        out,
        "| shutdown after SIGTERM | {:.2} s |",
        results.shutdown.seconds
    );
    let _ = writeln!(
        out,
        "| cold start to /readyz 200 | {:.3} s |",
        c.seconds_to_ready
    );
    let _ = writeln!(
        out,
        "| cold start to whole catalog served | {:.3} s |",
        c.seconds_to_catalog_served
    );
    let _ = writeln!(
        out,
        "| peak RSS after restart and load | {} |",
        mib(c.peak_rss_bytes)
    );
    let _ = writeln!(
        out,
        "| peak RSS overall | {} |\n",
        mib(results.peak_rss_bytes)
    );
    out.push_str(&scenario_table(&results.load));
    out
}

/// The load phase's results as a markdown table, one row per scenario.
pub fn scenario_table(load: &[ScenarioResult]) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "| scenario | clients | requests | errors | req/s | p50 ms | p90 ms | p99 ms | max ms | largest body |\n|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
    );
    for r in load {
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {:.0} | {:.2} | {:.2} | {:.2} | {:.2} | {:.1} KB |",
            r.scenario,
            r.clients,
            r.requests,
            r.errors,
            r.requests_per_second,
            r.p50_ms,
            r.p90_ms,
            r.p99_ms,
            r.max_ms,
            r.max_body_bytes as f64 / 1000.0
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn steal_is_the_share_of_all_cpu_time() {
        let before =
            CpuTimes::parse("cpu  100 0 50 800 10 0 5 35 0 0\ncpu0 50 0 25 400 5 0 2 18 0 0\n")
                .expect("parsed");
        assert_eq!(
            before,
            CpuTimes {
                total: 1000,
                steal: 35
            }
        );
        let after = CpuTimes::parse("cpu  300 0 100 1050 10 0 5 535 0 0\n").expect("parsed");
        assert_eq!(
            CpuTimes::steal_percent(Some(before), Some(after)),
            Some(50.0)
        );
        assert_eq!(CpuTimes::steal_percent(Some(after), Some(after)), None);
        assert_eq!(CpuTimes::steal_percent(None, Some(after)), None);
        assert_eq!(CpuTimes::parse("cpu  1 2 3\n"), None);
        assert_eq!(CpuTimes::parse("intr 5\n"), None);
    }
}
