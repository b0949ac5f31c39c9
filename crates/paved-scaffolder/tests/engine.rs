//! The engine end to end on real files and real git repositories: a template folder with a
//! skeleton is rendered into a workspace, renamed, published to a local bare repository.

use expect_test::expect;
use paved_scaffolder::actions::{GitHost, GitPublishSettings};
use paved_scaffolder::{
    ActionRegistry, RunOptions, Services, TaskLog, parse_template, run_template,
};
use serde_json::{Map, Value, json};
use std::path::{Path, PathBuf};
use std::process::Command;
use tokio::sync::watch;

fn write(path: &Path, text: &str) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

/// Every file under `root` with its contents, sorted: the snapshot of a rendered skeleton.
fn tree(root: &Path) -> String {
    let mut out = String::new();
    let mut entries: Vec<PathBuf> = walkdir::WalkDir::new(root)
        .min_depth(1)
        .into_iter()
        .filter_map(Result::ok)
        .filter(|e| !e.path().components().any(|c| c.as_os_str() == ".git"))
        .map(|e| e.path().to_path_buf())
        .collect();
    entries.sort();
    for path in entries {
        let rel = path.strip_prefix(root).unwrap().display().to_string();
        if path.is_dir() {
            out.push_str(&format!("{rel}/\n"));
        } else {
            let bytes = std::fs::read(&path).unwrap();
            match std::str::from_utf8(&bytes) {
                Ok(text) if !bytes.contains(&0) => {
                    out.push_str(&format!("{rel}:\n{}\n", text.trim_end()))
                }
                _ => out.push_str(&format!("{rel}: ({} binary bytes)\n", bytes.len())),
            }
        }
    }
    out
}

fn template_entity(steps: Value, output: Value) -> Value {
    json!({
        "apiVersion": "scaffolder.backstage.io/v1beta3",
        "kind": "Template",
        "metadata": { "name": "svc", "title": "A service" },
        "spec": {
            "owner": "team-a",
            "parameters": [{ "properties": { "name": { "type": "string" } } }],
            "steps": steps,
            "output": output,
        },
    })
}

fn skeleton(template_dir: &Path) {
    let sk = template_dir.join("skeleton");
    write(
        &sk.join("README.md"),
        "# ${{ values.name | title }}\nOwner: ${{ values.owner }}\n{% if values.http %}Serves HTTP on ${{ values.port }}.\n{% endif %}",
    );
    write(
        &sk.join("src/${{ values.name }}/main.rs"),
        "fn main() { println!(\"${{ values.name }}\"); }\n",
    );
    write(
        &sk.join("${{ 'optional.txt' if values.http }}"),
        "only when http\n",
    );
    write(&sk.join("${{ 'never.txt' if values.nothing }}"), "never\n");
    write(
        &sk.join(".github/workflows/ci.yml"),
        "run: echo ${{ github.sha }}\n",
    );
    write(
        &sk.join("catalog-info.yaml"),
        "apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata:\n  name: ${{ values.name }}\nspec:\n  type: service\n  owner: ${{ values.owner }}\n  lifecycle: experimental\n",
    );
    std::fs::write(sk.join("logo.bin"), [0u8, 159, 146, 150, 0, 1]).unwrap();
    // Extension mode skeleton.
    let ext = template_dir.join("ext");
    write(
        &ext.join("config.toml.njk"),
        "name = \"${{ values.name }}\"\n",
    );
    write(&ext.join("raw.sh"), "echo ${{ not rendered }}\n");
    // Cookiecutter skeleton.
    write(
        &template_dir.join("cc/setup.py"),
        "name='{{ cookiecutter.name }}'\n",
    );
}

#[tokio::test]
async fn renders_a_skeleton_and_publishes_it_to_a_bare_repository() {
    let dir = tempfile::tempdir().unwrap();
    let template_dir = dir.path().join("template");
    skeleton(&template_dir);
    let git_root = dir.path().join("git");
    std::fs::create_dir_all(&git_root).unwrap();
    let entity = template_entity(
        json!([
            { "id": "fetch", "name": "Fetch skeleton", "action": "fetch:template", "input": {
                "url": "./skeleton",
                "values": { "name": "${{ parameters.name }}", "owner": "${{ parameters.owner }}", "http": "${{ parameters.http }}", "port": "${{ parameters.port }}" },
                "copyWithoutTemplating": [".github/workflows/*"],
            }},
            { "id": "ext", "action": "fetch:template", "input": { "url": "./ext", "targetPath": "ext", "templateFileExtension": true, "values": { "name": "${{ parameters.name }}" } } },
            { "id": "cc", "action": "fetch:template", "input": { "url": "./cc", "targetPath": "cc", "cookiecutterCompat": true, "values": { "name": "${{ parameters.name }}" } } },
            { "id": "rename", "action": "fs:rename", "input": { "files": [{ "from": "ext/raw.sh", "to": "scripts/raw.sh" }] } },
            { "id": "skip", "if": "${{ parameters.http == false }}", "action": "fs:delete", "input": { "files": ["README.md"] } },
            { "id": "each", "each": "${{ parameters.tags }}", "action": "debug:log", "input": { "message": "tag ${{ each.key }}=${{ each.value }}" } },
            { "id": "publish", "action": "publish:git", "input": { "repoUrl": "local?owner=acme&repo=${{ parameters.name }}", "gitCommitMessage": "Create ${{ parameters.name }}" } },
        ]),
        json!({ "links": [{ "title": "Repository", "url": "${{ steps.publish.output.remoteUrl }}" }], "text": [{ "title": "Commit", "content": "${{ steps.publish.output.commitHash }}" }] }),
    );
    let (template, diagnostics) = parse_template(&entity);
    assert!(diagnostics.is_empty(), "{diagnostics:?}");
    let template = template.unwrap();
    let workspace = dir.path().join("workspace");
    let services = Services {
        git: GitPublishSettings {
            hosts: vec![GitHost {
                host: "local".into(),
                remote: format!("file://{}/{{owner}}/{{repo}}.git", git_root.display()),
                ..GitHost::default()
            }],
            local_roots: vec![git_root.clone()],
            ..GitPublishSettings::default()
        },
        ..Services::default()
    };
    let log = TaskLog::collect(&Map::new(), false);
    let (_cancel_tx, cancel) = watch::channel(false);
    let outcome = run_template(
        &ActionRegistry::builtin(),
        &services,
        RunOptions {
            task_id: "t1".into(),
            template: &template,
            template_dir: Some(template_dir.clone()),
            values: json!({ "name": "payments", "owner": "team-a", "http": true, "port": 8080, "tags": ["a", "b"] }),
            secrets: Map::new(),
            user: json!({ "ref": "user:default/ada" }),
            workspace: workspace.clone(),
            dry_run: false,
        },
        &log,
        cancel,
    )
    .await
    .unwrap_or_else(|e| panic!("{e}\n{:#?}", log.lines()));

    expect![[r#"
        .github/
        .github/workflows/
        .github/workflows/ci.yml:
        run: echo ${{ github.sha }}
        README.md:
        # Payments
        Owner: team-a
        Serves HTTP on 8080.
        catalog-info.yaml:
        apiVersion: backstage.io/v1alpha1
        kind: Component
        metadata:
          name: payments
        spec:
          type: service
          owner: team-a
          lifecycle: experimental
        cc/
        cc/setup.py:
        name='payments'
        ext/
        ext/config.toml:
        name = "payments"
        logo.bin: (6 binary bytes)
        optional.txt:
        only when http
        scripts/
        scripts/raw.sh:
        echo ${{ not rendered }}
        src/
        src/payments/
        src/payments/main.rs:
        fn main() { println!("payments"); }
    "#]]
    .assert_eq(&tree(&workspace));

    let remote = format!("file://{}/acme/payments.git", git_root.display());
    assert_eq!(outcome.output["links"][0]["url"], json!(remote));
    let hash = outcome.steps["publish"]["commitHash"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(outcome.output["text"][0]["content"], json!(hash));
    assert_eq!(outcome.steps["each"], json!({}));
    let messages: Vec<String> = log.lines().iter().map(|l| l.message.clone()).collect();
    assert!(
        messages.contains(&"tag 0=a".to_string()) && messages.contains(&"tag 1=b".to_string()),
        "{messages:?}"
    );
    assert!(
        messages.iter().any(|m| m.contains("Skipping step skip")),
        "{messages:?}"
    );

    // The bare repository holds the commit with the rendered files.
    let clone = dir.path().join("clone");
    let status = Command::new("git")
        .args(["clone", "--quiet", &remote, clone.to_str().unwrap()])
        .status()
        .unwrap();
    assert!(status.success());
    let head = Command::new("git")
        .args(["-C", clone.to_str().unwrap(), "log", "--format=%H %s", "-1"])
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&head.stdout).trim(),
        format!("{hash} Create payments")
    );
    assert_eq!(
        std::fs::read_to_string(clone.join("src/payments/main.rs")).unwrap(),
        "fn main() { println!(\"payments\"); }\n"
    );
}

async fn run_one(
    template_dir: &Path,
    workspace: &Path,
    steps: Value,
    services: &Services,
) -> Result<paved_scaffolder::RunOutcome, String> {
    let (template, _) = parse_template(&template_entity(steps, json!({})));
    let template = template.unwrap();
    let log = TaskLog::collect(&Map::new(), false);
    let (_tx, cancel) = watch::channel(false);
    run_template(
        &ActionRegistry::builtin(),
        services,
        RunOptions {
            task_id: "t".into(),
            template: &template,
            template_dir: Some(template_dir.to_path_buf()),
            values: json!({ "name": "x" }),
            secrets: Map::new(),
            user: json!({}),
            workspace: workspace.to_path_buf(),
            dry_run: false,
        },
        &log,
        cancel,
    )
    .await
    .map_err(|e| e.to_string())
}

#[tokio::test]
async fn refuses_to_read_outside_the_template_or_write_outside_the_workspace() {
    let dir = tempfile::tempdir().unwrap();
    let template_dir = dir.path().join("template");
    write(&template_dir.join("skeleton/a.txt"), "a");
    write(&dir.path().join("secret.txt"), "secret");
    let workspace = dir.path().join("ws");
    let services = Services::default();
    let cases = [
        (
            json!({ "url": "../secret.txt", "targetPath": "s.txt" }),
            "fetch:plain:file",
            "climbs above",
        ),
        (
            json!({ "url": "/etc/passwd", "targetPath": "p" }),
            "fetch:plain:file",
            "must be relative",
        ),
        (
            json!({ "url": "./skeleton", "targetPath": "../outside" }),
            "fetch:template",
            "climbs above",
        ),
        (
            json!({ "url": "./skeleton", "targetPath": "/tmp/x" }),
            "fetch:plain",
            "must be relative",
        ),
    ];
    for (input, action, expected) in cases {
        let err = run_one(
            &template_dir,
            &workspace,
            json!([{ "id": "s", "action": action, "input": input }]),
            &services,
        )
        .await
        .unwrap_err();
        assert!(err.contains(expected), "{action} {input}: {err}");
    }
    // A skeleton whose symlink points out of the template is refused.
    std::os::unix::fs::symlink(
        dir.path().join("secret.txt"),
        template_dir.join("skeleton/link"),
    )
    .unwrap();
    let err = run_one(
        &template_dir,
        &workspace,
        json!([{ "id": "s", "action": "fetch:template", "input": { "url": "./skeleton" } }]),
        &services,
    )
    .await
    .unwrap_err();
    assert!(err.contains("symbolic link"), "{err}");
    // A rendered file name cannot climb out either.
    std::fs::remove_file(template_dir.join("skeleton/link")).unwrap();
    write(&template_dir.join("skeleton/${{ values.p }}"), "x");
    let err = run_one(&template_dir, &workspace, json!([{ "id": "s", "action": "fetch:template", "input": { "url": "./skeleton", "values": { "p": "../../escape.txt" } } }]), &services)
        .await
        .unwrap_err();
    assert!(err.contains("climbs above"), "{err}");
    assert!(!dir.path().join("escape.txt").exists());
    // Local remotes outside the allowed roots are refused.
    let err = run_one(&template_dir, &workspace, json!([{ "id": "p", "action": "publish:git", "input": { "remoteUrl": format!("file://{}/r.git", dir.path().display()) } }]), &services)
        .await
        .unwrap_err();
    assert!(err.contains("outside the allowed roots"), "{err}");
    // Bad input is named before the action runs.
    let err = run_one(
        &template_dir,
        &workspace,
        json!([{ "id": "f", "action": "fetch:template", "input": { "targetPath": 3 } }]),
        &services,
    )
    .await
    .unwrap_err();
    assert!(
        err.contains("Invalid input passed to action fetch:template") && err.contains("url"),
        "{err}"
    );
}

#[tokio::test]
async fn fetches_a_skeleton_from_a_git_url() {
    let dir = tempfile::tempdir().unwrap();
    let repo = dir.path().join("src-repo");
    write(
        &repo.join("templates/svc/skeleton/hello.txt"),
        "hello ${{ values.name }}\n",
    );
    let git = |args: &[&str]| {
        let ok = Command::new("git")
            .args(["-C", repo.to_str().unwrap()])
            .args(args)
            .status()
            .unwrap();
        assert!(ok.success());
    };
    git(&["init", "--quiet", "-b", "main"]);
    git(&["add", "."]);
    git(&[
        "-c",
        "user.name=t",
        "-c",
        "user.email=t@t",
        "commit",
        "--quiet",
        "-m",
        "init",
    ]);
    let mut services = Services {
        fetch_git: Some(paved_catalog::git::GitSettings {
            cache_dir: dir.path().join("cache"),
            timeout: std::time::Duration::from_secs(60),
            max_bytes: 10_000_000,
        }),
        ..Services::default()
    };
    let workspace = dir.path().join("ws");
    let url = format!(
        "file://{}?ref=main&path=templates/svc/skeleton",
        repo.display()
    );
    // A repository on this machine is read only inside scaffolder.local_git_roots.
    let refused = run_one(&dir.path().join("none"), &workspace, json!([{ "id": "f", "action": "fetch:template", "input": { "url": url, "values": { "name": "git" } } }]), &services)
        .await
        .unwrap_err()
        .to_string();
    assert!(refused.contains("outside the allowed roots"), "{refused}");
    assert!(!workspace.join("hello.txt").exists());
    services.git.local_roots = vec![dir.path().to_path_buf()];
    run_one(&dir.path().join("none"), &workspace, json!([{ "id": "f", "action": "fetch:template", "input": { "url": url, "values": { "name": "git" } } }]), &services)
        .await
        .unwrap();
    assert_eq!(
        std::fs::read_to_string(workspace.join("hello.txt")).unwrap(),
        "hello git\n"
    );
}

#[tokio::test]
async fn cancellation_stops_a_running_step() {
    let dir = tempfile::tempdir().unwrap();
    let (template, _) = parse_template(&template_entity(
        json!([{ "id": "wait", "action": "debug:wait", "input": { "seconds": 30 } }, { "id": "after", "action": "debug:log", "input": { "message": "never" } }]),
        json!({}),
    ));
    let template = template.unwrap();
    let log = TaskLog::collect(&Map::new(), false);
    let (cancel_tx, cancel) = watch::channel(false);
    let started = std::time::Instant::now();
    let services = Services::default();
    let registry = ActionRegistry::builtin();
    let run = run_template(
        &registry,
        &services,
        RunOptions {
            task_id: "t".into(),
            template: &template,
            template_dir: None,
            values: json!({}),
            secrets: Map::new(),
            user: json!({}),
            workspace: dir.path().join("ws"),
            dry_run: false,
        },
        &log,
        cancel,
    );
    let (result, _) = tokio::join!(run, async {
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        cancel_tx.send(true).unwrap();
    });
    assert!(
        matches!(result, Err(paved_scaffolder::RunError::Cancelled { ref step_id }) if step_id == "wait"),
        "{result:?}"
    );
    assert!(started.elapsed() < std::time::Duration::from_secs(10));
    assert!(!log.lines().iter().any(|l| l.message == "never"));
}
