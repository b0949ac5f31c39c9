//! `publish:git`, `publish:github`, `publish:github:pull-request`, `publish:gitlab`: commit the
//! workspace and push it. Remotes come from `scaffolder.git_hosts` (a RepoUrlPicker value
//! `host?owner=o&repo=r` becomes the host's `remote` pattern) or `remoteUrl` directly; local
//! remotes (`file://`, absolute paths) must lie inside the configured roots.

use super::{Action, ActionContext, ActionError};
use crate::confine::resolve_inside;
use crate::filters::parse_repo_url;
use crate::git::{GitCredentials, run_git};
use async_trait::async_trait;
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Which API a host speaks when a repository must be created first.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Deserialize, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ForgeKind {
    /// Plain git: the repository must exist (or is created as a bare repository when local).
    #[default]
    Git,
    Github,
    Gitlab,
}

/// One configured git host.
#[derive(Clone, Debug, Default)]
pub struct GitHost {
    /// The host part of RepoUrlPicker values (`github.com`, `git.internal`).
    pub host: String,
    /// The remote for `{owner}`/`{repo}`: `file:///srv/git/{owner}/{repo}.git`,
    /// `https://git.internal/{owner}/{repo}.git`. For GitHub/GitLab the API's clone URL is used.
    pub remote: String,
    pub kind: ForgeKind,
    /// API base URL (`https://api.github.com`, `https://gitlab.com/api/v4`).
    pub api_base_url: Option<String>,
    /// User name for https pushes (`x-access-token` for GitHub, `oauth2` for GitLab).
    pub username: Option<String>,
    /// The token or password, already read from the environment or a file by the binary.
    pub token: Option<String>,
}

#[derive(Clone, Debug)]
pub struct GitPublishSettings {
    pub hosts: Vec<GitHost>,
    /// Folders local remotes may be in.
    pub local_roots: Vec<PathBuf>,
    pub timeout: Duration,
    pub author_name: String,
    pub author_email: String,
}

impl Default for GitPublishSettings {
    fn default() -> Self {
        GitPublishSettings {
            hosts: Vec::new(),
            local_roots: Vec::new(),
            timeout: Duration::from_secs(120),
            author_name: "Scaffolder".into(),
            author_email: "scaffolder@paved.local".into(),
        }
    }
}

impl GitPublishSettings {
    pub fn host(&self, host: &str) -> Option<&GitHost> {
        self.hosts
            .iter()
            .find(|h| h.host.eq_ignore_ascii_case(host))
    }

    fn credentials_for(
        &self,
        host: Option<&GitHost>,
        default_user: &str,
    ) -> Option<GitCredentials> {
        let host = host?;
        let token = host.token.clone()?;
        Some(GitCredentials {
            username: host
                .username
                .clone()
                .unwrap_or_else(|| default_user.to_string()),
            password: token,
        })
    }
}

/// A remote resolved from a RepoUrlPicker value through the configured hosts.
pub fn resolve_remote(
    settings: &GitPublishSettings,
    repo_url: &str,
) -> Result<(String, GitHost), String> {
    let parsed = parse_repo_url(repo_url)?;
    let host = settings.host(&parsed.host).ok_or_else(|| {
        format!(
            "host '{}' is not configured in scaffolder.git_hosts (configured: {})",
            parsed.host,
            settings
                .hosts
                .iter()
                .map(|h| h.host.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        )
    })?;
    let owner = parsed
        .owner
        .or(parsed.organization)
        .or(parsed.workspace)
        .ok_or_else(|| format!("repo URL '{repo_url}' has no owner"))?;
    let remote = host
        .remote
        .replace("{owner}", &owner)
        .replace("{repo}", &parsed.repo);
    Ok((remote, host.clone()))
}

/// A local remote's folder, which must be inside the allowed roots; `None` for network remotes.
pub(super) fn local_remote_path(
    settings: &GitPublishSettings,
    remote: &str,
) -> Result<Option<PathBuf>, ActionError> {
    let path = if let Some(path) = paved_catalog::location::local_repository_path(remote) {
        path
    } else if ["https://", "http://", "ssh://", "git://"]
        .iter()
        .any(|p| remote.starts_with(p))
        || (remote.contains('@') && remote.contains(':'))
    {
        return Ok(None);
    } else {
        return Err(ActionError::Invalid(format!(
            "'{remote}' is not a git remote"
        )));
    };
    if !crate::confine::lexically_inside(Path::new("/"), &path)
        || path
            .components()
            .any(|c| c == std::path::Component::ParentDir)
    {
        return Err(ActionError::Invalid(format!(
            "remote '{remote}' must not contain '..'"
        )));
    }
    let allowed = settings.local_roots.iter().any(|root| {
        let Ok(root) = root.canonicalize() else {
            return false;
        };
        // The repository may not exist yet: its nearest existing ancestor decides.
        let mut probe = path.clone();
        loop {
            if let Ok(resolved) = probe.canonicalize() {
                return resolved.starts_with(&root);
            }
            if !probe.pop() {
                return false;
            }
        }
    });
    if !allowed {
        return Err(ActionError::Invalid(format!(
            "remote '{remote}' is a local path outside the allowed roots (scaffolder.local_git_roots)"
        )));
    }
    Ok(Some(path))
}

/// Input properties every publish action shares.
fn common_input_properties() -> Value {
    json!({
        "defaultBranch": { "title": "Default Branch", "type": "string", "description": "Sets the default branch on the repository. The default value is 'main'" },
        "gitCommitMessage": { "title": "Git Commit Message", "type": "string", "description": "Sets the commit message on the repository. The default value is 'initial commit'" },
        "gitAuthorName": { "title": "Default Author Name", "type": "string", "description": "Sets the default author name for the commit." },
        "gitAuthorEmail": { "title": "Default Author Email", "type": "string", "description": "Sets the default author email for the commit." },
        "sourcePath": { "title": "Source Path", "type": "string", "description": "Path within the workspace that will be used as the repository root. If omitted, the entire workspace will be published as the repository." },
    })
}

fn publish_output_schema() -> Value {
    json!({
        "type": "object",
        "properties": {
            "remoteUrl": { "title": "A URL to the repository with the provider", "type": "string" },
            "repoContentsUrl": { "title": "A URL to the root of the repository", "type": "string" },
            "commitHash": { "title": "The git commit hash of the initial commit", "type": "string" },
        },
    })
}

/// `git init`, commit everything under `sourcePath`, push to `remote` as `branch`.
async fn commit_and_push(
    ctx: &ActionContext<'_>,
    remote: &str,
    credentials: Option<&GitCredentials>,
) -> Result<String, ActionError> {
    let settings = &ctx.services.git;
    let source = resolve_inside(ctx.workspace, ctx.str_input("sourcePath").unwrap_or("./"))?;
    let branch = ctx.str_input("defaultBranch").unwrap_or("main").to_string();
    if branch.starts_with('-') || branch.contains("..") || branch.contains(char::is_whitespace) {
        return Err(ActionError::Invalid(format!(
            "'{branch}' is not a valid branch name"
        )));
    }
    let message = ctx
        .str_input("gitCommitMessage")
        .unwrap_or("initial commit")
        .to_string();
    let name = ctx
        .str_input("gitAuthorName")
        .unwrap_or(&settings.author_name)
        .to_string();
    let email = ctx
        .str_input("gitAuthorEmail")
        .unwrap_or(&settings.author_email)
        .to_string();
    let git = |args: Vec<String>, creds: Option<&GitCredentials>| {
        let source = source.clone();
        let timeout = settings.timeout;
        let creds = creds.cloned();
        async move {
            let refs: Vec<&str> = args.iter().map(String::as_str).collect();
            run_git(&source, &refs, creds.as_ref(), timeout)
                .await
                .map_err(|e| ActionError::Failed(e.0))
        }
    };
    std::fs::create_dir_all(&source).map_err(|e| super::io_error("cannot create", &source, e))?;
    git(vec!["init".into(), "--quiet".into()], None).await?;
    git(
        vec![
            "checkout".into(),
            "--quiet".into(),
            "-B".into(),
            branch.clone(),
        ],
        None,
    )
    .await?;
    git(vec!["add".into(), "--all".into()], None).await?;
    git(
        vec![
            "-c".into(),
            format!("user.name={name}"),
            "-c".into(),
            format!("user.email={email}"),
            "commit".into(),
            "--quiet".into(),
            "--allow-empty".into(),
            "-m".into(),
            message,
        ],
        None,
    )
    .await?;
    let hash = git(vec!["rev-parse".into(), "HEAD".into()], None).await?;
    ctx.info(format!("Pushing to {remote} ({branch})"));
    git(
        vec![
            "push".into(),
            "--quiet".into(),
            "--".into(),
            remote.to_string(),
            format!("HEAD:refs/heads/{branch}"),
        ],
        credentials,
    )
    .await?;
    Ok(hash)
}

/// Creates a bare repository for a local remote that does not exist yet.
async fn ensure_local_bare(settings: &GitPublishSettings, path: &Path) -> Result<(), ActionError> {
    if path.join("HEAD").exists() {
        return Ok(());
    }
    std::fs::create_dir_all(path).map_err(|e| super::io_error("cannot create", path, e))?;
    run_git(path, &["init", "--quiet", "--bare"], None, settings.timeout)
        .await
        .map_err(|e| ActionError::Failed(e.0))?;
    Ok(())
}

/// `repoContentsUrl` of a pushed repository: a location target for `catalog:register`.
fn contents_url(remote: &str, branch: &str) -> String {
    format!("{remote}?ref={branch}")
}

pub struct PublishGit;

#[async_trait]
impl Action for PublishGit {
    fn id(&self) -> &'static str {
        "publish:git"
    }
    fn description(&self) -> &'static str {
        "Initializes a git repository of the content in the workspace, and pushes it to any git remote: a configured host (RepoUrlPicker `repoUrl`), or `remoteUrl` (a URL, or a local bare repository inside the allowed roots)."
    }
    fn input_schema(&self) -> Value {
        let mut properties = common_input_properties();
        properties["repoUrl"] = json!({ "title": "Repository Location", "type": "string", "description": "host?owner=o&repo=r, resolved through scaffolder.git_hosts" });
        properties["remoteUrl"] = json!({ "title": "Remote URL", "type": "string", "description": "A git remote to push to directly" });
        json!({ "type": "object", "properties": properties, "anyOf": [ { "required": ["repoUrl"] }, { "required": ["remoteUrl"] } ] })
    }
    fn output_schema(&self) -> Value {
        publish_output_schema()
    }
    async fn run(&self, ctx: &mut ActionContext<'_>) -> Result<(), ActionError> {
        let settings = ctx.services.git.clone();
        let (remote, host) = match (ctx.str_input("remoteUrl"), ctx.str_input("repoUrl")) {
            (Some(remote), _) => (remote.to_string(), None),
            (None, Some(repo_url)) => {
                let (remote, host) =
                    resolve_remote(&settings, repo_url).map_err(ActionError::Invalid)?;
                (remote, Some(host))
            }
            (None, None) => {
                return Err(ActionError::Invalid(
                    "repoUrl or remoteUrl is required".into(),
                ));
            }
        };
        if let Some(path) = local_remote_path(&settings, &remote)? {
            ensure_local_bare(&settings, &path).await?;
        }
        let credentials = settings.credentials_for(host.as_ref(), "git");
        let hash = commit_and_push(ctx, &remote, credentials.as_ref()).await?;
        let branch = ctx.str_input("defaultBranch").unwrap_or("main").to_string();
        ctx.output("remoteUrl", json!(remote));
        ctx.output("repoContentsUrl", json!(contents_url(&remote, &branch)));
        ctx.output("commitHash", json!(hash));
        Ok(())
    }
}

/// A JSON API client for GitHub and GitLab.
struct Forge {
    client: reqwest::Client,
    base: String,
    token: Option<String>,
    kind: ForgeKind,
}

impl Forge {
    fn for_host(
        ctx: &ActionContext<'_>,
        host_name: &str,
        kind: ForgeKind,
    ) -> Result<(Forge, GitHost), ActionError> {
        let host = ctx
            .services
            .git
            .host(host_name)
            .cloned()
            .unwrap_or_else(|| GitHost {
                host: host_name.to_string(),
                kind,
                ..GitHost::default()
            });
        let base = host
            .api_base_url
            .clone()
            .unwrap_or_else(|| match (kind, host_name) {
                (ForgeKind::Github, "github.com") => "https://api.github.com".into(),
                (ForgeKind::Github, other) => format!("https://{other}/api/v3"),
                (_, other) => format!("https://{other}/api/v4"),
            });
        let token = ctx
            .str_input("token")
            .map(str::to_string)
            .or_else(|| host.token.clone());
        let _ = rustls::crypto::ring::default_provider().install_default();
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            .user_agent("paved-scaffolder")
            .build()
            .map_err(|e| ActionError::Failed(format!("cannot build an HTTP client: {e}")))?;
        Ok((
            Forge {
                client,
                base: base.trim_end_matches('/').to_string(),
                token,
                kind,
            },
            host,
        ))
    }

    async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> Result<(u16, Value), ActionError> {
        let mut request = self.client.request(method, format!("{}{path}", self.base));
        if let Some(token) = &self.token {
            request = match self.kind {
                ForgeKind::Gitlab => request.header("PRIVATE-TOKEN", token),
                _ => request.bearer_auth(token),
            };
        }
        if self.kind == ForgeKind::Github {
            request = request.header("Accept", "application/vnd.github+json");
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request
            .send()
            .await
            .map_err(|e| ActionError::Failed(format!("cannot reach {}: {e}", self.base)))?;
        let status = response.status().as_u16();
        let text = response.text().await.unwrap_or_default();
        let value = serde_json::from_str(&text).unwrap_or(Value::String(text));
        Ok((status, value))
    }

    fn failure(&self, what: &str, status: u16, body: &Value) -> ActionError {
        let message = body
            .get("message")
            .map(|m| m.to_string())
            .unwrap_or_else(|| body.to_string());
        ActionError::Failed(format!("{what} failed with HTTP {status}: {message}"))
    }
}

fn push_credentials(forge: &Forge, host: &GitHost, default_user: &str) -> Option<GitCredentials> {
    forge.token.clone().map(|token| GitCredentials {
        username: host
            .username
            .clone()
            .unwrap_or_else(|| default_user.to_string()),
        password: token,
    })
}

/// The clone URL an API returned: https remotes are pushed to as they are; local paths (a
/// stand-in in tests, an on-premise mirror) must be inside the allowed roots.
fn checked_clone_url(ctx: &ActionContext<'_>, url: &str) -> Result<String, ActionError> {
    local_remote_path(&ctx.services.git, url)?;
    Ok(url.to_string())
}

pub struct PublishGithub;

#[async_trait]
impl Action for PublishGithub {
    fn id(&self) -> &'static str {
        "publish:github"
    }
    fn description(&self) -> &'static str {
        "Initializes a git repository of contents in workspace and publishes it to GitHub."
    }
    fn input_schema(&self) -> Value {
        let mut properties = common_input_properties();
        properties["repoUrl"] = json!({ "title": "Repository Location", "type": "string" });
        properties["description"] = json!({ "title": "Repository Description", "type": "string" });
        properties["repoVisibility"] = json!({ "title": "Repository Visibility", "type": "string", "enum": ["private", "public", "internal"] });
        properties["token"] = json!({ "title": "Authentication Token", "type": "string", "description": "The token to use for authorization to GitHub" });
        json!({ "type": "object", "required": ["repoUrl"], "properties": properties })
    }
    fn output_schema(&self) -> Value {
        publish_output_schema()
    }
    async fn run(&self, ctx: &mut ActionContext<'_>) -> Result<(), ActionError> {
        let repo_url = ctx.str_input("repoUrl").unwrap_or_default().to_string();
        let parsed = parse_repo_url(&repo_url).map_err(ActionError::Invalid)?;
        let owner = parsed
            .owner
            .clone()
            .ok_or_else(|| ActionError::Invalid(format!("'{repo_url}' has no owner")))?;
        let (forge, host) = Forge::for_host(ctx, &parsed.host, ForgeKind::Github)?;
        let visibility = ctx
            .str_input("repoVisibility")
            .unwrap_or("private")
            .to_string();
        let mut body = json!({
            "name": parsed.repo,
            "private": visibility != "public",
            "visibility": visibility,
            "description": ctx.str_input("description").unwrap_or(""),
        });
        // An organisation's repository, or the signed-in user's own.
        let (status, user) = forge
            .call(reqwest::Method::GET, &format!("/users/{owner}"), None)
            .await?;
        let path = if status == 200 && user.get("type").and_then(Value::as_str) == Some("User") {
            "/user/repos".to_string()
        } else {
            format!("/orgs/{owner}/repos")
        };
        if path == "/user/repos" {
            body.as_object_mut().map(|b| b.remove("visibility"));
        }
        ctx.info(format!(
            "Creating repository {owner}/{} on {}",
            parsed.repo, parsed.host
        ));
        let (status, created) = forge.call(reqwest::Method::POST, &path, Some(body)).await?;
        if status != 201 && status != 200 {
            return Err(forge.failure("creating the repository", status, &created));
        }
        let clone_url = created
            .get("clone_url")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let html_url = created
            .get("html_url")
            .and_then(Value::as_str)
            .unwrap_or(clone_url)
            .to_string();
        let clone_url = checked_clone_url(ctx, clone_url)?;
        let credentials = push_credentials(&forge, &host, "x-access-token");
        let hash = commit_and_push(ctx, &clone_url, credentials.as_ref()).await?;
        let branch = ctx.str_input("defaultBranch").unwrap_or("main").to_string();
        ctx.output("remoteUrl", json!(html_url));
        ctx.output(
            "repoContentsUrl",
            json!(format!("{html_url}/blob/{branch}")),
        );
        ctx.output("commitHash", json!(hash));
        Ok(())
    }
}

pub struct PublishGithubPullRequest;

#[async_trait]
impl Action for PublishGithubPullRequest {
    fn id(&self) -> &'static str {
        "publish:github:pull-request"
    }
    fn description(&self) -> &'static str {
        "Creates a pull request on GitHub with the content of the workspace."
    }
    fn input_schema(&self) -> Value {
        json!({
            "type": "object",
            "required": ["repoUrl", "title", "description", "branchName"],
            "properties": {
                "repoUrl": { "title": "Repository Location", "type": "string" },
                "branchName": { "title": "Branch Name", "type": "string", "description": "The name for the branch" },
                "targetBranchName": { "title": "Target Branch Name", "type": "string", "description": "The target branch name of the pull request (the repository's default branch if omitted)" },
                "title": { "title": "Pull Request Name", "type": "string" },
                "description": { "title": "Pull Request Description", "type": "string" },
                "sourcePath": { "title": "Working Subdirectory", "type": "string", "description": "Subdirectory of working directory to copy changes from" },
                "targetPath": { "title": "Repository Subdirectory", "type": "string", "description": "Subdirectory of repository to apply changes to" },
                "gitCommitMessage": { "title": "Git Commit Message", "type": "string" },
                "token": { "title": "Authentication Token", "type": "string" },
            },
        })
    }
    fn output_schema(&self) -> Value {
        json!({
            "type": "object",
            "properties": {
                "targetBranchName": { "title": "Target branch name of the merge request", "type": "string" },
                "remoteUrl": { "title": "Pull Request URL", "type": "string" },
                "pullRequestNumber": { "title": "Pull Request Number", "type": "number" },
            },
        })
    }
    async fn run(&self, ctx: &mut ActionContext<'_>) -> Result<(), ActionError> {
        let repo_url = ctx.str_input("repoUrl").unwrap_or_default().to_string();
        let parsed = parse_repo_url(&repo_url).map_err(ActionError::Invalid)?;
        let owner = parsed
            .owner
            .clone()
            .ok_or_else(|| ActionError::Invalid(format!("'{repo_url}' has no owner")))?;
        let branch = ctx.str_input("branchName").unwrap_or_default().to_string();
        if branch.is_empty()
            || branch.starts_with('-')
            || branch.contains("..")
            || branch.contains(char::is_whitespace)
        {
            return Err(ActionError::Invalid(format!(
                "'{branch}' is not a valid branch name"
            )));
        }
        let (forge, host) = Forge::for_host(ctx, &parsed.host, ForgeKind::Github)?;
        let (status, repo) = forge
            .call(
                reqwest::Method::GET,
                &format!("/repos/{owner}/{}", parsed.repo),
                None,
            )
            .await?;
        if status != 200 {
            return Err(forge.failure("reading the repository", status, &repo));
        }
        let clone_url = checked_clone_url(
            ctx,
            repo.get("clone_url")
                .and_then(Value::as_str)
                .unwrap_or_default(),
        )?;
        let base = ctx
            .str_input("targetBranchName")
            .map(str::to_string)
            .or_else(|| {
                repo.get("default_branch")
                    .and_then(Value::as_str)
                    .map(str::to_string)
            })
            .unwrap_or_else(|| "main".into());
        let credentials = push_credentials(&forge, &host, "x-access-token");
        let settings = &ctx.services.git;
        // Clone into a folder beside the workspace content, copy the changes in, push a branch.
        let clone_dir = tempfile_dir(ctx.workspace)?;
        let git = |dir: PathBuf, args: Vec<String>| {
            let creds = credentials.clone();
            let timeout = settings.timeout;
            async move {
                let refs: Vec<&str> = args.iter().map(String::as_str).collect();
                run_git(&dir, &refs, creds.as_ref(), timeout)
                    .await
                    .map_err(|e| ActionError::Failed(e.0))
            }
        };
        let parent = clone_dir.parent().unwrap_or(ctx.workspace).to_path_buf();
        let clone_name = clone_dir
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or("clone")
            .to_string();
        git(
            parent,
            vec![
                "clone".into(),
                "--quiet".into(),
                "--branch".into(),
                base.clone(),
                "--".into(),
                clone_url.clone(),
                clone_name,
            ],
        )
        .await?;
        git(
            clone_dir.clone(),
            vec![
                "checkout".into(),
                "--quiet".into(),
                "-B".into(),
                branch.clone(),
            ],
        )
        .await?;
        let source = resolve_inside(ctx.workspace, ctx.str_input("sourcePath").unwrap_or("./"))?;
        let target = resolve_inside(&clone_dir, ctx.str_input("targetPath").unwrap_or("./"))?;
        copy_tree(&source, &target, &clone_dir)?;
        git(clone_dir.clone(), vec!["add".into(), "--all".into()]).await?;
        let message = ctx
            .str_input("gitCommitMessage")
            .or(ctx.str_input("title"))
            .unwrap_or("changes")
            .to_string();
        git(
            clone_dir.clone(),
            vec![
                "-c".into(),
                format!("user.name={}", settings.author_name),
                "-c".into(),
                format!("user.email={}", settings.author_email),
                "commit".into(),
                "--quiet".into(),
                "--allow-empty".into(),
                "-m".into(),
                message,
            ],
        )
        .await?;
        git(
            clone_dir.clone(),
            vec![
                "push".into(),
                "--quiet".into(),
                "--".into(),
                clone_url.clone(),
                format!("HEAD:refs/heads/{branch}"),
            ],
        )
        .await?;
        let _ = std::fs::remove_dir_all(&clone_dir);
        let (status, pr) = forge
            .call(
                reqwest::Method::POST,
                &format!("/repos/{owner}/{}/pulls", parsed.repo),
                Some(json!({
                    "title": ctx.str_input("title").unwrap_or_default(),
                    "body": ctx.str_input("description").unwrap_or_default(),
                    "head": branch,
                    "base": base,
                })),
            )
            .await?;
        if status != 201 && status != 200 {
            return Err(forge.failure("creating the pull request", status, &pr));
        }
        ctx.info(format!(
            "Pull request created: {}",
            pr.get("html_url")
                .and_then(Value::as_str)
                .unwrap_or_default()
        ));
        ctx.output(
            "remoteUrl",
            pr.get("html_url").cloned().unwrap_or(Value::Null),
        );
        ctx.output(
            "pullRequestNumber",
            pr.get("number").cloned().unwrap_or(Value::Null),
        );
        ctx.output("targetBranchName", json!(base));
        Ok(())
    }
}

/// A fresh folder next to the workspace (never inside it: the workspace is what is copied).
fn tempfile_dir(workspace: &Path) -> Result<PathBuf, ActionError> {
    let parent = workspace.parent().unwrap_or(workspace);
    let name = format!(
        "{}-pr-{}",
        workspace
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or("ws"),
        std::process::id()
    );
    let dir = parent.join(name);
    let _ = std::fs::remove_dir_all(&dir);
    Ok(dir)
}

/// Copies the files of `from` (not `.git`) into `to`, which must stay inside `root`.
fn copy_tree(from: &Path, to: &Path, root: &Path) -> Result<(), ActionError> {
    for entry in walkdir::WalkDir::new(from).follow_links(false).min_depth(1) {
        let entry = entry.map_err(|e| ActionError::Failed(e.to_string()))?;
        let rel = crate::confine::relative_display(from, entry.path());
        if rel == ".git" || rel.starts_with(".git/") {
            continue;
        }
        let out = resolve_inside(to, &rel)?;
        crate::confine::check_no_link_escape(root, &out)?;
        if entry.file_type().is_dir() {
            std::fs::create_dir_all(&out).map_err(|e| super::io_error("cannot create", &out, e))?;
        } else if entry.file_type().is_file() {
            if let Some(p) = out.parent() {
                std::fs::create_dir_all(p).map_err(|e| super::io_error("cannot create", p, e))?;
            }
            std::fs::copy(entry.path(), &out)
                .map_err(|e| super::io_error("cannot copy", entry.path(), e))?;
        }
    }
    Ok(())
}

pub struct PublishGitlab;

#[async_trait]
impl Action for PublishGitlab {
    fn id(&self) -> &'static str {
        "publish:gitlab"
    }
    fn description(&self) -> &'static str {
        "Initializes a git repository of the content in the workspace, and publishes it to GitLab."
    }
    fn input_schema(&self) -> Value {
        let mut properties = common_input_properties();
        properties["repoUrl"] = json!({ "title": "Repository Location", "type": "string" });
        properties["repoVisibility"] = json!({ "title": "Repository Visibility", "type": "string", "enum": ["private", "public", "internal"] });
        properties["token"] = json!({ "title": "Authentication Token", "type": "string", "description": "The token to use for authorization to GitLab" });
        json!({ "type": "object", "required": ["repoUrl"], "properties": properties })
    }
    fn output_schema(&self) -> Value {
        let mut schema = publish_output_schema();
        schema["properties"]["projectId"] =
            json!({ "title": "The ID of the project", "type": "number" });
        schema
    }
    async fn run(&self, ctx: &mut ActionContext<'_>) -> Result<(), ActionError> {
        let repo_url = ctx.str_input("repoUrl").unwrap_or_default().to_string();
        let parsed = parse_repo_url(&repo_url).map_err(ActionError::Invalid)?;
        let owner = parsed
            .owner
            .clone()
            .ok_or_else(|| ActionError::Invalid(format!("'{repo_url}' has no owner")))?;
        let (forge, host) = Forge::for_host(ctx, &parsed.host, ForgeKind::Gitlab)?;
        let encoded_owner = owner.replace('/', "%2F");
        let (status, namespace) = forge
            .call(
                reqwest::Method::GET,
                &format!("/namespaces/{encoded_owner}"),
                None,
            )
            .await?;
        if status != 200 {
            return Err(forge.failure(
                &format!("finding the namespace '{owner}'"),
                status,
                &namespace,
            ));
        }
        let namespace_id = namespace.get("id").cloned().unwrap_or(Value::Null);
        ctx.info(format!(
            "Creating project {owner}/{} on {}",
            parsed.repo, parsed.host
        ));
        let (status, project) = forge
            .call(
                reqwest::Method::POST,
                "/projects",
                Some(json!({
                    "name": parsed.repo,
                    "path": parsed.repo,
                    "namespace_id": namespace_id,
                    "visibility": ctx.str_input("repoVisibility").unwrap_or("private"),
                })),
            )
            .await?;
        if status != 201 && status != 200 {
            return Err(forge.failure("creating the project", status, &project));
        }
        let clone_url = checked_clone_url(
            ctx,
            project
                .get("http_url_to_repo")
                .and_then(Value::as_str)
                .unwrap_or_default(),
        )?;
        let web_url = project
            .get("web_url")
            .and_then(Value::as_str)
            .unwrap_or(&clone_url)
            .to_string();
        let credentials = push_credentials(&forge, &host, "oauth2");
        let hash = commit_and_push(ctx, &clone_url, credentials.as_ref()).await?;
        let branch = ctx.str_input("defaultBranch").unwrap_or("main").to_string();
        ctx.output("remoteUrl", json!(web_url));
        ctx.output(
            "repoContentsUrl",
            json!(format!("{web_url}/-/blob/{branch}")),
        );
        ctx.output("commitHash", json!(hash));
        ctx.output(
            "projectId",
            project.get("id").cloned().unwrap_or(Value::Null),
        );
        Ok(())
    }
}
