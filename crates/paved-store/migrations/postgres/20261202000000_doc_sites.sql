-- Documentation sites (TechDocs): one row per entity with a built (or failed) site, its pages
-- as rendered HTML with their plain text and headings (for search), and the files the pages
-- link to (images). A site's pages and files are replaced together in one transaction.
CREATE TABLE doc_sites (
    entity_ref       TEXT PRIMARY KEY,
    site_name        TEXT NOT NULL,
    site_description TEXT,
    owner            TEXT,
    status           TEXT NOT NULL,
    built_at         BIGINT NOT NULL,
    fingerprint      TEXT,
    entity_etag      TEXT,
    problems         TEXT NOT NULL,
    nav              TEXT NOT NULL,
    page_count       BIGINT NOT NULL
);
CREATE TABLE doc_pages (
    entity_ref TEXT NOT NULL REFERENCES doc_sites (entity_ref) ON DELETE CASCADE,
    path       TEXT NOT NULL,
    title      TEXT NOT NULL,
    html       TEXT NOT NULL,
    toc        TEXT NOT NULL,
    headings   TEXT NOT NULL,
    body_text  TEXT NOT NULL,
    PRIMARY KEY (entity_ref, path)
);
CREATE TABLE doc_files (
    entity_ref   TEXT NOT NULL REFERENCES doc_sites (entity_ref) ON DELETE CASCADE,
    path         TEXT NOT NULL,
    content_type TEXT NOT NULL,
    bytes        BYTEA NOT NULL,
    PRIMARY KEY (entity_ref, path)
);
