//! `SearchIndex`: the tantivy index in memory, its schema, writes (upsert, delete, doc pages)
//! and queries (ranking, prefix, typos, filters, facet counts, snippets).

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Mutex;

use paved_model::EntityRef;
use serde::Serialize;
use serde_json::{Map, Value};
use tantivy::collector::{Collector, Count, FacetCollector, SegmentCollector, TopDocs};
use tantivy::query::{
    AllQuery, BooleanQuery, BoostQuery, EmptyQuery, FuzzyTermQuery, Occur, PhrasePrefixQuery,
    Query, TermQuery,
};
use tantivy::schema::{
    FAST, Facet, FacetOptions, Field, IndexRecordOption, STORED, STRING, Schema, TextFieldIndexing,
    TextOptions, Value as _,
};
use tantivy::tokenizer::TextAnalyzer;
use tantivy::{
    DocId, Index, IndexReader, IndexWriter, ReloadPolicy, Score, SegmentOrdinal, SegmentReader,
    TantivyDocument, Term,
};

use crate::SearchError;
use crate::document::{
    ALL_TYPES, DocPage, EntityFacts, IndexedDoc, Origin, entity_documents, page_documents,
};
use crate::highlight::Highlighter;

/// Terms at least this long also match within one typo.
pub const FUZZY_MIN_CHARS: usize = 4;
/// The last term matches as a prefix from this length on (search-as-you-type).
pub const PREFIX_MIN_CHARS: usize = 1;
/// At most this many results per page.
pub const MAX_PAGE_LIMIT: usize = 100;
/// Prefix and typo expansions per term and field: bounds the cost of a short prefix.
const MAX_EXPANSIONS: u32 = 64;
/// Memory the writer may buffer before it writes a segment. One indexing thread: the index
/// follows the catalog in the background of a 2-core server, and each thread would buffer
/// (and write segments) on its own.
const WRITER_MEMORY_BYTES: usize = 32 * 1024 * 1024;
const WRITER_THREADS: usize = 1;
/// Snippet length (bytes) of the `text` highlight.
const SNIPPET_CHARS: usize = 200;

/// Filters a query may name, with their indexed field.
pub const FILTER_KEYS: [&str; 5] = ["kind", "owner", "lifecycle", "namespace", "type"];

/// One search.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct SearchRequest {
    /// What the reader typed. Empty = every document (filtered).
    pub term: String,
    /// Result types to include (`software-catalog`, `templates`, `api-operations`,
    /// `techdocs`). Empty = all.
    pub types: Vec<String>,
    /// Filter key (one of [`FILTER_KEYS`]) → accepted values (any of them, case-insensitive).
    pub filters: BTreeMap<String, Vec<String>>,
    pub offset: usize,
    pub limit: usize,
}

/// One result.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct SearchHit {
    #[serde(rename = "type")]
    pub doc_type: String,
    /// Backstage's document: title, text, location, kind, namespace, name, owner, lifecycle, …
    pub document: Map<String, Value>,
    /// Field → HTML with `<mark>` around matches, everything else escaped. Only the fields
    /// that matched.
    pub highlight: BTreeMap<String, String>,
    /// 1-based position in the whole result list.
    pub rank: usize,
    pub score: f32,
}

/// A value of a facet with the number of results having it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct FacetCount {
    pub value: String,
    pub count: u64,
}

/// Counts over the whole result set (all pages) per result type, kind and owner.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct SearchFacets {
    pub types: Vec<FacetCount>,
    pub kinds: Vec<FacetCount>,
    pub owners: Vec<FacetCount>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct SearchResults {
    pub hits: Vec<SearchHit>,
    /// Number of results over all pages.
    pub total: usize,
    pub facets: SearchFacets,
}

/// One suggestion while typing.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Suggestion {
    pub title: String,
    pub kind: String,
    #[serde(rename = "type")]
    pub doc_type: String,
    pub location: String,
}

/// The catalog entities the catalog page's text filter found in the index.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum EntityTextMatches {
    /// Every entity matching, in ref order.
    Found(Vec<EntityRef>),
    /// More entities than the cap asked for.
    TooMany,
    /// Nothing the index can look up: the text has no word (only punctuation) or a word
    /// longer than the index keeps.
    NoWords,
}

#[derive(Clone, Copy)]
struct Fields {
    id: Field,
    origin: Field,
    doc_type: Field,
    kind: Field,
    owner: Field,
    lifecycle: Field,
    namespace: Field,
    name_exact: Field,
    name: Field,
    title: Field,
    tags: Field,
    headings: Field,
    text: Field,
    facet_type: Field,
    facet_kind: Field,
    facet_owner: Field,
    document: Field,
    /// Name, title and description of an entity document (no other document has it): what
    /// the catalog page's text filter looks in.
    entity_text: Field,
    /// Characters of the name (the title when there is none): among equal scores, the
    /// shorter name first.
    name_len: Field,
}

/// Field and boost of every tokenized field a term is looked up in.
fn weighted_fields(fields: &Fields) -> [(Field, f32); 5] {
    [
        (fields.name, 6.0),
        (fields.title, 4.0),
        (fields.tags, 3.0),
        (fields.headings, 2.0),
        (fields.text, 1.0),
    ]
}

/// Boost of an exact (whole, case-insensitive) name match: above any mix of the others.
const EXACT_NAME_BOOST: f32 = 40.0;
/// Boost of a whole name within one typo of what was typed.
const NEAR_NAME_BOOST: f32 = 10.0;
/// At most this much is added for a short name, to order equal scores (prefix and typo
/// matches score flat): `checkout` before `checkout-ui` for `checko`.
const SHORTER_NAME_BONUS: f32 = 0.05;

fn schema() -> (Schema, Fields) {
    let mut builder = Schema::builder();
    // Frequencies without positions: no phrase queries, so positions would only cost memory.
    let text = TextOptions::default().set_indexing_options(
        TextFieldIndexing::default()
            .set_tokenizer("default")
            .set_index_option(IndexRecordOption::WithFreqs),
    );
    // Document ids are also a fast column: the text filter turns matches into entity refs
    // without reading stored documents.
    let fields = Fields {
        id: builder.add_text_field("id", STRING | STORED | FAST),
        origin: builder.add_text_field("origin", STRING),
        doc_type: builder.add_text_field("type", STRING),
        kind: builder.add_text_field("kind", STRING),
        owner: builder.add_text_field("owner", STRING),
        lifecycle: builder.add_text_field("lifecycle", STRING),
        namespace: builder.add_text_field("namespace", STRING),
        name_exact: builder.add_text_field("name_exact", STRING),
        name: builder.add_text_field("name", text.clone()),
        title: builder.add_text_field("title", text.clone()),
        tags: builder.add_text_field("tags", text.clone()),
        headings: builder.add_text_field("headings", text.clone()),
        text: builder.add_text_field("text", text),
        facet_type: builder.add_facet_field("facet_type", FacetOptions::default()),
        facet_kind: builder.add_facet_field("facet_kind", FacetOptions::default()),
        facet_owner: builder.add_facet_field("facet_owner", FacetOptions::default()),
        document: builder.add_text_field("document", STORED),
        entity_text: builder.add_text_field(
            "entity_text",
            // Which documents match is all the text filter asks: no frequencies.
            TextOptions::default().set_indexing_options(
                TextFieldIndexing::default()
                    .set_tokenizer("default")
                    .set_index_option(IndexRecordOption::Basic),
            ),
        ),
        name_len: builder.add_u64_field("name_len", FAST),
    };
    (builder.build(), fields)
}

/// A full-text index of the catalog, templates, API operations and documentation pages,
/// held in memory by this process. Writes are buffered until [`commit`](Self::commit);
/// searches see the last commit.
pub struct SearchIndex {
    index: Index,
    fields: Fields,
    writer: Mutex<IndexWriter>,
    reader: IndexReader,
}

fn index_error(error: tantivy::TantivyError) -> SearchError {
    SearchError::Index(error.to_string())
}

impl SearchIndex {
    /// An empty index in memory.
    pub fn in_memory() -> Result<SearchIndex, SearchError> {
        let (schema, fields) = schema();
        let index = Index::create_in_ram(schema);
        let writer = index
            .writer_with_num_threads(WRITER_THREADS, WRITER_MEMORY_BYTES)
            .map_err(index_error)?;
        let reader = index
            .reader_builder()
            .reload_policy(ReloadPolicy::Manual)
            .try_into()
            .map_err(index_error)?;
        Ok(SearchIndex {
            index,
            fields,
            writer: Mutex::new(writer),
            reader,
        })
    }

    fn writer(&self) -> std::sync::MutexGuard<'_, IndexWriter> {
        // A panic while holding the lock leaves the writer usable: tantivy's state is its own.
        self.writer.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn add(&self, writer: &IndexWriter, doc: IndexedDoc) -> Result<(), SearchError> {
        let f = &self.fields;
        let mut out = TantivyDocument::new();
        out.add_text(f.id, &doc.id);
        out.add_text(f.origin, doc.origin.key());
        out.add_text(f.doc_type, doc.doc_type);
        out.add_text(f.kind, doc.kind.to_ascii_lowercase());
        for key in &doc.owner_keys {
            out.add_text(f.owner, key);
        }
        if let Some(lifecycle) = &doc.lifecycle {
            out.add_text(f.lifecycle, lifecycle.to_ascii_lowercase());
        }
        out.add_text(f.namespace, doc.namespace.to_ascii_lowercase());
        if let Some(name) = &doc.name_exact {
            out.add_text(f.name_exact, name);
        }
        out.add_text(f.name, &doc.name);
        out.add_text(f.title, &doc.title);
        for tag in &doc.tags {
            out.add_text(f.tags, tag);
        }
        for heading in &doc.headings {
            out.add_text(f.headings, heading);
        }
        out.add_text(f.text, &doc.text);
        if let Some(entity_text) = &doc.entity_text {
            out.add_text(f.entity_text, entity_text);
        }
        let shown_name = if doc.name.is_empty() {
            &doc.title
        } else {
            &doc.name
        };
        out.add_u64(f.name_len, shown_name.chars().count() as u64);
        out.add_facet(f.facet_type, Facet::from_path([doc.doc_type]));
        out.add_facet(f.facet_kind, Facet::from_path([doc.kind.as_str()]));
        if let Some(owner) = &doc.owner {
            out.add_facet(f.facet_owner, Facet::from_path([owner.as_str()]));
        }
        let document = serde_json::to_string(&doc.document)
            .map_err(|e| SearchError::Index(format!("document of {}: {e}", doc.id)))?;
        out.add_text(f.document, document);
        writer.add_document(out).map_err(index_error)?;
        Ok(())
    }

    /// Replaces an entity's documents (the entity and its API operations) with those of its
    /// current JSON. Returns how many documents it now has (0 for JSON without kind or name).
    pub fn upsert_entity(&self, entity: &Value) -> Result<usize, SearchError> {
        self.write_entity(entity, true)
    }

    /// Adds an entity's documents without removing earlier ones: for a build after
    /// [`Self::delete_all_entities`]. Each delete is held (≈ 740 bytes) until the commit, and a
    /// build of 100k entities through `upsert_entity` held 74 MB of them.
    pub fn add_entity(&self, entity: &Value) -> Result<usize, SearchError> {
        self.write_entity(entity, false)
    }

    fn write_entity(&self, entity: &Value, replace: bool) -> Result<usize, SearchError> {
        let Some(docs) = entity_documents(entity) else {
            return Ok(0);
        };
        let writer = self.writer();
        if replace && let Some(first) = docs.first() {
            writer.delete_term(Term::from_field_text(
                self.fields.origin,
                &first.origin.key(),
            ));
        }
        let count = docs.len();
        for doc in docs {
            self.add(&writer, doc)?;
        }
        Ok(count)
    }

    /// Removes an entity's documents, its documentation pages included.
    pub fn delete_entity(&self, entity: &EntityRef) {
        let writer = self.writer();
        for origin in [Origin::Entity(entity.clone()), Origin::Docs(entity.clone())] {
            writer.delete_term(Term::from_field_text(self.fields.origin, &origin.key()));
        }
    }

    /// Removes every entity document (documentation pages stay): before a full rebuild.
    pub fn delete_all_entities(&self) -> Result<(), SearchError> {
        // Entity documents are every document that is not a documentation page.
        let query = BooleanQuery::new(vec![
            (Occur::Must, Box::new(AllQuery) as Box<dyn Query>),
            (
                Occur::MustNot,
                Box::new(TermQuery::new(
                    Term::from_field_text(self.fields.doc_type, crate::document::TYPE_TECHDOCS),
                    IndexRecordOption::Basic,
                )),
            ),
        ]);
        self.writer()
            .delete_query(Box::new(query))
            .map_err(index_error)?;
        Ok(())
    }

    /// Replaces the documentation pages of one entity (all of them: pages not in `pages`
    /// disappear) and commits. Pages take the entity's kind, owner and lifecycle from its
    /// indexed document when there is one.
    pub fn replace_doc_pages(
        &self,
        entity: &EntityRef,
        pages: Vec<DocPage>,
    ) -> Result<usize, SearchError> {
        let facts = self.indexed_entity_facts(entity)?;
        let docs = page_documents(entity, facts.as_ref(), pages);
        let count = docs.len();
        {
            let writer = self.writer();
            writer.delete_term(Term::from_field_text(
                self.fields.origin,
                &Origin::Docs(entity.clone()).key(),
            ));
            for doc in docs {
                self.add(&writer, doc)?;
            }
        }
        self.commit()?;
        Ok(count)
    }

    /// The facts of an indexed entity, read back from its stored document.
    fn indexed_entity_facts(&self, entity: &EntityRef) -> Result<Option<EntityFacts>, SearchError> {
        let searcher = self.reader.searcher();
        let query = TermQuery::new(
            Term::from_field_text(self.fields.id, &format!("entity:{entity}")),
            IndexRecordOption::Basic,
        );
        let top = searcher
            .search(&query, &TopDocs::with_limit(1).order_by_score())
            .map_err(index_error)?;
        let Some((_, address)) = top.first() else {
            return Ok(None);
        };
        let doc: TantivyDocument = searcher.doc(*address).map_err(index_error)?;
        let Some(document) = self.stored_document(&doc) else {
            return Ok(None);
        };
        let text = |key: &str| {
            document
                .get(key)
                .and_then(Value::as_str)
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
        };
        let owner = text("owner");
        let namespace = text("namespace").unwrap_or_else(|| entity.namespace().to_owned());
        let mut owner_keys = Vec::new();
        if let Some(owner) = &owner {
            owner_keys.push(owner.to_ascii_lowercase());
            let defaults = paved_model::RefDefaults {
                kind: Some("group"),
                namespace: &namespace,
            };
            if let Ok(full) = EntityRef::parse(owner, defaults)
                && !owner_keys.contains(&full.to_string())
            {
                owner_keys.push(full.to_string());
            }
        }
        Ok(Some(EntityFacts {
            entity_ref: entity.clone(),
            kind: text("kind").unwrap_or_else(|| entity.kind().to_owned()),
            name: text("name").unwrap_or_else(|| entity.name().to_owned()),
            title: text("title").unwrap_or_else(|| entity.name().to_owned()),
            lifecycle: text("lifecycle"),
            namespace,
            owner,
            owner_keys,
        }))
    }

    fn stored_document(&self, doc: &TantivyDocument) -> Option<Map<String, Value>> {
        let text = doc.get_first(self.fields.document)?.as_str()?;
        serde_json::from_str(text).ok()
    }

    /// Makes every write so far visible to searches.
    pub fn commit(&self) -> Result<(), SearchError> {
        self.writer().commit().map_err(index_error)?;
        self.reader.reload().map_err(index_error)?;
        Ok(())
    }

    /// Number of documents searches see.
    pub fn num_docs(&self) -> u64 {
        self.reader.searcher().num_docs()
    }

    /// Bytes the segments searches see take, per part (`store` for the stored documents,
    /// `<part>.<field>` for the term dictionary, postings, positions, fast fields and norms of
    /// each field) and in all (`total`): what the index holds in memory.
    pub fn space_usage(&self) -> Result<BTreeMap<String, u64>, SearchError> {
        let usage = self
            .reader
            .searcher()
            .space_usage()
            .map_err(|e| SearchError::Index(e.to_string()))?;
        let mut out = BTreeMap::new();
        for segment in usage.segments() {
            *out.entry("total".to_string()).or_default() += segment.total().get_bytes();
            *out.entry("store".to_string()).or_default() += segment.store().total().get_bytes();
            for (part, fields) in [
                ("terms", segment.termdict()),
                ("postings", segment.postings()),
                ("positions", segment.positions()),
                ("fast", segment.fast_fields()),
                ("norms", segment.fieldnorms()),
            ] {
                for field in fields.fields() {
                    *out.entry(format!("{part}.{}", field.field_name()))
                        .or_default() += field.total().get_bytes();
                }
            }
        }
        Ok(out)
    }

    fn analyzer(&self) -> Result<TextAnalyzer, SearchError> {
        self.index
            .tokenizer_for_field(self.fields.text)
            .map_err(index_error)
    }

    fn terms_of(&self, text: &str) -> Result<Vec<String>, SearchError> {
        let mut analyzer = self.analyzer()?;
        let mut stream = analyzer.token_stream(text);
        let mut terms = Vec::new();
        while let Some(token) = stream.next() {
            if !terms.contains(&token.text) {
                terms.push(token.text.clone());
            }
        }
        Ok(terms)
    }

    /// The scored part of a query: the exact name, or every term in some field (the last
    /// also as a prefix; long ones also within one typo).
    fn text_query(&self, term: &str, terms: &[String]) -> Box<dyn Query> {
        let f = &self.fields;
        if terms.is_empty() {
            // Nothing typed lists everything; only punctuation typed matches nothing.
            return if term.trim().is_empty() {
                Box::new(AllQuery)
            } else {
                Box::new(EmptyQuery)
            };
        }
        let mut all_terms: Vec<(Occur, Box<dyn Query>)> = Vec::new();
        for (position, word) in terms.iter().enumerate() {
            let last = position + 1 == terms.len();
            let mut alternatives: Vec<(Occur, Box<dyn Query>)> = Vec::new();
            for (field, boost) in weighted_fields(f) {
                let exact = TermQuery::new(
                    Term::from_field_text(field, word),
                    IndexRecordOption::WithFreqs,
                );
                alternatives.push((
                    Occur::Should,
                    Box::new(BoostQuery::new(Box::new(exact), boost)),
                ));
                if word.chars().count() >= FUZZY_MIN_CHARS && field != f.text {
                    let fuzzy = FuzzyTermQuery::new(Term::from_field_text(field, word), 1, true);
                    alternatives.push((
                        Occur::Should,
                        Box::new(BoostQuery::new(Box::new(fuzzy), boost * 0.3)),
                    ));
                }
                if last && word.chars().count() >= PREFIX_MIN_CHARS && field != f.text {
                    let mut prefix =
                        PhrasePrefixQuery::new(vec![Term::from_field_text(field, word)]);
                    prefix.set_max_expansions(MAX_EXPANSIONS);
                    alternatives.push((
                        Occur::Should,
                        Box::new(BoostQuery::new(Box::new(prefix), boost * 0.5)),
                    ));
                }
            }
            all_terms.push((Occur::Must, Box::new(BooleanQuery::new(alternatives))));
        }
        let whole = term.trim().to_lowercase();
        let exact_name = TermQuery::new(
            Term::from_field_text(f.name_exact, &whole),
            IndexRecordOption::Basic,
        );
        let mut clauses: Vec<(Occur, Box<dyn Query>)> = vec![
            (
                Occur::Should,
                Box::new(BoostQuery::new(Box::new(exact_name), EXACT_NAME_BOOST)),
            ),
            (Occur::Should, Box::new(BooleanQuery::new(all_terms))),
        ];
        if whole.chars().count() >= FUZZY_MIN_CHARS {
            let near_name =
                FuzzyTermQuery::new(Term::from_field_text(f.name_exact, &whole), 1, true);
            clauses.push((
                Occur::Should,
                Box::new(BoostQuery::new(Box::new(near_name), NEAR_NAME_BOOST)),
            ));
        }
        Box::new(BooleanQuery::new(clauses))
    }

    fn filter_field(&self, key: &str) -> Option<Field> {
        let f = &self.fields;
        Some(match key {
            "kind" => f.kind,
            "owner" => f.owner,
            "lifecycle" => f.lifecycle,
            "namespace" => f.namespace,
            "type" => f.doc_type,
            _ => return None,
        })
    }

    fn any_of(field: Field, values: &[String]) -> Box<dyn Query> {
        Box::new(BooleanQuery::new(
            values
                .iter()
                .map(|value| {
                    let query: Box<dyn Query> = Box::new(TermQuery::new(
                        Term::from_field_text(field, &value.trim().to_lowercase()),
                        IndexRecordOption::Basic,
                    ));
                    (Occur::Should, query)
                })
                .collect(),
        ))
    }

    fn build_query(
        &self,
        request: &SearchRequest,
        terms: &[String],
    ) -> Result<Box<dyn Query>, SearchError> {
        let mut clauses: Vec<(Occur, Box<dyn Query>)> =
            vec![(Occur::Must, self.text_query(&request.term, terms))];
        let types: Vec<String> = request
            .types
            .iter()
            .map(|t| t.trim().to_ascii_lowercase())
            .filter(|t| !t.is_empty())
            .collect();
        if let Some(unknown) = types
            .iter()
            .find(|t| !ALL_TYPES.contains(&String::as_str(t)))
        {
            return Err(SearchError::Invalid(format!(
                "unknown search type '{unknown}'; known types are {}",
                ALL_TYPES.join(", ")
            )));
        }
        if !types.is_empty() {
            clauses.push((Occur::Must, Self::any_of(self.fields.doc_type, &types)));
        }
        for (key, values) in &request.filters {
            let Some(field) = self.filter_field(key) else {
                return Err(SearchError::Invalid(format!(
                    "unknown search filter '{key}'; known filters are {}",
                    FILTER_KEYS.join(", ")
                )));
            };
            let values: Vec<String> = values
                .iter()
                .filter(|v| !v.trim().is_empty())
                .cloned()
                .collect();
            if !values.is_empty() {
                clauses.push((Occur::Must, Self::any_of(field, &values)));
            }
        }
        Ok(Box::new(BooleanQuery::new(clauses)))
    }

    /// Searches: ranked results of one page, the total, and facet counts over all results.
    pub fn search(&self, request: &SearchRequest) -> Result<SearchResults, SearchError> {
        let limit = request.limit.clamp(1, MAX_PAGE_LIMIT);
        let terms = self.terms_of(&request.term)?;
        let query = self.build_query(request, &terms)?;
        let searcher = self.reader.searcher();
        let mut facet_type = FacetCollector::for_field("facet_type");
        facet_type.add_facet("/");
        let mut facet_kind = FacetCollector::for_field("facet_kind");
        facet_kind.add_facet("/");
        let mut facet_owner = FacetCollector::for_field("facet_owner");
        facet_owner.add_facet("/");
        let top = TopDocs::with_limit(limit)
            .and_offset(request.offset)
            .tweak_score(|segment: &SegmentReader| {
                let lengths = segment
                    .fast_fields()
                    .u64("name_len")
                    .ok()
                    .map(|column| column.first_or_default_col(0));
                move |doc: DocId, score: Score| {
                    let length = lengths.as_ref().map_or(64, |c| c.get_val(doc));
                    score + SHORTER_NAME_BONUS / (1.0 + length as Score)
                }
            });
        let (top, total, (types, kinds, owners)) = searcher
            .search(&query, &(top, Count, (facet_type, facet_kind, facet_owner)))
            .map_err(index_error)?;
        let facet_list = |counts: &tantivy::collector::FacetCounts| {
            let mut list: Vec<FacetCount> = counts
                .get("/")
                .map(|(facet, count)| FacetCount {
                    value: facet
                        .to_path()
                        .last()
                        .map(|s| s.to_string())
                        .unwrap_or_default(),
                    count,
                })
                .collect();
            list.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.value.cmp(&b.value)));
            list
        };
        let highlighter = Highlighter {
            prefix: terms
                .last()
                .filter(|t| t.chars().count() >= PREFIX_MIN_CHARS)
                .cloned(),
            terms,
            fuzzy_min_chars: FUZZY_MIN_CHARS,
        };
        let mut analyzer = self.analyzer()?;
        let mut hits = Vec::with_capacity(top.len());
        for (position, (score, address)) in top.into_iter().enumerate() {
            let doc: TantivyDocument = searcher.doc(address).map_err(index_error)?;
            let Some(document) = self.stored_document(&doc) else {
                continue;
            };
            let mut highlight = BTreeMap::new();
            for (key, max) in [("title", usize::MAX), ("text", SNIPPET_CHARS)] {
                if let Some(text) = document.get(key).and_then(Value::as_str)
                    && let Some(html) = highlighter.highlight(&mut analyzer, text, max)
                {
                    highlight.insert(key.to_owned(), html);
                }
            }
            let doc_type = doc_type_of(&doc, &self.fields, &document);
            hits.push(SearchHit {
                doc_type,
                document,
                highlight,
                rank: request.offset + position + 1,
                score,
            });
        }
        Ok(SearchResults {
            hits,
            total,
            facets: SearchFacets {
                types: facet_list(&types),
                kinds: facet_list(&kinds),
                owners: facet_list(&owners),
            },
        })
    }

    /// Up to `limit` results for what is being typed, catalog entities and templates first.
    pub fn suggest(&self, term: &str, limit: usize) -> Result<Vec<Suggestion>, SearchError> {
        if term.trim().is_empty() {
            return Ok(Vec::new());
        }
        let results = self.search(&SearchRequest {
            term: term.to_owned(),
            limit,
            ..SearchRequest::default()
        })?;
        Ok(results
            .hits
            .into_iter()
            .map(|hit| {
                let text = |key: &str| {
                    hit.document
                        .get(key)
                        .and_then(Value::as_str)
                        .unwrap_or_default()
                        .to_owned()
                };
                Suggestion {
                    title: text("title"),
                    kind: text("kind"),
                    location: text("location"),
                    doc_type: hit.doc_type,
                }
            })
            .collect())
    }

    /// The catalog entities whose name, title or description has, for every word of `text`,
    /// a word starting with it: case-insensitive, words split on anything but letters and
    /// digits, so `pay` and `pay api` both find `payments-api`. More than `cap` entities is
    /// [`EntityTextMatches::TooMany`]. Only which entities match: no scores, snippets or
    /// facets.
    pub fn entities_matching_words(
        &self,
        text: &str,
        cap: usize,
    ) -> Result<EntityTextMatches, SearchError> {
        let words = self.terms_of(text)?;
        // The analyzer drops words too long to index: such a word cannot be looked up.
        let typed: BTreeSet<String> = text
            .split(|c: char| !c.is_alphanumeric())
            .filter(|word| !word.is_empty())
            .map(str::to_lowercase)
            .collect();
        if words.is_empty() || words.len() != typed.len() {
            return Ok(EntityTextMatches::NoWords);
        }
        let clauses: Vec<(Occur, Box<dyn Query>)> = words
            .iter()
            .map(|word| {
                let mut prefix = PhrasePrefixQuery::new(vec![Term::from_field_text(
                    self.fields.entity_text,
                    word,
                )]);
                // Every expansion: a filter must not lose matches, where ranking may.
                prefix.set_max_expansions(u32::MAX);
                (Occur::Must, Box::new(prefix) as Box<dyn Query>)
            })
            .collect();
        let searcher = self.reader.searcher();
        let matches = searcher
            .search(
                &BooleanQuery::new(clauses),
                &MatchingDocs {
                    limit: cap.saturating_add(1),
                },
            )
            .map_err(index_error)?;
        if matches.iter().map(|(_, docs)| docs.len()).sum::<usize>() > cap {
            return Ok(EntityTextMatches::TooMany);
        }
        let mut refs = BTreeSet::new();
        for (segment, docs) in matches {
            let Some(ids) = searcher
                .segment_reader(segment)
                .fast_fields()
                .str("id")
                .map_err(index_error)?
            else {
                continue;
            };
            let mut ords: Vec<u64> = docs
                .iter()
                .filter_map(|doc| ids.term_ords(*doc).next())
                .collect();
            ords.sort_unstable();
            ords.dedup();
            ids.dictionary()
                .sorted_ords_to_term_cb(&ords, |id| {
                    if let Some(entity_ref) = std::str::from_utf8(id)
                        .ok()
                        .and_then(|id| id.strip_prefix("entity:"))
                        .and_then(|r| EntityRef::parse_full(r).ok())
                    {
                        refs.insert(entity_ref);
                    }
                })
                .map_err(|e| SearchError::Index(format!("document ids: {e}")))?;
        }
        Ok(EntityTextMatches::Found(refs.into_iter().collect()))
    }
}

/// Collects the matching documents of each segment, unscored, at most `limit` per segment
/// (more than that in one segment already means too many).
struct MatchingDocs {
    limit: usize,
}

struct SegmentMatchingDocs {
    segment: SegmentOrdinal,
    limit: usize,
    docs: Vec<DocId>,
}

impl Collector for MatchingDocs {
    type Fruit = Vec<(SegmentOrdinal, Vec<DocId>)>;
    type Child = SegmentMatchingDocs;

    fn for_segment(
        &self,
        segment: SegmentOrdinal,
        _reader: &SegmentReader,
    ) -> tantivy::Result<SegmentMatchingDocs> {
        Ok(SegmentMatchingDocs {
            segment,
            limit: self.limit,
            docs: Vec::new(),
        })
    }

    fn requires_scoring(&self) -> bool {
        false
    }

    fn merge_fruits(
        &self,
        segments: Vec<(SegmentOrdinal, Vec<DocId>)>,
    ) -> tantivy::Result<Self::Fruit> {
        Ok(segments)
    }
}

impl SegmentCollector for SegmentMatchingDocs {
    type Fruit = (SegmentOrdinal, Vec<DocId>);

    fn collect(&mut self, doc: DocId, _score: Score) {
        if self.docs.len() < self.limit {
            self.docs.push(doc);
        }
    }

    fn harvest(self) -> Self::Fruit {
        (self.segment, self.docs)
    }
}

/// The result type of a stored document, from its id prefix.
fn doc_type_of(doc: &TantivyDocument, fields: &Fields, document: &Map<String, Value>) -> String {
    let id = doc
        .get_first(fields.id)
        .and_then(|v| v.as_str())
        .unwrap_or_default();
    match id.split(':').next() {
        Some("op") => crate::document::TYPE_API_OPERATIONS.to_owned(),
        Some("page") => crate::document::TYPE_TECHDOCS.to_owned(),
        _ if document
            .get("kind")
            .and_then(Value::as_str)
            .is_some_and(|k| k.eq_ignore_ascii_case("template")) =>
        {
            crate::document::TYPE_TEMPLATES.to_owned()
        }
        _ => crate::document::TYPE_SOFTWARE_CATALOG.to_owned(),
    }
}
