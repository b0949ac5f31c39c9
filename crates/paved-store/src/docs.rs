//! Documentation sites (TechDocs): per entity, the site's name, status, build problems and
//! navigation, its rendered pages (with plain text and headings, for search) and the files
//! its pages link to. Saving a site with new content replaces its pages and files in one
//! transaction, so a reader sees the old site or the new one, never half of it.

use crate::sql::{Sql, get};
use crate::store::SqlStore;
use crate::{StoreError, StoreResult};
use async_trait::async_trait;
use serde_json::Value;

/// A site's last build: `built` (pages stored) or `failed` (problems say why; pages of an
/// earlier good build, if any, are kept).
#[derive(Clone, Debug, PartialEq)]
pub struct DocSite {
    /// `kind:namespace/name`, lower case.
    pub entity_ref: String,
    pub site_name: String,
    pub site_description: Option<String>,
    /// The entity's `spec.owner`.
    pub owner: Option<String>,
    /// `built` or `failed`.
    pub status: String,
    /// Unix milliseconds.
    pub built_at: i64,
    /// Hash of the inputs of the stored pages: a build with the same one stores nothing.
    pub fingerprint: Option<String>,
    /// The entity's etag when it was built.
    pub entity_etag: Option<String>,
    /// `[{file, line, link, message}]`.
    pub problems: Value,
    /// The navigation tree (`[{title, page, url, children}]`).
    pub nav: Value,
    /// Number of stored pages (filled in by the store).
    pub page_count: i64,
}

#[derive(Clone, Debug, PartialEq)]
pub struct DocPage {
    /// Relative to the site's docs folder: `index.md`, `guide/setup.md`.
    pub path: String,
    pub title: String,
    pub html: String,
    /// `[{level, id, text}]`.
    pub toc: Value,
    pub headings: Vec<String>,
    /// The page's plain text.
    pub text: String,
}

#[derive(Clone, Debug, PartialEq)]
pub struct DocFile {
    pub path: String,
    pub content_type: String,
    pub bytes: Vec<u8>,
}

/// What saving a site does to its content.
#[derive(Clone, Debug, PartialEq)]
pub enum DocContent {
    /// Replace every page and file with these.
    Replace {
        pages: Vec<DocPage>,
        files: Vec<DocFile>,
    },
    /// Keep the stored pages and files (a failed build, or nothing changed).
    Keep,
}

#[async_trait]
pub trait DocsStore: Send + Sync + 'static {
    /// Inserts or updates a site (and its content) in one transaction.
    async fn save_doc_site(&self, site: DocSite, content: DocContent) -> StoreResult<()>;
    async fn doc_site(&self, entity_ref: &str) -> StoreResult<Option<DocSite>>;
    /// Every site, by entity ref.
    async fn doc_sites(&self) -> StoreResult<Vec<DocSite>>;
    async fn doc_page(&self, entity_ref: &str, path: &str) -> StoreResult<Option<DocPage>>;
    /// Every page of a site, by path (for indexing).
    async fn doc_pages(&self, entity_ref: &str) -> StoreResult<Vec<DocPage>>;
    /// Path and title of every page of a site, by path.
    async fn doc_page_titles(&self, entity_ref: &str) -> StoreResult<Vec<(String, String)>>;
    async fn doc_file(&self, entity_ref: &str, path: &str) -> StoreResult<Option<DocFile>>;
    /// Removes a site with its pages and files; `Ok(false)` when there was none.
    async fn delete_doc_site(&self, entity_ref: &str) -> StoreResult<bool>;
}

const SITE_COLUMNS: &str = "entity_ref, site_name, site_description, owner, status, built_at, \
     fingerprint, entity_etag, problems, nav, page_count";
const PAGE_COLUMNS: &str = "path, title, html, toc, headings, body_text";

fn json(text: &str, what: &str) -> StoreResult<Value> {
    serde_json::from_str(text).map_err(|e| StoreError::Database(format!("{what} is not JSON: {e}")))
}

fn site_from_row(row: &crate::sql::Row) -> StoreResult<DocSite> {
    let problems: String = get(row, 8)?;
    let nav: String = get(row, 9)?;
    Ok(DocSite {
        entity_ref: get(row, 0)?,
        site_name: get(row, 1)?,
        site_description: get(row, 2)?,
        owner: get(row, 3)?,
        status: get(row, 4)?,
        built_at: get(row, 5)?,
        fingerprint: get(row, 6)?,
        entity_etag: get(row, 7)?,
        problems: json(&problems, "doc site problems")?,
        nav: json(&nav, "doc site nav")?,
        page_count: get(row, 10)?,
    })
}

fn page_from_row(row: &crate::sql::Row) -> StoreResult<DocPage> {
    let toc: String = get(row, 3)?;
    let headings: String = get(row, 4)?;
    Ok(DocPage {
        path: get(row, 0)?,
        title: get(row, 1)?,
        html: get(row, 2)?,
        toc: json(&toc, "doc page toc")?,
        headings: serde_json::from_str(&headings)
            .map_err(|e| StoreError::Database(format!("doc page headings are not JSON: {e}")))?,
        text: get(row, 5)?,
    })
}

#[async_trait]
impl DocsStore for SqlStore {
    async fn save_doc_site(&self, site: DocSite, content: DocContent) -> StoreResult<()> {
        let mut tx = self.begin_write().await?;
        let page_count = match &content {
            DocContent::Replace { pages, .. } => i64::try_from(pages.len()).unwrap_or(i64::MAX),
            DocContent::Keep => {
                let mut count = Sql::new("SELECT COUNT(*) FROM doc_pages WHERE entity_ref = ");
                count.bind(site.entity_ref.clone());
                match count.fetch_optional(&mut tx).await? {
                    Some(row) => get(&row, 0)?,
                    None => 0,
                }
            }
        };
        let mut upsert = Sql::new(&format!("INSERT INTO doc_sites ({SITE_COLUMNS}) VALUES ("));
        upsert
            .bind(site.entity_ref.clone())
            .push(", ")
            .bind(site.site_name.clone())
            .push(", ")
            .bind(site.site_description.clone())
            .push(", ")
            .bind(site.owner.clone())
            .push(", ")
            .bind(site.status.clone())
            .push(", ")
            .bind(site.built_at)
            .push(", ")
            .bind(site.fingerprint.clone())
            .push(", ")
            .bind(site.entity_etag.clone())
            .push(", ")
            .bind(site.problems.to_string())
            .push(", ")
            .bind(site.nav.to_string())
            .push(", ")
            .bind(page_count)
            .push(
                ") ON CONFLICT (entity_ref) DO UPDATE SET site_name = excluded.site_name, \
                 site_description = excluded.site_description, owner = excluded.owner, \
                 status = excluded.status, built_at = excluded.built_at, \
                 fingerprint = excluded.fingerprint, entity_etag = excluded.entity_etag, \
                 problems = excluded.problems, nav = excluded.nav, \
                 page_count = excluded.page_count",
            );
        upsert.execute(&mut tx).await?;
        if let DocContent::Replace { pages, files } = content {
            for table in ["doc_pages", "doc_files"] {
                let mut delete = Sql::new(&format!("DELETE FROM {table} WHERE entity_ref = "));
                delete.bind(site.entity_ref.clone());
                delete.execute(&mut tx).await?;
            }
            for page in pages {
                let headings = serde_json::to_string(&page.headings)
                    .map_err(|e| StoreError::Invalid(format!("encoding headings: {e}")))?;
                let mut insert = Sql::new(&format!(
                    "INSERT INTO doc_pages (entity_ref, {PAGE_COLUMNS}) VALUES ("
                ));
                insert
                    .bind(site.entity_ref.clone())
                    .push(", ")
                    .bind(page.path)
                    .push(", ")
                    .bind(page.title)
                    .push(", ")
                    .bind(page.html)
                    .push(", ")
                    .bind(page.toc.to_string())
                    .push(", ")
                    .bind(headings)
                    .push(", ")
                    .bind(page.text)
                    .push(")");
                insert.execute(&mut tx).await?;
            }
            for file in files {
                let mut insert = Sql::new(
                    "INSERT INTO doc_files (entity_ref, path, content_type, bytes) VALUES (",
                );
                insert
                    .bind(site.entity_ref.clone())
                    .push(", ")
                    .bind(file.path)
                    .push(", ")
                    .bind(file.content_type)
                    .push(", ")
                    .bind(file.bytes)
                    .push(")");
                insert.execute(&mut tx).await?;
            }
        }
        tx.commit().await?;
        Ok(())
    }

    async fn doc_site(&self, entity_ref: &str) -> StoreResult<Option<DocSite>> {
        let mut conn = self.read().await?;
        let mut sql = Sql::new(&format!(
            "SELECT {SITE_COLUMNS} FROM doc_sites WHERE entity_ref = "
        ));
        sql.bind(entity_ref.to_string());
        sql.fetch_optional(&mut conn)
            .await?
            .as_ref()
            .map(site_from_row)
            .transpose()
    }

    async fn doc_sites(&self) -> StoreResult<Vec<DocSite>> {
        let mut conn = self.read().await?;
        Sql::new(&format!(
            "SELECT {SITE_COLUMNS} FROM doc_sites ORDER BY entity_ref"
        ))
        .fetch_all(&mut conn)
        .await?
        .iter()
        .map(site_from_row)
        .collect()
    }

    async fn doc_page(&self, entity_ref: &str, path: &str) -> StoreResult<Option<DocPage>> {
        let mut conn = self.read().await?;
        let mut sql = Sql::new(&format!(
            "SELECT {PAGE_COLUMNS} FROM doc_pages WHERE entity_ref = "
        ));
        sql.bind(entity_ref.to_string())
            .push(" AND path = ")
            .bind(path.to_string());
        sql.fetch_optional(&mut conn)
            .await?
            .as_ref()
            .map(page_from_row)
            .transpose()
    }

    async fn doc_pages(&self, entity_ref: &str) -> StoreResult<Vec<DocPage>> {
        let mut conn = self.read().await?;
        let mut sql = Sql::new(&format!(
            "SELECT {PAGE_COLUMNS} FROM doc_pages WHERE entity_ref = "
        ));
        sql.bind(entity_ref.to_string()).push(" ORDER BY path");
        sql.fetch_all(&mut conn)
            .await?
            .iter()
            .map(page_from_row)
            .collect()
    }

    async fn doc_page_titles(&self, entity_ref: &str) -> StoreResult<Vec<(String, String)>> {
        let mut conn = self.read().await?;
        let mut sql = Sql::new("SELECT path, title FROM doc_pages WHERE entity_ref = ");
        sql.bind(entity_ref.to_string()).push(" ORDER BY path");
        sql.fetch_all(&mut conn)
            .await?
            .iter()
            .map(|row| Ok((get(row, 0)?, get(row, 1)?)))
            .collect()
    }

    async fn doc_file(&self, entity_ref: &str, path: &str) -> StoreResult<Option<DocFile>> {
        let mut conn = self.read().await?;
        let mut sql =
            Sql::new("SELECT path, content_type, bytes FROM doc_files WHERE entity_ref = ");
        sql.bind(entity_ref.to_string())
            .push(" AND path = ")
            .bind(path.to_string());
        sql.fetch_optional(&mut conn)
            .await?
            .as_ref()
            .map(|row| {
                Ok(DocFile {
                    path: get(row, 0)?,
                    content_type: get(row, 1)?,
                    bytes: get(row, 2)?,
                })
            })
            .transpose()
    }

    async fn delete_doc_site(&self, entity_ref: &str) -> StoreResult<bool> {
        let mut tx = self.begin_write().await?;
        // Explicit deletes: SQLite enforces the cascade only with foreign keys on.
        for table in ["doc_pages", "doc_files"] {
            let mut delete = Sql::new(&format!("DELETE FROM {table} WHERE entity_ref = "));
            delete.bind(entity_ref.to_string());
            delete.execute(&mut tx).await?;
        }
        let mut delete = Sql::new("DELETE FROM doc_sites WHERE entity_ref = ");
        delete.bind(entity_ref.to_string());
        let deleted = delete.execute(&mut tx).await?;
        tx.commit().await?;
        Ok(deleted > 0)
    }
}
