//! `publish:github`, `publish:github:pull-request` and `publish:gitlab` against a local
//! stand-in of the GitHub and GitLab REST APIs, with real git pushes into real bare repositories.

use axum::Json;
use axum::extract::{Path as UrlPath, State};
use axum::http::HeaderMap;
use axum::routing::{get, post};
use paved_scaffolder::actions::{ForgeKind, GitHost, GitPublishSettings};
use paved_scaffolder::{
    ActionRegistry, RunOptions, Services, TaskLog, parse_template, run_template,
};
use serde_json::{Map, Value, json};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, Mutex};
use tokio::sync::watch;

/// A STAND-IN for the GitHub and GitLab APIs: the real services cannot be reached from here.
/// It answers the few endpoints the publish actions call, creates a bare repository on disk
/// for every repository or project created, and returns that repository's path as the clone
/// URL. It records the authorization headers it saw.
#[derive(Clone)]
struct StandIn {
    root: PathBuf,
    seen_auth: Arc<Mutex<Vec<String>>>,
    pulls: Arc<Mutex<Vec<Value>>>,
}

fn bare(path: &Path) {
    std::fs::create_dir_all(path).unwrap();
    assert!(
        Command::new("git")
            .args(["init", "--quiet", "--bare", "-b", "main"])
            .current_dir(path)
            .status()
            .unwrap()
            .success()
    );
}

impl StandIn {
    fn record(&self, headers: &HeaderMap) {
        for name in ["authorization", "private-token"] {
            if let Some(v) = headers.get(name) {
                self.seen_auth
                    .lock()
                    .unwrap()
                    .push(format!("{name}: {}", v.to_str().unwrap()));
            }
        }
    }
}

async fn start_stand_in(root: PathBuf) -> (String, StandIn) {
    let state = StandIn {
        root,
        seen_auth: Arc::default(),
        pulls: Arc::default(),
    };
    let app = axum::Router::new()
        .route("/github/users/{owner}", get(|UrlPath(owner): UrlPath<String>| async move {
            Json(json!({ "login": owner, "type": "Organization" }))
        }))
        .route("/github/orgs/{owner}/repos", post(|State(s): State<StandIn>, UrlPath(owner): UrlPath<String>, headers: HeaderMap, Json(body): Json<Value>| async move {
            s.record(&headers);
            let name = body["name"].as_str().unwrap().to_string();
            let path = s.root.join(&owner).join(format!("{name}.git"));
            bare(&path);
            (axum::http::StatusCode::CREATED, Json(json!({
                "clone_url": path.display().to_string(),
                "html_url": format!("https://github.example/{owner}/{name}"),
                "private": body["private"],
            })))
        }))
        .route("/github/repos/{owner}/{repo}", get(|State(s): State<StandIn>, UrlPath((owner, repo)): UrlPath<(String, String)>| async move {
            let path = s.root.join(&owner).join(format!("{repo}.git"));
            Json(json!({ "clone_url": path.display().to_string(), "default_branch": "main" }))
        }))
        .route("/github/repos/{owner}/{repo}/pulls", post(|State(s): State<StandIn>, UrlPath((owner, repo)): UrlPath<(String, String)>, Json(body): Json<Value>| async move {
            s.pulls.lock().unwrap().push(body);
            (axum::http::StatusCode::CREATED, Json(json!({ "html_url": format!("https://github.example/{owner}/{repo}/pull/1"), "number": 1 })))
        }))
        .route("/gitlab/namespaces/{ns}", get(|UrlPath(ns): UrlPath<String>| async move {
            Json(json!({ "id": 42, "full_path": ns }))
        }))
        .route("/gitlab/projects", post(|State(s): State<StandIn>, headers: HeaderMap, Json(body): Json<Value>| async move {
            s.record(&headers);
            assert_eq!(body["namespace_id"], 42);
            let name = body["path"].as_str().unwrap().to_string();
            let path = s.root.join("group").join(format!("{name}.git"));
            bare(&path);
            (axum::http::StatusCode::CREATED, Json(json!({
                "id": 7,
                "http_url_to_repo": path.display().to_string(),
                "web_url": format!("https://gitlab.example/group/{name}"),
            })))
        }))
        .with_state(state.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (format!("http://{address}"), state)
}

async fn run(
    steps: Value,
    services: &Services,
    workspace: &Path,
) -> Result<paved_scaffolder::RunOutcome, String> {
    let entity = json!({
        "apiVersion": "scaffolder.backstage.io/v1beta3", "kind": "Template",
        "metadata": { "name": "t" }, "spec": { "steps": steps },
    });
    let template = parse_template(&entity).0.unwrap();
    let mut secrets = Map::new();
    secrets.insert("token".into(), json!("user-secret-token"));
    let log = TaskLog::collect(&secrets, false);
    let (_tx, cancel) = watch::channel(false);
    let result = run_template(
        &ActionRegistry::builtin(),
        services,
        RunOptions {
            task_id: "t".into(),
            template: &template,
            template_dir: None,
            values: json!({}),
            secrets,
            user: json!({}),
            workspace: workspace.to_path_buf(),
            dry_run: false,
        },
        &log,
        cancel,
    )
    .await
    .map_err(|e| e.to_string());
    assert!(
        !log.lines()
            .iter()
            .any(|l| l.message.contains("user-secret-token"))
    );
    result
}

fn git_show(repo: &Path, what: &str) -> String {
    let out = Command::new("git")
        .args(["--git-dir", repo.to_str().unwrap(), "show", what])
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[tokio::test]
async fn github_and_gitlab_repositories_are_created_then_pushed() {
    let dir = tempfile::tempdir().unwrap();
    let repos = dir.path().join("repos");
    std::fs::create_dir_all(&repos).unwrap();
    let (base, stand_in) = start_stand_in(repos.clone()).await;
    let services = Services {
        git: GitPublishSettings {
            hosts: vec![
                GitHost {
                    host: "github.example".into(),
                    kind: ForgeKind::Github,
                    api_base_url: Some(format!("{base}/github")),
                    token: Some("gh-token".into()),
                    ..GitHost::default()
                },
                GitHost {
                    host: "gitlab.example".into(),
                    kind: ForgeKind::Gitlab,
                    api_base_url: Some(format!("{base}/gitlab")),
                    token: Some("gl-token".into()),
                    ..GitHost::default()
                },
            ],
            local_roots: vec![repos.clone()],
            ..GitPublishSettings::default()
        },
        ..Services::default()
    };

    let ws = dir.path().join("ws1");
    std::fs::create_dir_all(&ws).unwrap();
    std::fs::write(ws.join("README.md"), "hello\n").unwrap();
    let out = run(json!([{ "id": "publish", "action": "publish:github", "input": { "repoUrl": "github.example?owner=acme&repo=svc", "repoVisibility": "internal" } }]), &services, &ws)
        .await
        .unwrap();
    assert_eq!(
        out.steps["publish"]["remoteUrl"],
        "https://github.example/acme/svc"
    );
    assert_eq!(
        out.steps["publish"]["repoContentsUrl"],
        "https://github.example/acme/svc/blob/main"
    );
    assert_eq!(
        git_show(&repos.join("acme/svc.git"), "main:README.md"),
        "hello\n"
    );

    // A pull request against the repository just created.
    let ws2 = dir.path().join("ws2");
    std::fs::create_dir_all(ws2.join("out")).unwrap();
    std::fs::write(ws2.join("out/CHANGE.md"), "change\n").unwrap();
    let out = run(json!([{ "id": "pr", "action": "publish:github:pull-request", "input": {
        "repoUrl": "github.example?owner=acme&repo=svc", "branchName": "add-change", "title": "Add change",
        "description": "Adds a change", "sourcePath": "out", "targetPath": "docs" } }]), &services, &ws2)
        .await
        .unwrap();
    assert_eq!(out.steps["pr"]["pullRequestNumber"], 1);
    assert_eq!(
        git_show(&repos.join("acme/svc.git"), "add-change:docs/CHANGE.md"),
        "change\n"
    );
    assert_eq!(
        git_show(&repos.join("acme/svc.git"), "add-change:README.md"),
        "hello\n"
    );
    assert_eq!(
        stand_in.pulls.lock().unwrap()[0],
        json!({ "title": "Add change", "body": "Adds a change", "head": "add-change", "base": "main" })
    );

    let ws3 = dir.path().join("ws3");
    std::fs::create_dir_all(&ws3).unwrap();
    std::fs::write(ws3.join("main.go"), "package main\n").unwrap();
    let out = run(json!([{ "id": "publish", "action": "publish:gitlab", "input": { "repoUrl": "gitlab.example?owner=group&repo=api" } }]), &services, &ws3)
        .await
        .unwrap();
    assert_eq!(out.steps["publish"]["projectId"], 7);
    assert_eq!(
        out.steps["publish"]["repoContentsUrl"],
        "https://gitlab.example/group/api/-/blob/main"
    );
    assert_eq!(
        git_show(&repos.join("group/api.git"), "main:main.go"),
        "package main\n"
    );

    let seen = stand_in.seen_auth.lock().unwrap().clone();
    assert_eq!(
        seen,
        vec![
            "authorization: Bearer gh-token".to_string(),
            "private-token: gl-token".to_string()
        ]
    );

    // An API failure is reported with the status and the API's message.
    let failing = Services {
        git: GitPublishSettings {
            hosts: vec![GitHost {
                host: "github.example".into(),
                kind: ForgeKind::Github,
                api_base_url: Some(format!("{base}/nothing")),
                ..GitHost::default()
            }],
            local_roots: vec![repos.clone()],
            ..GitPublishSettings::default()
        },
        ..Services::default()
    };
    let err = run(json!([{ "id": "publish", "action": "publish:github", "input": { "repoUrl": "github.example?owner=acme&repo=x" } }]), &failing, &ws3)
        .await
        .unwrap_err();
    assert!(err.contains("HTTP 404"), "{err}");
}
