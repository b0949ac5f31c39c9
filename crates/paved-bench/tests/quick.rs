//! Runs `paved-bench run --quick` against the real paved binary and checks that the results
//! file holds every figure and that no request failed. Speeds are never asserted: the harness
//! reports them, this test only checks that it can.

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Builds the debug paved binary (a no-op when it is current) and returns its path, or `None`
/// when it cannot be built, e.g. while the server crates are half-written.
fn build_paved() -> Option<PathBuf> {
    let root = workspace_root();
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_string());
    let target_dir = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("target"));
    let output = Command::new(cargo)
        .args(["build", "-p", "paved", "--bin", "paved"])
        .arg("--target-dir")
        .arg(&target_dir)
        .current_dir(&root)
        .output()
        .expect("cargo could not be started");
    if !output.status.success() {
        let stderr = String::from_utf8_lossy(&output.stderr);
        let tail: Vec<&str> = stderr.lines().rev().take(15).collect();
        println!(
            "SKIPPED: the paved binary cannot be built, so the harness was not run.\n{}",
            tail.into_iter().rev().collect::<Vec<_>>().join("\n")
        );
        return None;
    }
    let binary = target_dir.join("debug").join("paved");
    assert!(
        binary.is_file(),
        "cargo built paved but {} is missing",
        binary.display()
    );
    Some(binary)
}

fn number_at(results: &Value, pointer: &str) -> f64 {
    match results.pointer(pointer).and_then(Value::as_f64) {
        Some(value) => value,
        None => panic!("results lack the figure {pointer}: {results:#}"),
    }
}

#[test]
fn quick_run_reports_every_figure_without_errors() {
    let Some(paved) = build_paved() else { return };
    let out = tempfile::tempdir().expect("temporary folder");
    let output = Command::new(env!("CARGO_BIN_EXE_paved-bench"))
        .args(["run", "--quick", "--paved"])
        .arg(&paved)
        .arg("--out")
        .arg(out.path())
        .current_dir(workspace_root())
        .output()
        .expect("paved-bench could not be started");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "paved-bench failed ({}):\n{stdout}\n{stderr}",
        output.status
    );
    assert!(
        stdout.contains("| scenario |"),
        "no Markdown table printed:\n{stdout}"
    );

    let results_file = out.path().join("results-2000.json");
    let text = std::fs::read_to_string(&results_file)
        .unwrap_or_else(|error| panic!("{}: {error}", results_file.display()));
    let results: Value = serde_json::from_str(&text).expect("results are JSON");

    for pointer in [
        "/ingest/seconds_to_all_entities",
        "/ingest/seconds_to_relations_verified",
        "/ingest/entities_per_second",
        "/ingest/peak_rss_bytes",
        "/edit_refresh/seconds_to_refresh_answer",
        "/edit_refresh/seconds_to_visible",
        "/cold_start/seconds_to_ready",
        "/cold_start/seconds_to_catalog_served",
        "/cold_start/peak_rss_bytes",
        "/peak_rss_bytes",
        "/machine/nproc",
        "/settings/entities",
    ] {
        assert!(
            number_at(&results, pointer) > 0.0,
            "{pointer} is not positive"
        );
    }
    assert!(number_at(&results, "/shutdown/seconds") >= 0.0);
    for pointer in ["/ingest/steal_percent", "/machine/steal_percent"] {
        let steal = number_at(&results, pointer);
        assert!((0.0..=100.0).contains(&steal), "{pointer} = {steal}");
    }
    assert_eq!(results["settings"]["entities"], 2000);
    assert_eq!(
        results["correctness"]["ok"], true,
        "{:#}",
        results["correctness"]
    );
    assert!(number_at(&results, "/correctness/relations_checked") > 0.0);
    assert_eq!(results["total_errors"], 0);
    for key in ["rustc", "git_commit"] {
        assert!(results["machine"][key].is_string(), "machine.{key} missing");
    }
    assert!(
        results["command_line"]
            .as_array()
            .is_some_and(|a| !a.is_empty())
    );

    let scenarios = results["load"].as_array().expect("load is a list");
    let names: Vec<&str> = scenarios
        .iter()
        .map(|s| s["scenario"].as_str().unwrap_or("?"))
        .collect();
    assert_eq!(
        names,
        [
            "by-name",
            "by-query kind=component,spec.owner",
            "entity-facets kind,tags,owner",
            "portal /catalog",
            "portal /catalog kind+owner",
            "portal /catalog text filter",
            "portal entity page",
            "portal dependencies graph",
        ],
        "the API and portal load scenarios"
    );
    for scenario in scenarios {
        let name = scenario["scenario"].as_str().unwrap_or("?");
        // Portal pages are measured with one client (server time per page).
        let expected_clients = if name.starts_with("portal") {
            serde_json::json!(1)
        } else {
            results["settings"]["concurrency"].clone()
        };
        assert_eq!(scenario["clients"], expected_clients, "{name}");
        assert!(
            scenario["max_body_bytes"].as_u64().is_some_and(|b| b > 0),
            "{name}: the page weight is measured"
        );
        assert_eq!(scenario["errors"], 0, "{name}: {scenario:#}");
        for figure in [
            "requests",
            "requests_per_second",
            "p50_ms",
            "p90_ms",
            "p99_ms",
            "max_ms",
        ] {
            let value = scenario[figure]
                .as_f64()
                .unwrap_or_else(|| panic!("{name}: no {figure}"));
            assert!(value > 0.0, "{name}: {figure} is {value}");
        }
        assert!(scenario["p50_ms"].as_f64() <= scenario["p99_ms"].as_f64());
        assert!(scenario["p99_ms"].as_f64() <= scenario["max_ms"].as_f64());
    }
}

/// A paved serving `catalog` on a free port, killed when dropped.
struct Served(std::process::Child);

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The body of a plain HTTP/1.0 GET, `None` while nothing answers.
fn get(address: &str, path: &str) -> Option<String> {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(address).ok()?;
    write!(stream, "GET {path} HTTP/1.0\r\nHost: {address}\r\n\r\n").ok()?;
    let mut answer = String::new();
    stream.read_to_string(&mut answer).ok()?;
    Some(answer.split_once("\r\n\r\n")?.1.to_string())
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

#[test]
fn load_runs_chosen_scenarios_against_a_running_paved() {
    let Some(paved) = build_paved() else { return };
    let out = tempfile::tempdir().expect("temporary folder");
    let data = tempfile::tempdir().expect("temporary folder");
    // The catalog a `run` would generate, where `load` looks for it.
    let generator = std::env::var_os("PAVED_GEN_CATALOG")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace_root().join("../shared/tools/gen-catalog"));
    let catalog = out.path().join("catalog-300");
    let status = Command::new("python3")
        .arg(&generator)
        .arg("300")
        .arg(&catalog)
        .stdout(std::process::Stdio::null())
        .status()
        .expect("python3 could not be started");
    assert!(status.success(), "{} failed", generator.display());

    // Nothing serves the port yet: every request fails and `load` says so.
    let port = free_port();
    let address = format!("127.0.0.1:{port}");
    let load = |scenarios: &[&str]| {
        let mut command = Command::new(env!("CARGO_BIN_EXE_paved-bench"));
        command
            .args([
                "load",
                "--entities",
                "300",
                "--duration",
                "300ms",
                "--warmup",
                "0s",
            ])
            .args(["--concurrency", "4", "--address", &address, "--out"])
            .arg(out.path());
        for scenario in scenarios {
            command.args(["--scenario", scenario]);
        }
        command.output().expect("paved-bench could not be started")
    };
    let refused = load(&["by-name"]);
    assert!(
        !refused.status.success(),
        "a load without a server succeeded"
    );
    assert!(
        String::from_utf8_lossy(&refused.stderr).contains("some requests failed"),
        "{}",
        String::from_utf8_lossy(&refused.stderr)
    );

    let _served = Served(
        Command::new(&paved)
            .args(["serve", "--port", &port.to_string(), "--data-dir"])
            .arg(data.path())
            .arg("--location")
            .arg(catalog.join("locations.yaml"))
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("paved could not be started"),
    );
    let started = std::time::Instant::now();
    loop {
        let stats = get(&address, "/api/paved/catalog/stats").unwrap_or_default();
        let total = serde_json::from_str::<Value>(&stats)
            .ok()
            .and_then(|s| s["totalEntities"].as_u64())
            .unwrap_or(0);
        if total >= 300 {
            break;
        }
        assert!(
            started.elapsed() < std::time::Duration::from_secs(60),
            "paved did not serve the catalog: {stats}"
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    }

    let output = load(&["by-name", "portal-entity"]);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let rows: Vec<&str> = stdout
        .lines()
        .filter(|l| l.starts_with("| ") && !l.starts_with("| scenario"))
        .collect();
    assert_eq!(rows.len(), 2, "one row per chosen scenario:\n{stdout}");
    assert!(rows[0].starts_with("| by-name | 4 |"), "{}", rows[0]);
    assert!(
        rows[1].starts_with("| portal entity page | 1 |"),
        "{}",
        rows[1]
    );
    for row in rows {
        let cells: Vec<&str> = row.split('|').map(str::trim).collect();
        let requests: u64 = cells[3].parse().expect("a request count");
        assert!(requests > 0, "{row}");
        assert_eq!(cells[4], "0", "no failed requests: {row}");
    }
}
