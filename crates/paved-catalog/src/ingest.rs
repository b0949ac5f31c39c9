//! Reading a whole location: follows Location entities level by level (relative targets,
//! each file once), reads files, directories, globs and git repositories, and processes
//! documents on every core. The reading streams to the store in parts (`SnapshotPart`), a few
//! files at a time, so memory does not grow with the location.

use crate::error::CatalogError;
use crate::git::{GitSettings, checkout};
use crate::location::{
    AllowedRoots, GitTarget, LocationSpec, ParsedTarget, clean_repo_path, glob_base, is_glob,
    normalize,
};
use crate::processor::{ChildTargets, DocumentOutcome, FileContext, process_document};
use crate::rules::CatalogRules;
use globset::GlobBuilder;
use paved_model::entity::annotation;
use paved_model::yaml::{YamlLimits, for_each_document, parse_documents};
use paved_model::{Diagnostic, Entity, EntityRef, ProcessedEntity, SourcePosition};
use paved_store::{EncodedEntity, ProcessingError, SnapshotEnd, SnapshotEntity, SnapshotPart};
use serde_json::json;
use sha2::{Digest, Sha256};
use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};

/// Most levels of Location entities followed from one registered location.
const MAX_LOCATION_DEPTH: usize = 32;
/// Most files read from one registered location.
const MAX_FILES: usize = 200_000;
/// Entities per part sent to the store.
const PART_ENTITIES: usize = 1000;
/// Files processed at once, per core: enough to keep every core busy, few enough that the
/// entities in flight stay a small, bounded amount of memory. One: the next batch is parsed
/// while the store writes the last one, and a second file per core added ~20 MiB to the
/// peak of a 100k ingestion without making it faster.
const FILES_PER_CORE_IN_FLIGHT: usize = 1;

/// Everything ingestion needs besides the store.
#[derive(Clone, Debug)]
pub struct Reader {
    pub roots: AllowedRoots,
    pub git: GitSettings,
    pub limits: YamlLimits,
    /// Which kinds each location may provide.
    pub rules: std::sync::Arc<CatalogRules>,
}

/// A file to read, with where it came from.
#[derive(Clone, Debug)]
struct SourceFile {
    /// Name in diagnostics and `source.file`: an absolute path, or a git location string.
    display: String,
    /// `file:/…` or `url:…`.
    managed_by: String,
    path: PathBuf,
    /// Folder the file and its placeholders may not leave.
    root: PathBuf,
    /// The Location entity that listed it (the generated root Location for the registered
    /// location's own target).
    parent: EntityRef,
    /// For files read from git: the repository target, to resolve relative targets.
    git: Option<(GitTarget, String)>,
}

struct FileResult {
    file: SourceFile,
    /// Encoded on the worker that read the file, so that encoding runs on every core and
    /// entities in flight take little memory.
    accepted: Vec<(EncodedEntity, Option<ChildTargets>)>,
    rejected: Vec<(Option<EntityRef>, Vec<Diagnostic>)>,
    /// The file could not be read or parsed completely.
    failed: Vec<Diagnostic>,
}

/// The `location:default/generated-…` entity Backstage creates for a registered location.
pub fn root_location_ref(spec: &LocationSpec) -> EntityRef {
    let digest = Sha256::digest(spec.display().as_bytes());
    EntityRef::new(
        "location",
        "default",
        &format!("generated-{}", hex::encode(&digest[..20])),
    )
}

fn root_location_entity(spec: &LocationSpec) -> ProcessedEntity {
    let entity_ref = root_location_ref(spec);
    let mut entity = Entity::from_value(json!({
        "apiVersion": "backstage.io/v1alpha1",
        "kind": "Location",
        "metadata": { "name": entity_ref.name(), "namespace": "default" },
        "spec": { "type": spec.kind, "target": spec.target },
    }))
    .expect("an object");
    entity.set_annotation(annotation::MANAGED_BY_LOCATION, &spec.display());
    entity.set_annotation(annotation::MANAGED_BY_ORIGIN_LOCATION, &spec.display());
    ProcessedEntity {
        entity_ref,
        entity,
        relations: Vec::new(),
        source: SourcePosition {
            file: spec.display(),
            line: 1,
            column: 1,
        },
        warnings: Vec::new(),
    }
}

impl Reader {
    /// Reads everything a registered location provides into memory (for a dry run and for
    /// registration, which must know the whole reading before storing anything). Never
    /// fails: problems become processing errors of the end (`complete: false` when the
    /// location itself could not be read, so nothing stored from it is orphaned).
    pub async fn read_location(&self, spec: &LocationSpec) -> LocationReading {
        let (sender, mut parts) = tokio::sync::mpsc::channel(4);
        let reading = self.read_location_parts(spec, sender);
        let collecting = async {
            let mut whole = LocationReading {
                entities: Vec::new(),
                end: SnapshotEnd::default(),
            };
            while let Some(part) = parts.recv().await {
                match part {
                    SnapshotPart::Entities(entities) => whole.entities.extend(entities),
                    SnapshotPart::End(end) => whole.end = end,
                }
            }
            whole
        };
        tokio::join!(reading, collecting).1
    }

    /// Reads everything a registered location provides and sends it as it goes: entities in
    /// reading order (the location's root entity first), then [`SnapshotPart::End`]. Never
    /// fails: problems become processing errors of the end part. Stops early, without an
    /// end, when the receiver is gone (the store gave up).
    pub async fn read_location_parts(
        &self,
        spec: &LocationSpec,
        parts: tokio::sync::mpsc::Sender<SnapshotPart>,
    ) {
        let mut out = PartSender {
            parts,
            entities: Vec::with_capacity(PART_ENTITIES),
        };
        let origin = spec.display();
        let root_entity = root_location_entity(spec);
        let root_ref = root_entity.entity_ref.clone();
        let mut end = SnapshotEnd {
            complete: true,
            ..SnapshotEnd::default()
        };
        let root_entity = SnapshotEntity {
            processed: root_entity,
            parent: None,
        };
        match EncodedEntity::encode(&root_entity) {
            Ok(encoded) => {
                if !out.push(encoded).await {
                    return;
                }
            }
            Err(e) => end.errors.push(ProcessingError {
                entity_ref: None,
                diagnostic: Diagnostic::error(format!("cannot encode the location's entity: {e}")),
            }),
        }
        let mut checkouts: HashMap<(String, Option<String>), PathBuf> = HashMap::new();
        let mut seen_files: HashSet<String> = HashSet::new();
        let mut pending: Vec<(LocationSpec, EntityRef, Option<ListedIn>)> =
            vec![(spec.clone(), root_ref.clone(), None)];
        let in_flight = std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(2)
            * FILES_PER_CORE_IN_FLIGHT;
        for depth in 0..MAX_LOCATION_DEPTH {
            if pending.is_empty() {
                break;
            }
            let mut files = Vec::new();
            for (target, parent, listed_in) in std::mem::take(&mut pending) {
                match self.resolve_target(&target, &parent, &mut checkouts).await {
                    Ok(found) => {
                        if found.is_empty() {
                            end.errors.push(ProcessingError {
                                entity_ref: Some(parent.clone()),
                                diagnostic: ListedIn::place(
                                    Diagnostic::error(format!(
                                        "{} matches no catalog file",
                                        target.display()
                                    )),
                                    listed_in.as_ref(),
                                    &target,
                                ),
                            });
                        }
                        for file in found {
                            if seen_files.insert(file.display.clone())
                                && seen_files.len() <= MAX_FILES
                            {
                                files.push(file);
                            }
                        }
                    }
                    Err(e) => {
                        let not_found = matches!(e, CatalogError::NotFound(_));
                        if depth == 0 {
                            end.complete = false;
                        } else if !not_found {
                            end.failed_files.push(target.target.clone());
                        }
                        end.errors.push(ProcessingError {
                            entity_ref: Some(parent.clone()),
                            diagnostic: ListedIn::place(
                                Diagnostic::error(e.to_string()),
                                listed_in.as_ref(),
                                &target,
                            ),
                        });
                    }
                }
            }
            // The next batch is read while the results of the last one go to the store, so
            // the cores parse files while the database writes.
            let mut files = files.into_iter().peekable();
            let next_batch = |files: &mut std::iter::Peekable<_>| {
                let batch: Vec<SourceFile> = files.by_ref().take(in_flight).collect();
                (!batch.is_empty()).then(|| spawn_process_files(batch, &self.limits, &origin))
            };
            let mut reading = next_batch(&mut files);
            while let Some(batch) = reading {
                let results = batch.await.unwrap_or_default();
                reading = next_batch(&mut files);
                for result in results {
                    for entity in
                        take_file_result(result, &mut end, &mut pending, &self.rules, spec)
                    {
                        if !out.push(entity).await {
                            return;
                        }
                    }
                }
            }
            if depth + 1 == MAX_LOCATION_DEPTH && !pending.is_empty() {
                end.errors.push(ProcessingError {
                    entity_ref: Some(root_ref.clone()),
                    diagnostic: Diagnostic::error(format!(
                        "Location entities nest deeper than {MAX_LOCATION_DEPTH} levels; the rest was not read"
                    )),
                });
            }
        }
        if out.flush().await {
            // A closed receiver has nothing left to tell.
            let _ = out.parts.send(SnapshotPart::End(end)).await;
        }
    }

    /// Reads one file of a `file` location again, for a refresh of the entities it defines
    /// (Backstage refreshes an entity and its ancestors, not the whole location). `file` is
    /// the file as stored for its entities (its canonical path), `parent` the Location entity
    /// that listed it. The reading's end names the file ([`SnapshotEnd::only_file`]).
    /// `None` when the file cannot stand alone: it defines Location entities, whose targets
    /// would have to be followed, or it no longer resolves to the same path.
    pub async fn read_one_file(
        &self,
        spec: &LocationSpec,
        file: &str,
        parent: &EntityRef,
    ) -> Option<Vec<SnapshotPart>> {
        // A file gone or moved out of the allowed roots is for a reading of the whole
        // location to report.
        let path = self.roots.check(Path::new(file)).ok()?;
        if path.display().to_string() != file {
            return None;
        }
        let root = self
            .roots
            .roots()
            .iter()
            .find(|r| path.starts_with(r))
            .cloned()
            .unwrap_or_else(|| path.parent().unwrap_or(Path::new("/")).to_path_buf());
        let source = SourceFile {
            display: file.to_string(),
            managed_by: format!("file:{file}"),
            path,
            root,
            parent: parent.clone(),
            git: None,
        };
        let result = process_files(vec![source], &self.limits, &spec.display())
            .await
            .into_iter()
            .next()?;
        if result
            .accepted
            .iter()
            .any(|(_, children)| children.is_some())
        {
            return None;
        }
        let mut end = SnapshotEnd {
            complete: true,
            only_file: Some(file.to_string()),
            ..SnapshotEnd::default()
        };
        let mut pending = Vec::new();
        let entities = take_file_result(result, &mut end, &mut pending, &self.rules, spec);
        Some(vec![
            SnapshotPart::Entities(entities),
            SnapshotPart::End(end),
        ])
    }

    /// The files a target names: one file, every `catalog-info.yaml` under a directory, the
    /// matches of a glob, or the same inside a git checkout.
    async fn resolve_target(
        &self,
        target: &LocationSpec,
        parent: &EntityRef,
        checkouts: &mut HashMap<(String, Option<String>), PathBuf>,
    ) -> Result<Vec<SourceFile>, CatalogError> {
        match target.parse()? {
            ParsedTarget::File(path) => {
                let roots = self.roots.clone();
                let parent = parent.clone();
                tokio::task::spawn_blocking(move || {
                    let mut out = Vec::new();
                    for file in expand_local(&path, &roots)? {
                        let root = roots
                            .roots()
                            .iter()
                            .find(|r| file.starts_with(r))
                            .cloned()
                            .unwrap_or_else(|| {
                                file.parent().unwrap_or(Path::new("/")).to_path_buf()
                            });
                        let display = file.display().to_string();
                        out.push(SourceFile {
                            managed_by: format!("file:{display}"),
                            display,
                            path: file,
                            root,
                            parent: parent.clone(),
                            git: None,
                        });
                    }
                    Ok(out)
                })
                .await
                .map_err(|e| CatalogError::Internal(e.to_string()))?
            }
            ParsedTarget::Git(git) => {
                if let Some(repository) = git.local_repository() {
                    self.roots.check(&repository)?;
                }
                let key = (git.remote.clone(), git.reference.clone());
                let dir = match checkouts.get(&key) {
                    Some(dir) => dir.clone(),
                    None => {
                        let dir = checkout(&self.git, &git).await?;
                        checkouts.insert(key, dir.clone());
                        dir
                    }
                };
                let root = std::fs::canonicalize(&dir)
                    .map_err(|e| CatalogError::Internal(format!("checkout vanished: {e}")))?;
                let start = root.join(&git.path);
                let roots = AllowedRoots::new([root.clone()]);
                let files = expand_local(&start, &roots)?;
                Ok(files
                    .into_iter()
                    .map(|file| {
                        let repo_path = file
                            .strip_prefix(&root)
                            .map(|p| p.to_string_lossy().replace('\\', "/"))
                            .unwrap_or_default();
                        let display = git.target_for(&repo_path);
                        SourceFile {
                            managed_by: format!("url:{display}"),
                            display,
                            path: file,
                            root: root.clone(),
                            parent: parent.clone(),
                            git: Some((git.clone(), repo_path)),
                        }
                    })
                    .collect())
            }
        }
    }
}

/// Where a Location entity listed a target: the file and the line of its document, so an
/// error about the target points at `spec.targets` there.
struct ListedIn {
    file: String,
    line: u32,
}

impl ListedIn {
    /// `diagnostic` placed at the listing, or at the target itself for a location with no
    /// Location entity above it (one registered directly).
    fn place(
        diagnostic: Diagnostic,
        listed_in: Option<&ListedIn>,
        target: &LocationSpec,
    ) -> Diagnostic {
        match listed_in {
            Some(listed) => diagnostic
                .with_file(listed.file.clone())
                .at(listed.line, 1)
                .with_field("spec.targets"),
            None => diagnostic.with_file(target.display()),
        }
    }
}

/// Takes one processed file apart: its problems go into `end`, the targets of its Location
/// entities into `pending`, and its entities are returned — those the catalog rules allow
/// for `root`; the others become errors on the Location entity that listed the file.
fn take_file_result(
    result: FileResult,
    end: &mut SnapshotEnd,
    pending: &mut Vec<(LocationSpec, EntityRef, Option<ListedIn>)>,
    rules: &CatalogRules,
    root: &LocationSpec,
) -> Vec<EncodedEntity> {
    if !result.failed.is_empty() {
        end.failed_files.push(result.file.display.clone());
        for d in result.failed {
            end.errors.push(ProcessingError {
                entity_ref: Some(result.file.parent.clone()),
                diagnostic: d,
            });
        }
    }
    for (entity_ref, errors) in result.rejected {
        let pinned = entity_ref
            .clone()
            .unwrap_or_else(|| result.file.parent.clone());
        if let Some(r) = entity_ref {
            end.retained.push(r);
        }
        for d in errors {
            end.errors.push(ProcessingError {
                entity_ref: Some(pinned.clone()),
                diagnostic: d,
            });
        }
    }
    let mut entities = Vec::with_capacity(result.accepted.len());
    for (processed, children) in result.accepted {
        let kind = processed.entity_ref.kind();
        if !rules.allows(kind, root, &result.file.managed_by) {
            end.errors.push(ProcessingError {
                entity_ref: Some(result.file.parent.clone()),
                diagnostic: Diagnostic::error(format!(
                    "{} is not allowed from this location: the catalog rules (catalog.rules, or \
                     the location's rules) do not allow entities of kind {kind} from {}",
                    processed.entity_ref, result.file.display
                ))
                .with_file(result.file.display.clone())
                .at(processed.source.line, processed.source.column)
                .with_field("kind"),
            });
            continue;
        }
        for warning in &processed.warnings {
            end.errors.push(ProcessingError {
                entity_ref: Some(processed.entity_ref.clone()),
                diagnostic: warning.clone(),
            });
        }
        if let Some(children) = children {
            for target in &children.targets {
                match child_spec(&result.file, children.kind.as_deref(), target) {
                    Ok(child) => pending.push((
                        child,
                        children.location.clone(),
                        Some(ListedIn {
                            file: result.file.display.clone(),
                            line: children.line,
                        }),
                    )),
                    Err(e) => end.errors.push(ProcessingError {
                        entity_ref: Some(children.location.clone()),
                        diagnostic: Diagnostic::error(e.to_string())
                            .with_file(result.file.display.clone())
                            .at(children.line, 1)
                            .with_field("spec.target"),
                    }),
                }
            }
        }
        entities.push(processed);
    }
    entities
}

/// A whole location's reading held in memory.
#[derive(Debug)]
pub struct LocationReading {
    pub entities: Vec<EncodedEntity>,
    pub end: SnapshotEnd,
}

impl LocationReading {
    /// The reading as the parts [`paved_store::CatalogStore::apply_location_parts`] takes.
    pub fn into_parts(self) -> Vec<SnapshotPart> {
        vec![
            SnapshotPart::Entities(self.entities),
            SnapshotPart::End(self.end),
        ]
    }
}

/// Collects entities into parts of [`PART_ENTITIES`] and sends them.
struct PartSender {
    parts: tokio::sync::mpsc::Sender<SnapshotPart>,
    entities: Vec<EncodedEntity>,
}

impl PartSender {
    /// `false` when the receiver is gone.
    async fn push(&mut self, entity: EncodedEntity) -> bool {
        self.entities.push(entity);
        self.entities.len() < PART_ENTITIES || self.flush().await
    }

    async fn flush(&mut self) -> bool {
        if self.entities.is_empty() {
            return true;
        }
        let entities = std::mem::replace(&mut self.entities, Vec::with_capacity(PART_ENTITIES));
        self.parts
            .send(SnapshotPart::Entities(entities))
            .await
            .is_ok()
    }
}

/// Expands a local path (file, directory, or glob) into the catalog files it names, every
/// one checked against the allowed roots.
fn expand_local(path: &Path, roots: &AllowedRoots) -> Result<Vec<PathBuf>, CatalogError> {
    let text = path.to_string_lossy();
    if is_glob(&text) {
        let base = roots.check(&glob_base(path))?;
        let relative_pattern = path
            .strip_prefix(normalize(&base))
            .map(|p| p.to_string_lossy().into_owned())
            .unwrap_or_else(|_| {
                let skip = base.components().count();
                path.components()
                    .skip(skip)
                    .collect::<PathBuf>()
                    .to_string_lossy()
                    .into_owned()
            });
        let matcher = GlobBuilder::new(&relative_pattern)
            .literal_separator(true)
            .build()
            .map_err(|e| CatalogError::Invalid(format!("bad glob '{text}': {e}")))?
            .compile_matcher();
        let mut out = Vec::new();
        for entry in walkdir::WalkDir::new(&base)
            .follow_links(false)
            .sort_by_file_name()
        {
            let Ok(entry) = entry else { continue };
            if !entry.file_type().is_file() {
                continue;
            }
            let Ok(rel) = entry.path().strip_prefix(&base) else {
                continue;
            };
            if matcher.is_match(rel) {
                out.push(roots.check(entry.path())?);
            }
        }
        return Ok(out);
    }
    let checked = roots.check(path)?;
    if checked.is_dir() {
        let mut out = Vec::new();
        for entry in walkdir::WalkDir::new(&checked)
            .follow_links(false)
            .sort_by_file_name()
            .into_iter()
            .filter_entry(|e| {
                let name = e.file_name().to_string_lossy();
                !(e.depth() > 0
                    && (name.starts_with('.') || name == "node_modules" || name == "target"))
            })
        {
            let Ok(entry) = entry else { continue };
            let name = entry.file_name().to_string_lossy();
            if entry.file_type().is_file()
                && (name == "catalog-info.yaml" || name == "catalog-info.yml")
            {
                out.push(roots.check(entry.path())?);
            }
        }
        Ok(out)
    } else {
        Ok(vec![checked])
    }
}

/// The location a Location entity's target names, resolved against the file listing it.
fn child_spec(
    file: &SourceFile,
    kind: Option<&str>,
    target: &str,
) -> Result<LocationSpec, CatalogError> {
    match &file.git {
        Some((git, repo_path)) => {
            let kind = kind.unwrap_or("url");
            if kind != "url" {
                return Err(CatalogError::Invalid(format!(
                    "a location read from git cannot point at '{kind}:{target}' on this server"
                )));
            }
            if GitTarget::parse(target).is_ok() && !target.starts_with('/') {
                return Ok(LocationSpec::new("url", target));
            }
            let dir = repo_path.rsplit_once('/').map(|(d, _)| d).unwrap_or("");
            let joined = clean_repo_path(&format!("{dir}/{target}")).ok_or_else(|| {
                CatalogError::Forbidden(format!("target '{target}' leaves the repository"))
            })?;
            Ok(LocationSpec::new("url", git.target_for(&joined)))
        }
        None => {
            let kind = kind.unwrap_or("file");
            if kind == "url" {
                return Ok(LocationSpec::new("url", target));
            }
            if kind != "file" {
                return Err(CatalogError::Invalid(format!(
                    "unsupported location type '{kind}'"
                )));
            }
            let base = file.path.parent().unwrap_or(Path::new("/"));
            let path = normalize(&base.join(target));
            Ok(LocationSpec::new("file", path.to_string_lossy()))
        }
    }
}

/// Reads and processes files on every core, keeping their order.
async fn process_files(
    files: Vec<SourceFile>,
    limits: &YamlLimits,
    origin: &str,
) -> Vec<FileResult> {
    spawn_process_files(files, limits, origin)
        .await
        .unwrap_or_default()
}

/// Reads and processes files on every core, in the background; the results come in the
/// files' order.
fn spawn_process_files(
    files: Vec<SourceFile>,
    limits: &YamlLimits,
    origin: &str,
) -> tokio::task::JoinHandle<Vec<FileResult>> {
    let limits = limits.clone();
    let origin = origin.to_string();
    tokio::task::spawn_blocking(move || {
        let threads = std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(2)
            .min(files.len())
            .max(1);
        let next = std::sync::atomic::AtomicUsize::new(0);
        let mut slots: Vec<Option<FileResult>> = (0..files.len()).map(|_| None).collect();
        let results = std::sync::Mutex::new(Vec::with_capacity(files.len()));
        std::thread::scope(|scope| {
            for _ in 0..threads {
                scope.spawn(|| {
                    let mut local = Vec::new();
                    loop {
                        let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        let Some(file) = files.get(i) else { break };
                        local.push((i, process_file(file.clone(), &limits, &origin)));
                    }
                    results
                        .lock()
                        .expect("no panics while holding")
                        .extend(local);
                });
            }
        });
        for (i, r) in results.into_inner().expect("threads joined") {
            slots[i] = Some(r);
        }
        slots.into_iter().flatten().collect()
    })
}

fn process_file(file: SourceFile, limits: &YamlLimits, origin: &str) -> FileResult {
    let mut result = FileResult {
        file,
        accepted: Vec::new(),
        rejected: Vec::new(),
        failed: Vec::new(),
    };
    let display = result.file.display.clone();
    let bytes = match std::fs::metadata(&result.file.path) {
        Ok(meta) if meta.len() as usize > limits.max_bytes => {
            result.failed.push(
                Diagnostic::error(format!(
                    "file is {} bytes, over the limit of {} (catalog.max_file_bytes)",
                    meta.len(),
                    limits.max_bytes
                ))
                .with_file(display),
            );
            return result;
        }
        _ => match std::fs::read(&result.file.path) {
            Ok(bytes) => bytes,
            Err(e) => {
                result
                    .failed
                    .push(Diagnostic::error(format!("cannot read file: {e}")).with_file(display));
                return result;
            }
        },
    };
    let base_dir = result
        .file
        .path
        .parent()
        .unwrap_or(Path::new("/"))
        .to_path_buf();
    let context = FileContext {
        display: &display,
        managed_by: &result.file.managed_by,
        origin,
        base_dir: &base_dir,
        root: &result.file.root,
        limits,
    };
    // Each document is processed and encoded as soon as it is parsed: the file's entities
    // are never all held as parsed trees at once.
    let (mut accepted, mut rejected) = (Vec::new(), Vec::new());
    let parse_errors =
        for_each_document(&bytes, &display, limits, |document| match process_document(
            document, &context,
        ) {
            DocumentOutcome::Accepted {
                processed,
                children,
            } => {
                let entity = SnapshotEntity {
                    processed: *processed,
                    parent: Some(result.file.parent.clone()),
                };
                match EncodedEntity::encode(&entity) {
                    Ok(encoded) => accepted.push((encoded, children)),
                    Err(e) => rejected.push((
                        Some(entity.processed.entity_ref.clone()),
                        vec![
                            Diagnostic::error(format!("cannot encode the entity: {e}"))
                                .with_file(display.clone())
                                .at(entity.processed.source.line, entity.processed.source.column),
                        ],
                    )),
                }
            }
            DocumentOutcome::Rejected { entity_ref, errors } => rejected.push((entity_ref, errors)),
        });
    result.failed = parse_errors
        .into_iter()
        .filter(Diagnostic::is_error)
        .collect();
    result.accepted = accepted;
    result.rejected = rejected;
    result
}

/// Offline validation of local files (`paved validate`): every document parsed, placeholders
/// resolved from local files, validated, relations checked; Location targets must exist.
/// Returns the diagnostics per file, in the order given.
pub fn validate_files(files: &[PathBuf], limits: &YamlLimits) -> Vec<(String, Vec<Diagnostic>)> {
    files
        .iter()
        .map(|path| {
            let display = path.display().to_string();
            let mut diagnostics = Vec::new();
            let bytes = match std::fs::read(path) {
                Ok(b) => b,
                Err(e) => {
                    diagnostics.push(
                        Diagnostic::error(format!("cannot read file: {e}"))
                            .with_file(display.clone()),
                    );
                    return (display, diagnostics);
                }
            };
            let (documents, parse_errors) = parse_documents(&bytes, &display, limits);
            diagnostics.extend(parse_errors);
            let absolute = std::path::absolute(path).unwrap_or_else(|_| path.clone());
            let base_dir = absolute.parent().unwrap_or(Path::new("/")).to_path_buf();
            let context = FileContext {
                display: &display,
                managed_by: &format!("file:{}", absolute.display()),
                origin: &format!("file:{}", absolute.display()),
                base_dir: &base_dir,
                // Offline, the file's folder tree is the root: placeholders may not leave it.
                root: &base_dir,
                limits,
            };
            for document in documents {
                match process_document(document, &context) {
                    DocumentOutcome::Accepted {
                        processed,
                        children,
                    } => {
                        diagnostics.extend(processed.warnings);
                        if let Some(children) = children {
                            for target in children.targets {
                                let is_local = children.kind.as_deref().unwrap_or("file") == "file";
                                if is_local && !is_glob(&target) && !base_dir.join(&target).exists()
                                {
                                    diagnostics.push(
                                        Diagnostic::error(format!(
                                            "Location target '{target}' does not exist"
                                        ))
                                        .with_file(display.clone())
                                        .at(children.line, 1)
                                        .with_field("spec.targets"),
                                    );
                                }
                            }
                        }
                    }
                    DocumentOutcome::Rejected { errors, .. } => diagnostics.extend(errors),
                }
            }
            (display, diagnostics)
        })
        .collect()
}
