//! The real `paved` binary, run as a user would: exit codes, messages, configuration layering,
//! offline validation, and a server driven by the `paved catalog` client.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

/// `paved` with a clean environment (no `PAVED_*` from the caller) in `cwd`, so a stray
/// `./paved.yaml` or variable cannot change what a test sees.
fn paved(cwd: &Path) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_paved"));
    command.current_dir(cwd);
    for (name, _) in std::env::vars() {
        if name.starts_with("PAVED_") || name == "RUST_LOG" {
            command.env_remove(name);
        }
    }
    command
}

fn run(command: &mut Command) -> (i32, String, String) {
    let Output {
        status,
        stdout,
        stderr,
    } = command.output().expect("paved runs");
    (
        status.code().unwrap_or(-1),
        String::from_utf8_lossy(&stdout).into_owned(),
        String::from_utf8_lossy(&stderr).into_owned(),
    )
}

fn write(path: &Path, text: &str) {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).expect("mkdir");
    }
    std::fs::write(path, text).expect("write file");
}

#[test]
fn help_and_version() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (code, stdout, _) = run(paved(dir.path()).arg("--help"));
    assert_eq!(code, 0);
    for command in ["serve", "validate", "catalog", "config"] {
        assert!(stdout.contains(command), "--help lists {command}: {stdout}");
    }
    let (code, stdout, _) = run(paved(dir.path()).args(["serve", "--help"]));
    assert_eq!(code, 0);
    for flag in [
        "--port",
        "--bind",
        "--data-dir",
        "--database",
        "--config",
        "--location",
        "--demo",
    ] {
        assert!(stdout.contains(flag), "serve --help lists {flag}: {stdout}");
    }
    let (code, stdout, _) = run(paved(dir.path()).args(["catalog", "list", "--help"]));
    assert_eq!(code, 0);
    assert!(stdout.contains("--server"), "{stdout}");
    let (code, stdout, _) = run(paved(dir.path()).arg("--version"));
    assert_eq!(
        (code, stdout.trim()),
        (0, concat!("paved ", env!("CARGO_PKG_VERSION")))
    );
}

#[test]
fn usage_errors_exit_2() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (code, _, stderr) = run(paved(dir.path()).arg("frobnicate"));
    assert_eq!(code, 2, "{stderr}");
    let (code, _, stderr) = run(paved(dir.path()).args(["serve", "--port", "not-a-port"]));
    assert_eq!(code, 2, "{stderr}");
    let (code, _, stderr) = run(paved(dir.path()).arg("validate"));
    assert_eq!(code, 2, "{stderr}");
}

const GOOD_COMPONENT: &str = "\
apiVersion: backstage.io/v1alpha1
kind: Component
metadata:
  name: checkout
spec:
  type: service
  lifecycle: production
  owner: team-a
";

/// An unknown root field on line 5: Backstage refuses it, and so must `validate`.
const BAD_COMPONENT: &str = "\
apiVersion: backstage.io/v1alpha1
kind: Component
metadata:
  name: payments
colour: red
spec:
  type: service
  lifecycle: production
  owner: team-a
";

#[test]
fn validate_reports_file_line_column_and_exits_1() {
    let dir = tempfile::tempdir().expect("temp dir");
    write(&dir.path().join("catalog/good.yaml"), GOOD_COMPONENT);
    write(&dir.path().join("catalog/bad.yaml"), BAD_COMPONENT);

    let (code, stdout, stderr) = run(paved(dir.path()).args(["validate", "catalog"]));
    assert_eq!(code, 1, "stdout: {stdout}\nstderr: {stderr}");
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 2, "{stdout}");
    assert!(
        lines[0].starts_with("catalog/bad.yaml:5:1: error: unknown top-level field"),
        "{stdout}"
    );
    assert!(lines[0].ends_with("(at colour)"), "{stdout}");
    assert_eq!(lines[1], "2 files checked: 1 error, 0 warnings");

    let (code, stdout, stderr) = run(paved(dir.path()).args(["validate", "catalog/good.yaml"]));
    assert_eq!(
        (code, stdout.as_str()),
        (0, "1 file checked: 0 errors, 0 warnings\n"),
        "{stderr}"
    );

    let (code, stdout, _) =
        run(paved(dir.path()).args(["validate", "catalog/*.yaml", "--format", "json"]));
    assert_eq!(code, 1);
    let report: serde_json::Value = serde_json::from_str(&stdout).expect("JSON report");
    assert_eq!(
        report["summary"],
        serde_json::json!({"files": 2, "errors": 1, "warnings": 0})
    );
    assert_eq!(report["files"][0]["file"], "catalog/bad.yaml");
    assert_eq!(report["files"][0]["valid"], false);
    let diagnostic = &report["files"][0]["diagnostics"][0];
    assert_eq!(
        (
            &diagnostic["line"],
            &diagnostic["column"],
            &diagnostic["field"]
        ),
        (
            &serde_json::json!(5),
            &serde_json::json!(1),
            &serde_json::json!("colour")
        )
    );
    assert_eq!(report["files"][1]["valid"], true);
}

/// `paved validate … | head -1`: the reader closes the pipe before paved has printed
/// everything. That is no error of paved's: no panic, and the exit code is still the verdict.
#[test]
fn validate_into_a_pipe_closed_early_keeps_its_exit_code() {
    let dir = tempfile::tempdir().expect("temp dir");
    // ~3,000 error lines: far more than a pipe buffers, so writes meet the closed pipe
    // whenever the reader goes away.
    for n in 0..3_000 {
        write(
            &dir.path().join(format!("catalog/bad-{n}.yaml")),
            BAD_COMPONENT,
        );
    }
    for format in ["text", "json"] {
        let mut child = paved(dir.path())
            .args(["validate", "catalog", "--format", format])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("paved starts");
        let mut stdout = child.stdout.take().expect("stdout piped");
        let mut first = [0_u8; 1];
        stdout.read_exact(&mut first).expect("paved prints");
        drop(stdout);
        let output = child.wait_with_output().expect("paved ends");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(1), "{format}: {stderr}");
        assert!(stderr.is_empty(), "{format}: nothing on stderr: {stderr}");
    }
}

#[test]
fn validate_accepts_the_demo_catalog() {
    let demo = Path::new(env!("CARGO_MANIFEST_DIR")).join("demo");
    // Every folder of the demo, but of the golden paths only the templates and their
    // Location: a skeleton holds template sources (`${{ values.name }}`, Helm charts), valid
    // only once rendered — scripts/golden-paths validates what they render to.
    let mut arguments: Vec<PathBuf> = Vec::new();
    let mut entries: Vec<PathBuf> = std::fs::read_dir(&demo)
        .expect("demo folder")
        .map(|e| e.expect("entry").path())
        .collect();
    entries.sort();
    for path in entries {
        let name = path
            .file_name()
            .expect("named")
            .to_string_lossy()
            .to_string();
        if name == "golden-paths" {
            arguments.push(path.join("all.yaml"));
            for template in std::fs::read_dir(&path).expect("golden paths") {
                let template = template.expect("entry").path().join("template.yaml");
                if template.is_file() {
                    arguments.push(template);
                }
            }
        } else if path.is_dir() || name.ends_with(".yaml") {
            arguments.push(path);
        }
    }
    assert!(
        arguments
            .iter()
            .filter(|a| a.ends_with("template.yaml"))
            .count()
            >= 8,
        "every golden path's template is validated: {arguments:?}"
    );
    let (code, stdout, stderr) = run(paved(&demo).arg("validate").args(&arguments));
    assert_eq!(code, 0, "stdout: {stdout}\nstderr: {stderr}");
    assert!(
        stdout.ends_with(" checked: 0 errors, 0 warnings\n"),
        "{stdout}"
    );
}

#[test]
fn validate_of_a_missing_path_is_a_user_error() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (code, stdout, stderr) = run(paved(dir.path()).args(["validate", "nowhere.yaml"]));
    assert_eq!((code, stdout.as_str()), (1, ""));
    assert_eq!(stderr, "error: nowhere.yaml: no such file or folder\n");
}

#[test]
fn unknown_configuration_key_names_the_key_and_file() {
    let dir = tempfile::tempdir().expect("temp dir");
    write(
        &dir.path().join("paved.yaml"),
        "server:\n  port: 8000\n  prot: 8001\n",
    );
    let (code, _, stderr) = run(paved(dir.path()).args(["config", "show"]));
    assert_eq!(code, 1, "{stderr}");
    assert!(
        stderr.starts_with("error: paved.yaml:3:3: unknown configuration key `prot`"),
        "{stderr}"
    );
    assert!(
        stderr.contains("unknown configuration key `prot`"),
        "{stderr}"
    );

    let (code, _, stderr) =
        run(paved(dir.path()).args(["config", "show", "--config", "missing.yaml"]));
    assert_eq!(code, 1);
    assert!(
        stderr.contains("cannot read configuration file missing.yaml"),
        "{stderr}"
    );
}

#[test]
fn environment_overrides_file_and_flags_override_environment() {
    let dir = tempfile::tempdir().expect("temp dir");
    write(
        &dir.path().join("paved.yaml"),
        "server:\n  port: 8000\ncatalog:\n  refresh_interval: 10m\n",
    );
    let (code, stdout, stderr) = run(paved(dir.path()).args(["config", "show"]));
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.contains("port: 8000"), "{stdout}");
    assert!(stdout.contains("refresh_interval: 10m"), "{stdout}");

    let (code, stdout, stderr) = run(paved(dir.path())
        .args(["config", "show"])
        .env("PAVED_SERVER__PORT", "8080")
        .env("PAVED_CATALOG__REFRESH_INTERVAL", "60s"));
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.contains("port: 8080"), "{stdout}");
    assert!(stdout.contains("refresh_interval: 1m"), "{stdout}");

    let (code, stdout, stderr) = run(paved(dir.path())
        .args(["serve", "--print-config", "--port", "9090"])
        .env("PAVED_SERVER__PORT", "8080"));
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.contains("port: 9090"), "{stdout}");

    let (code, _, stderr) = run(paved(dir.path())
        .args(["config", "show"])
        .env("PAVED_SERVR__PORT", "1"));
    assert_eq!(code, 1);
    assert!(
        stderr.contains(
            "unknown configuration key `servr` in environment variable PAVED_SERVR__PORT"
        ),
        "{stderr}"
    );
}

#[test]
fn config_show_hides_secrets() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (code, stdout, stderr) = run(paved(dir.path())
        .args(["config", "show"])
        .env("PAVED_DATABASE__URL", "postgres://paved:hunter2@db/paved"));
    assert_eq!(code, 0, "{stderr}");
    assert!(!stdout.contains("hunter2"), "{stdout}");
    assert!(stdout.contains("postgres://paved:***@db/paved"), "{stdout}");
}

#[test]
fn config_docs_print_the_reference() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (code, stdout, _) = run(paved(dir.path()).args(["config", "docs"]));
    assert_eq!(code, 0);
    let committed = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/configuration.md"),
    )
    .expect("docs/configuration.md exists");
    assert_eq!(stdout, committed);
}

#[test]
fn non_loopback_bind_without_tokens_is_refused() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (code, stdout, stderr) =
        run(paved(dir.path()).args(["serve", "--bind", "0.0.0.0", "--data-dir", "data"]));
    assert_eq!((code, stdout.as_str()), (1, ""), "{stderr}");
    assert!(
        stderr.starts_with("error: refusing to listen on 0.0.0.0"),
        "{stderr}"
    );
    assert!(stderr.contains("`auth.tokens`"), "{stderr}");
    assert!(
        !dir.path().join("data").exists(),
        "nothing is created before the refusal"
    );
}

// ---- end to end --------------------------------------------------------------------------

/// A running `paved serve`, stopped when dropped.
struct Server {
    child: Child,
    url: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts `paved serve --port 0` and reads the address it prints, then waits for `/readyz`.
fn start_server(cwd: &Path, extra_args: &[&str]) -> Server {
    let mut child = paved(cwd)
        .args(["serve", "--port", "0", "--data-dir", "data"])
        .args(extra_args)
        .env("PAVED_LOG__LEVEL", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("paved serve starts");
    let stdout = child.stdout.take().expect("stdout piped");
    let mut first_line = String::new();
    BufReader::new(stdout)
        .read_line(&mut first_line)
        .expect("reads the address line");
    let url = first_line
        .trim()
        .strip_prefix("paved listening on ")
        .unwrap_or_else(|| panic!("unexpected first line {first_line:?}"))
        .to_owned();
    let server = Server { child, url };
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Some((200, _)) = http_get(&server.url, "/readyz") {
            break;
        }
        assert!(Instant::now() < deadline, "/readyz never answered 200");
        std::thread::sleep(Duration::from_millis(50));
    }
    server
}

/// A minimal HTTP/1.0 GET: status and body (the tests need no HTTP client of their own).
fn http_get(base: &str, path: &str) -> Option<(u16, String)> {
    let address = base.strip_prefix("http://")?;
    let mut stream = TcpStream::connect(address).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    write!(stream, "GET {path} HTTP/1.0\r\nHost: {address}\r\n\r\n").ok()?;
    let mut response = String::new();
    stream.read_to_string(&mut response).ok()?;
    let status = response.split_whitespace().nth(1)?.parse().ok()?;
    let body = response
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_owned())
        .unwrap_or_default();
    Some((status, body))
}

fn catalog_folder(root: &Path) -> PathBuf {
    let folder = root.join("catalog");
    write(
        &folder.join("catalog-info.yaml"),
        &format!(
            "{GOOD_COMPONENT}---\napiVersion: backstage.io/v1alpha1\nkind: Group\nmetadata:\n  \
             name: team-a\nspec:\n  type: team\n  children: []\n"
        ),
    );
    write(
        &folder.join("more/api.yaml"),
        "apiVersion: backstage.io/v1alpha1\nkind: API\nmetadata:\n  name: checkout-api\nspec:\n  \
         type: openapi\n  lifecycle: production\n  owner: team-a\n  definition: 'openapi: 3.0.0'\n",
    );
    folder
}

#[test]
fn serve_and_drive_it_with_the_catalog_client() {
    let dir = tempfile::tempdir().expect("temp dir");
    let folder = catalog_folder(dir.path());
    let location = folder.join("catalog-info.yaml").display().to_string();
    let server = start_server(dir.path(), &["--location", &location]);
    let client = |args: &[&str]| {
        let mut command = paved(dir.path());
        command
            .arg("catalog")
            .args(args)
            .args(["--server", &server.url]);
        run(&mut command)
    };

    // The configured location is read in the background; wait for it.
    let deadline = Instant::now() + Duration::from_secs(30);
    let listed = loop {
        let (code, stdout, stderr) = client(&["list", "--kind", "component"]);
        assert_eq!(code, 0, "{stderr}");
        if stdout.contains("checkout") {
            break stdout;
        }
        assert!(
            Instant::now() < deadline,
            "the location was never read: {stdout}"
        );
        std::thread::sleep(Duration::from_millis(100));
    };
    assert_eq!(
        listed,
        "KIND       NAMESPACE  NAME      TYPE     OWNER\n\
         Component  default    checkout  service  team-a\n"
    );

    let (code, stdout, stderr) = client(&["list", "--format", "json", "--limit", "1"]);
    assert_eq!(code, 0, "{stderr}");
    let items: serde_json::Value = serde_json::from_str(&stdout).expect("JSON list");
    assert_eq!(
        items.as_array().map(Vec::len),
        Some(1),
        "--limit 1 pages: {stdout}"
    );

    // Paging through cursors, one entity a page, finds what one large page finds.
    let (code, stdout, stderr) = client(&["list", "--format", "json"]);
    assert_eq!(code, 0, "{stderr}");
    let all: serde_json::Value = serde_json::from_str(&stdout).expect("JSON list");
    let (code, stdout, stderr) = client(&["list", "--format", "json", "--page-size", "1"]);
    assert_eq!(code, 0, "{stderr}");
    let paged: serde_json::Value = serde_json::from_str(&stdout).expect("JSON list");
    assert!(all.as_array().is_some_and(|a| a.len() >= 2), "{all}");
    assert_eq!(paged, all);

    let (code, stdout, stderr) = client(&["get", "component:default/checkout"]);
    assert_eq!(code, 0, "{stderr}");
    let entity: serde_json::Value = serde_json::from_str(&stdout).expect("JSON entity");
    assert_eq!(entity["metadata"]["name"], "checkout");
    assert_eq!(entity["spec"]["owner"], "team-a");

    let (code, stdout, stderr) = client(&["get", "component:default/nope"]);
    assert_eq!((code, stdout.as_str()), (1, ""));
    assert!(
        stderr.starts_with("error: ") && stderr.contains("404"),
        "{stderr}"
    );

    let api_file = folder.join("more/api.yaml").display().to_string();
    let (code, stdout, stderr) = client(&["import", &api_file, "--dry-run"]);
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.starts_with("dry run: file:"), "{stdout}");
    assert!(stdout.contains("api:default/checkout-api"), "{stdout}");

    let (code, stdout, stderr) = client(&["import", &api_file]);
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.starts_with("registered location "), "{stdout}");
    assert!(stdout.contains("api:default/checkout-api"), "{stdout}");
    let (code, _, stderr) = client(&["get", "api:checkout-api"]);
    assert_eq!(code, 0, "imported entity is served: {stderr}");

    let (code, stdout, stderr) = client(&["refresh", "component:default/checkout"]);
    assert_eq!(
        (code, stdout.as_str()),
        (0, "refreshed component:default/checkout\n"),
        "{stderr}"
    );
}

#[test]
fn configured_tokens_are_required_by_the_api() {
    let dir = tempfile::tempdir().expect("temp dir");
    write(&dir.path().join("secrets/token"), "s3cret\n");
    write(
        &dir.path().join("paved.yaml"),
        "auth:\n  tokens:\n    - name: ci\n      token_file: secrets/token\n",
    );
    let server = start_server(dir.path(), &[]);
    let list = |token: Option<&str>| {
        let mut command = paved(dir.path());
        command.args(["catalog", "list", "--server", &server.url]);
        if let Some(token) = token {
            command.env("PAVED_TOKEN", token);
        }
        run(&mut command)
    };
    let (code, stdout, stderr) = list(None);
    assert_eq!((code, stdout.as_str()), (1, ""));
    assert!(
        stderr.contains("401 Unauthorized") && stderr.contains("PAVED_TOKEN"),
        "{stderr}"
    );
    let (code, _, stderr) = list(Some("wrong"));
    assert_eq!(code, 1, "{stderr}");
    let (code, stdout, stderr) = list(Some("s3cret"));
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.starts_with("KIND"), "{stdout}");
}

#[test]
fn serve_stops_cleanly_on_sigterm() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut server = start_server(dir.path(), &[]);
    let pid = server.child.id().to_string();
    let (code, _, stderr) = run(Command::new("kill").args(["-TERM", &pid]));
    assert_eq!(code, 0, "{stderr}");
    let deadline = Instant::now() + Duration::from_secs(10);
    let status = loop {
        if let Some(status) = server.child.try_wait().expect("wait") {
            break status;
        }
        assert!(
            Instant::now() < deadline,
            "paved serve did not stop on SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(20));
    };
    assert_eq!(status.code(), Some(0));
}

#[test]
fn serve_demo_loads_the_demo_organisation() {
    let dir = tempfile::tempdir().expect("temp dir");
    let server = start_server(dir.path(), &["--demo"]);
    assert!(dir.path().join("data/demo/catalog-info.yaml").is_file());
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let (code, stdout, stderr) = run(paved(dir.path())
            .args(["catalog", "list", "--kind", "group", "--format", "json"])
            .args(["--server", &server.url]));
        assert_eq!(code, 0, "{stderr}");
        let groups: serde_json::Value = serde_json::from_str(&stdout).expect("JSON list");
        if groups.as_array().is_some_and(|g| !g.is_empty()) {
            break;
        }
        assert!(Instant::now() < deadline, "the demo was never read");
        std::thread::sleep(Duration::from_millis(100));
    }
    // The golden paths come with the demo: every template of golden-paths/all.yaml.
    let golden_paths = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("demo/golden-paths/all.yaml"),
    )
    .expect("all.yaml");
    let expected = golden_paths.matches("/template.yaml").count();
    loop {
        let (code, stdout, stderr) = run(paved(dir.path())
            .args(["catalog", "list", "--kind", "template", "--format", "json"])
            .args(["--server", &server.url]));
        assert_eq!(code, 0, "{stderr}");
        let templates: serde_json::Value = serde_json::from_str(&stdout).expect("JSON list");
        if templates.as_array().is_some_and(|t| t.len() == expected) {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the demo's {expected} templates were never all served: {stdout}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(
        dir.path()
            .join("data/demo/golden-paths/go-service/skeleton/src/main.go")
            .is_file()
    );
}

/// The demo's Rust golden path, as shipped.
fn golden_path(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("demo/golden-paths")
        .join(name)
}

const GOLDEN_VALUES: &str = "name: orders-api\ndescription: \"Takes orders: fast.\"\nowner: group:default/platform\nsystem: system:default/developer-platform\nrepoUrl: github.com?owner=northwind&repo=orders-api\n";

#[test]
fn template_dry_run_renders_a_golden_path_without_publishing() {
    let dir = tempfile::tempdir().expect("temp dir");
    write(&dir.path().join("values.yaml"), GOLDEN_VALUES);
    let out = dir.path().join("out");
    let (code, stdout, stderr) = run(paved(dir.path()).args([
        "template",
        "dry-run",
        golden_path("rust-axum-service").to_str().unwrap(),
        "--values",
        "values.yaml",
        "--set",
        "lifecycle=production",
        "--output",
        "out",
    ]));
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.contains("files in"), "{stdout}");
    // The publish and register steps were skipped, so their outputs are empty.
    assert!(
        stderr.contains("Skipping") || stderr.contains("dry run"),
        "{stderr}"
    );
    let catalog_info =
        std::fs::read_to_string(out.join("catalog-info.yaml")).expect("catalog-info.yaml rendered");
    assert!(catalog_info.contains("name: orders-api"), "{catalog_info}");
    assert!(
        catalog_info.contains("lifecycle: production"),
        "{catalog_info}"
    );
    assert!(out.join("Cargo.toml").is_file());
    assert!(!out.join(".git").exists(), "nothing was committed");
    // What it rendered is a valid catalog file.
    let (code, _, stderr) = run(paved(dir.path()).args(["validate", "out/catalog-info.yaml"]));
    assert_eq!(code, 0, "{stderr}");

    // Without a lifecycle in the values, the parameter's default applies, as in the form.
    let (code, _, stderr) = run(paved(dir.path()).args([
        "template",
        "dry-run",
        golden_path("rust-axum-service").to_str().unwrap(),
        "--values",
        "values.yaml",
        "--output",
        "defaults",
    ]));
    assert_eq!(code, 0, "{stderr}");
    let with_default =
        std::fs::read_to_string(dir.path().join("defaults/catalog-info.yaml")).expect("rendered");
    assert!(
        with_default.contains("lifecycle: experimental"),
        "{with_default}"
    );

    // The output folder must be empty: nothing is overwritten.
    let (code, _, stderr) = run(paved(dir.path()).args([
        "template",
        "dry-run",
        golden_path("rust-axum-service").to_str().unwrap(),
        "--values",
        "values.yaml",
        "--output",
        "out",
    ]));
    assert_eq!(code, 1);
    assert!(stderr.contains("not empty"), "{stderr}");
}

#[test]
fn template_values_are_checked_before_anything_runs() {
    let dir = tempfile::tempdir().expect("temp dir");
    write(
        &dir.path().join("values.yaml"),
        &GOLDEN_VALUES.replace("name: orders-api", "name: Orders_API"),
    );
    let (code, _, stderr) = run(paved(dir.path()).args([
        "template",
        "run",
        golden_path("rust-axum-service").to_str().unwrap(),
        "--values",
        "values.yaml",
        "--output",
        "out",
    ]));
    assert_eq!(code, 1, "{stderr}");
    assert!(stderr.contains("the values are not valid"), "{stderr}");
    assert!(stderr.contains("  name: "), "{stderr}");
    assert!(
        !dir.path().join("out/Cargo.toml").exists(),
        "nothing was rendered"
    );
    // A template of the catalog needs a server to be found.
    let (code, _, stderr) =
        run(paved(dir.path()).args(["template", "dry-run", "template:default/rust-axum-service"]));
    assert_eq!(code, 1);
    assert!(stderr.contains("--server"), "{stderr}");
}

#[test]
fn template_run_publishes_to_a_local_bare_repository() {
    let dir = tempfile::tempdir().expect("temp dir");
    let root = dir.path().canonicalize().unwrap();
    std::fs::create_dir_all(root.join("git")).unwrap();
    write(
        &root.join("paved.yaml"),
        &format!(
            "scaffolder:\n  git_hosts:\n    - host: github.com\n      remote: file://{}/git/{{owner}}/{{repo}}.git\n  local_git_roots: [{}/git]\n",
            root.display(),
            root.display()
        ),
    );
    // Only the render and publish steps: registering needs a server.
    let template =
        std::fs::read_to_string(golden_path("rust-axum-service").join("template.yaml")).unwrap();
    let cut = template.find("    - id: register").expect("register step");
    let end = template[cut..].find("  output:").expect("output") + cut;
    let template = format!("{}{}", &template[..cut], &template[end..]).replace(
        "entityRef: ${{ steps['register'].output.entityRef }}",
        "url: https://example.invalid/",
    );
    write(&root.join("tpl/template.yaml"), &template);
    let skeleton = golden_path("rust-axum-service").join("skeleton");
    let status = Command::new("cp")
        .args([
            "-r",
            skeleton.to_str().unwrap(),
            root.join("tpl/").to_str().unwrap(),
        ])
        .status()
        .unwrap();
    assert!(status.success());
    write(&root.join("values.yaml"), GOLDEN_VALUES);
    let (code, stdout, stderr) = run(paved(&root).args([
        "template",
        "run",
        "tpl",
        "--values",
        "values.yaml",
        "--output",
        "work",
    ]));
    assert_eq!(code, 0, "{stderr}");
    let remote = format!("file://{}/git/northwind/orders-api.git", root.display());
    assert!(
        stdout.contains(&format!("Repository: {remote}")),
        "{stdout}"
    );
    let (code, stdout, stderr) = run(Command::new("git").args([
        "--git-dir",
        root.join("git/northwind/orders-api.git").to_str().unwrap(),
        "show",
        "main:catalog-info.yaml",
    ]));
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.contains("name: orders-api"), "{stdout}");
}
