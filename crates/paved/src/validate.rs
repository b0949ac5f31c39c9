//! `paved validate`: expands the arguments to files and prints the catalog's offline
//! diagnostics, as `file:line:col` lines or a JSON report.

use crate::{OutputFormat, ValidateArgs};
use anyhow::{Context, bail};
use paved_model::Diagnostic;
use paved_model::yaml::YamlLimits;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

pub fn run(args: &ValidateArgs) -> anyhow::Result<ExitCode> {
    let files = expand_paths(&args.paths)?;
    let results = paved_catalog::validate_files(&files, &YamlLimits::default());

    let errors: usize = results
        .iter()
        .map(|(_, d)| d.iter().filter(|d| d.is_error()).count())
        .sum();
    let warnings: usize = results
        .iter()
        .map(|(_, d)| d.iter().filter(|d| !d.is_error()).count())
        .sum();

    match args.format {
        OutputFormat::Text => {
            for (_, diagnostics) in &results {
                for diagnostic in diagnostics {
                    outln!("{diagnostic}")?;
                }
            }
            outln!("{}", summary(results.len(), errors, warnings))?;
        }
        OutputFormat::Json => {
            let report = serde_json::json!({
                "files": results.iter().map(|(file, diagnostics)| serde_json::json!({
                    "file": file,
                    "valid": !diagnostics.iter().any(Diagnostic::is_error),
                    "diagnostics": diagnostics,
                })).collect::<Vec<_>>(),
                "summary": { "files": results.len(), "errors": errors, "warnings": warnings },
            });
            outln!("{}", serde_json::to_string_pretty(&report)?)?;
        }
    }
    Ok(if errors > 0 {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

fn summary(files: usize, errors: usize, warnings: usize) -> String {
    let plural = |n: usize, word: &str| {
        if n == 1 {
            format!("{n} {word}")
        } else {
            format!("{n} {word}s")
        }
    };
    format!(
        "{} checked: {}, {}",
        plural(files, "file"),
        plural(errors, "error"),
        plural(warnings, "warning")
    )
}

fn is_yaml(path: &Path) -> bool {
    matches!(
        path.extension().and_then(|e| e.to_str()),
        Some("yaml" | "yml")
    )
}

fn has_glob_characters(text: &str) -> bool {
    text.contains(['*', '?', '[', '{'])
}

/// Files named, every `*.yaml`/`*.yml` under folders named, and the files matching glob
/// patterns, each once, in a stable order (arguments in order; inside one, sorted).
/// An argument that matches nothing is an error: a CI job with a typo must not pass.
fn expand_paths(arguments: &[String]) -> anyhow::Result<Vec<PathBuf>> {
    let mut seen = BTreeSet::new();
    let mut files = Vec::new();
    for argument in arguments {
        let path = Path::new(argument);
        let mut found: Vec<PathBuf> = Vec::new();
        if path.is_file() {
            found.push(path.to_path_buf());
        } else if path.is_dir() {
            found = yaml_files_under(path, looks_like_catalog_file);
        } else if has_glob_characters(argument) {
            let matcher = globset::GlobBuilder::new(argument)
                .literal_separator(true)
                .build()
                .with_context(|| format!("invalid glob pattern '{argument}'"))?
                .compile_matcher();
            let base = glob_base(argument);
            found = walk_files(&base)
                .into_iter()
                .filter(|file| matcher.is_match(file) || matcher.is_match(strip_dot(file)))
                .collect();
        } else {
            bail!("{argument}: no such file or folder");
        }
        if found.is_empty() {
            bail!("{argument}: no catalog YAML files found");
        }
        found.sort();
        for file in found {
            if seen.insert(file.clone()) {
                files.push(file);
            }
        }
    }
    Ok(files)
}

/// The folder before the first component holding a glob character (`catalog/**/*.yaml` →
/// `catalog`), so only that part of the tree is walked.
fn glob_base(pattern: &str) -> PathBuf {
    let mut base = PathBuf::new();
    for component in Path::new(pattern).components() {
        if has_glob_characters(&component.as_os_str().to_string_lossy()) {
            break;
        }
        base.push(component);
    }
    if base.as_os_str().is_empty() {
        PathBuf::from(".")
    } else {
        base
    }
}

fn strip_dot(path: &Path) -> &Path {
    path.strip_prefix(".").unwrap_or(path)
}

fn walk_files(root: &Path) -> Vec<PathBuf> {
    walkdir::WalkDir::new(root)
        .follow_links(false)
        .into_iter()
        .filter_map(Result::ok)
        .filter(|entry| entry.file_type().is_file())
        .map(walkdir::DirEntry::into_path)
        .collect()
}

/// Inside a folder, YAML files that are clearly something else (mkdocs.yml, OpenAPI
/// definitions, CI workflows) are skipped: a catalog document has `apiVersion:` or `kind:` at
/// the start of a line. Files named explicitly or by a glob are always checked.
fn looks_like_catalog_file(path: &Path) -> bool {
    match std::fs::read(path) {
        Ok(bytes) => String::from_utf8_lossy(&bytes)
            .lines()
            .any(|line| line.starts_with("apiVersion:") || line.starts_with("kind:")),
        // Unreadable: keep it, so validation reports why.
        Err(_) => true,
    }
}

fn yaml_files_under(root: &Path, keep: impl Fn(&Path) -> bool) -> Vec<PathBuf> {
    walk_files(root)
        .into_iter()
        .filter(|p| is_yaml(p) && keep(p))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folders_and_globs_expand_to_yaml_files_once() {
        let dir = tempfile::tempdir().expect("temp dir");
        let root = dir.path();
        std::fs::create_dir_all(root.join("a/b")).expect("mkdir");
        for file in ["a/one.yaml", "a/b/two.yml", "a/b/notes.txt", "three.yaml"] {
            std::fs::write(root.join(file), "kind: Component\n").expect("write");
        }
        // Not a catalog file: skipped inside a folder.
        std::fs::write(root.join("a/mkdocs.yml"), "site_name: docs\n").expect("write");
        let folder = root.join("a").display().to_string();
        let glob = format!("{}/**/*.yaml", root.display());
        let files = expand_paths(&[folder, glob]).expect("expands");
        let names: Vec<_> = files
            .iter()
            .map(|f| f.strip_prefix(root).expect("under root").to_owned())
            .collect();
        assert_eq!(
            names,
            [
                PathBuf::from("a/b/two.yml"),
                PathBuf::from("a/one.yaml"),
                PathBuf::from("three.yaml")
            ]
        );
    }

    #[test]
    fn an_argument_matching_nothing_is_an_error() {
        let err = expand_paths(&["/definitely/not/here.yaml".into()]).expect_err("missing");
        assert_eq!(
            err.to_string(),
            "/definitely/not/here.yaml: no such file or folder"
        );
    }

    #[test]
    fn summary_counts() {
        assert_eq!(summary(1, 0, 2), "1 file checked: 0 errors, 2 warnings");
        assert_eq!(summary(2, 1, 1), "2 files checked: 1 error, 1 warning");
    }
}
