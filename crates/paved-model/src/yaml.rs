//! YAML → JSON with source positions: reads catalog files (one or many documents) the way
//! Backstage's reader (npm `yaml`, YAML 1.2 core schema) does, within limits that keep hostile
//! input (alias bombs, deep nesting, binary files, huge files) cheap to refuse.
//!
//! The value tree is built from the events of `granit-parser` (the parser under `serde-saphyr`)
//! rather than through serde, because every node's position is needed for `file:line:col`
//! diagnostics and serde's data model has no room for them.
//!
//! Semantics, where YAML leaves a choice:
//! - Plain scalars resolve by the YAML 1.2 core schema: `~`, `null` (and `Null`, `NULL`) and the
//!   empty scalar are null; `true`/`false` (and capitalised forms) are booleans; `yes`, `no`,
//!   `on`, `off` stay strings; decimal, `0x` and `0o` integers and decimal floats are numbers.
//!   Quoted and block scalars are always strings, as is anything tagged `!!str`. Other tags are
//!   ignored.
//! - Floats with an integral value that fit a JSON-safe integer (|n| < 2^53) become integers,
//!   as JavaScript numbers serialise (`1.0` → `1`). Integers beyond 64 bits become floats.
//! - `.inf`, `-.inf` and `.nan` stay strings (as written): JSON has no non-finite numbers.
//! - Mapping keys are the scalar's text as written (`1: x` has key `"1"`); a sequence or
//!   mapping used as a key is an error. `<<` is an ordinary key (no merge), as in YAML 1.2.
//! - A duplicate key is an error naming the key and both lines; the document holding it is
//!   dropped (Backstage reports such a document instead of storing it), later documents are
//!   still read.
//! - Aliases are expanded; every expanded node counts toward [`YamlLimits::max_nodes`].
//!   Positions inside an expanded alias are those of the alias itself.
//! - Documents whose root is null (empty documents, a trailing `---`) are skipped.
//! - A syntax error, or a file that exceeds a limit, ends the reading: documents before it are
//!   kept, nothing after it is returned.

use crate::diagnostic::Diagnostic;
use granit_parser::{ErrorKind, Event, Marker, Parser, ScalarStyle, ScanError, Span};
use serde_json::{Map, Number, Value};
use std::collections::HashMap;

/// Budgets for one YAML file. The defaults are far above any real catalog file and far below
/// what would hurt a server.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct YamlLimits {
    /// Largest accepted input, in bytes.
    pub max_bytes: usize,
    /// Deepest accepted nesting of sequences and mappings (the root collection is level 1).
    pub max_depth: usize,
    /// Most nodes in the whole file, counting every node an alias expands to.
    pub max_nodes: usize,
    /// Most documents in one file (empty ones included).
    pub max_documents: usize,
}

impl Default for YamlLimits {
    fn default() -> Self {
        YamlLimits {
            max_bytes: 2 * 1024 * 1024,
            max_depth: 64,
            max_nodes: 200_000,
            max_documents: 10_000,
        }
    }
}

/// One document of a YAML file, as JSON, with where its nodes came from.
#[derive(Clone, Debug, PartialEq)]
pub struct YamlDocument {
    pub value: Value,
    /// 1-based line of the start of the document's root node.
    pub line: u32,
    /// 1-based column of the start of the document's root node.
    pub column: u32,
    pub spans: SourceMap,
}

impl YamlDocument {
    /// Shorthand for [`SourceMap::position`].
    pub fn position(&self, field_path: &str) -> Option<(u32, u32)> {
        self.spans.position(field_path)
    }
}

/// A 1-based (line, column).
type Position = (u32, u32);

/// Where each node of one document starts, shaped like the document itself.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct SourceMap {
    root: Option<SpanNode>,
}

#[derive(Clone, Debug, PartialEq)]
enum SpanNode {
    /// A scalar, or an alias (whose expansion has no positions of its own).
    Leaf(Position),
    Sequence {
        at: Position,
        items: Vec<SpanNode>,
    },
    Mapping {
        at: Position,
        entries: Vec<SpanEntry>,
    },
}

#[derive(Clone, Debug, PartialEq)]
struct SpanEntry {
    key: String,
    key_at: Position,
    value: SpanNode,
}

impl SpanNode {
    fn at(&self) -> Position {
        match self {
            SpanNode::Leaf(at) | SpanNode::Sequence { at, .. } | SpanNode::Mapping { at, .. } => {
                *at
            }
        }
    }
}

impl SourceMap {
    /// 1-based (line, column) of the node at a dotted field path such as `metadata.name`,
    /// `spec.dependsOn[1]` or `metadata.annotations.backstage.io/techdocs-ref`. Keys may
    /// contain dots and slashes, so at each step the longest key that matches the rest of the
    /// path wins. For a mapping entry the position is that of its key. A path that leads
    /// nowhere falls back to the deepest ancestor found; the empty path is the root node.
    pub fn position(&self, field_path: &str) -> Option<(u32, u32)> {
        let mut node = self.root.as_ref()?;
        let mut best = node.at();
        let mut rest = field_path;
        loop {
            if rest.is_empty() {
                return Some(best);
            }
            match node {
                SpanNode::Leaf(_) => return Some(best),
                SpanNode::Sequence { items, .. } => {
                    let Some(index_and_more) = rest.strip_prefix('[') else {
                        return Some(best);
                    };
                    let Some((index, more)) = index_and_more.split_once(']') else {
                        return Some(best);
                    };
                    let Some(item) = index.parse::<usize>().ok().and_then(|i| items.get(i)) else {
                        return Some(best);
                    };
                    node = item;
                    best = item.at();
                    rest = more.strip_prefix('.').unwrap_or(more);
                }
                SpanNode::Mapping { entries, .. } => {
                    let matching = entries
                        .iter()
                        .filter(|entry| {
                            rest.strip_prefix(entry.key.as_str()).is_some_and(|after| {
                                after.is_empty() || after.starts_with('.') || after.starts_with('[')
                            })
                        })
                        .max_by_key(|entry| entry.key.len());
                    let Some(entry) = matching else {
                        return Some(best);
                    };
                    best = entry.key_at;
                    node = &entry.value;
                    let after = &rest[entry.key.len()..];
                    rest = after.strip_prefix('.').unwrap_or(after);
                }
            }
        }
    }
}

/// Parses every document of a (multi-document) YAML file. Never panics. Empty documents are
/// skipped. A syntax error yields a diagnostic with file, line and column, and no documents
/// from that point on (documents before it are kept). Binary input (NUL bytes, invalid UTF-8),
/// input over `max_bytes`, nesting deeper than `max_depth` and more than `max_nodes` nodes
/// (alias bombs included) are refused with one diagnostic each.
pub fn parse_documents(
    source: &[u8],
    file: &str,
    limits: &YamlLimits,
) -> (Vec<YamlDocument>, Vec<Diagnostic>) {
    let mut documents = Vec::new();
    let diagnostics = for_each_document(source, file, limits, |document| documents.push(document));
    (documents, diagnostics)
}

/// [`parse_documents`], handing each non-empty document to `each` as soon as it is read
/// instead of collecting them: a file of a thousand entities never holds them all parsed at
/// once. Returns the diagnostics.
pub fn for_each_document(
    source: &[u8],
    file: &str,
    limits: &YamlLimits,
    mut each: impl FnMut(YamlDocument),
) -> Vec<Diagnostic> {
    let text = match checked_text(source, file, limits) {
        Ok(text) => text,
        Err(diagnostic) => return vec![diagnostic],
    };
    read_stream(text, file, limits, |document| {
        if !document.value.is_null() {
            each(document);
        }
    })
}

/// Parses a single JSON or YAML text (for `$json`/`$yaml` placeholders and API bodies). JSON is
/// read as YAML 1.2 flow syntax, so both go through the same limits. Empty input is `null`;
/// more than one document is an error.
pub fn parse_single(source: &[u8], file: &str, limits: &YamlLimits) -> Result<Value, Diagnostic> {
    let text = checked_text(source, file, limits)?;
    let mut documents = Vec::new();
    let mut diagnostics = read_stream(text, file, limits, |document| documents.push(document));
    if let Some(index) = diagnostics.iter().position(Diagnostic::is_error) {
        return Err(diagnostics.swap_remove(index));
    }
    match documents.len() {
        0 => Ok(Value::Null),
        1 => Ok(documents.swap_remove(0).value),
        count => {
            let (line, column) = (documents[1].line, documents[1].column);
            Err(
                Diagnostic::error(format!("expected one JSON or YAML document, found {count}"))
                    .with_file(file)
                    .at(line, column),
            )
        }
    }
}

/// Refuses what is not worth parsing: oversized or binary input. Strips a UTF-8 byte-order mark.
fn checked_text<'a>(
    source: &'a [u8],
    file: &str,
    limits: &YamlLimits,
) -> Result<&'a str, Diagnostic> {
    if source.len() > limits.max_bytes {
        return Err(Diagnostic::error(format!(
            "file is {} bytes, more than the limit of {} bytes",
            source.len(),
            limits.max_bytes
        ))
        .with_file(file));
    }
    let source = source.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(source);
    if let Some(offset) = source.iter().position(|&byte| byte == 0) {
        let (line, column) = line_and_column(&source[..offset]);
        return Err(
            Diagnostic::error("file is binary, not YAML text (it contains a NUL byte)")
                .with_file(file)
                .at(line, column),
        );
    }
    std::str::from_utf8(source).map_err(|error| {
        let (line, column) = line_and_column(&source[..error.valid_up_to()]);
        Diagnostic::error("file is not UTF-8 text (it contains an invalid byte sequence)")
            .with_file(file)
            .at(line, column)
    })
}

/// 1-based line and column (in characters) just after `before`, which is valid UTF-8 up to
/// its end or cut inside a character (only whole characters are counted).
fn line_and_column(before: &[u8]) -> Position {
    let line_start = before
        .iter()
        .rposition(|&byte| byte == b'\n')
        .map_or(0, |i| i + 1);
    let line = before.iter().filter(|&&byte| byte == b'\n').count() + 1;
    // Continuation bytes (10xxxxxx) do not start a character.
    let column = before[line_start..]
        .iter()
        .filter(|&&byte| byte & 0xC0 != 0x80)
        .count()
        + 1;
    (to_u32(line), to_u32(column))
}

fn to_u32(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

fn position_of(marker: &Marker) -> Position {
    // granit-parser's lines are 1-based and its columns 0-based.
    (
        to_u32(marker.line().max(1)),
        to_u32(marker.col()).saturating_add(1),
    )
}

/// Reads every document of `text`, null ones included (the callers decide what an empty
/// document means), each handed to `each` once complete; returns the diagnostics.
fn read_stream(
    text: &str,
    file: &str,
    limits: &YamlLimits,
    mut each: impl FnMut(YamlDocument),
) -> Vec<Diagnostic> {
    // The parser's own nesting limits are a backstop: the builder counts depth across flow and
    // block collections together and refuses first, with a clearer message.
    let parser_nesting_limit = limits.max_depth.saturating_add(1);
    let mut options = granit_parser::options! {
        flow_nesting_limit: parser_nesting_limit,
        block_nesting_limit: parser_nesting_limit,
    };
    options.set_emit_comments(false);
    let parser = Parser::new_from_str_with_options(text, options);
    let mut builder = Builder::new(file, limits);
    for next in parser {
        let step = match next {
            Ok((event, span)) => builder.on_event(event, span),
            Err(error) => Err(syntax_error(&error, file, limits)),
        };
        for document in builder.documents.drain(..) {
            each(document);
        }
        if let Err(fatal) = step {
            builder.diagnostics.push(fatal);
            break;
        }
    }
    builder.diagnostics
}

fn syntax_error(error: &ScanError, file: &str, limits: &YamlLimits) -> Diagnostic {
    let (line, column) = position_of(error.marker());
    let message = match error.kind() {
        ErrorKind::RecursionLimitExceeded => depth_message(limits),
        kind => format!("invalid YAML: {kind}"),
    };
    Diagnostic::error(message).with_file(file).at(line, column)
}

fn depth_message(limits: &YamlLimits) -> String {
    format!(
        "YAML is nested deeper than the limit of {} levels",
        limits.max_depth
    )
}

/// A finished node: its JSON value, its positions and, for scalars, its text as written (the
/// form it takes as a mapping key).
struct Node {
    value: Value,
    span: SpanNode,
    key_text: Option<String>,
}

/// What an anchor stands for, kept until its document ends.
struct Anchored {
    value: Value,
    key_text: Option<String>,
    /// Nodes one expansion adds, the anchored node included.
    nodes: usize,
    /// Bytes of scalar text one expansion adds.
    text_bytes: usize,
}

/// A sequence or mapping being built. The stack of frames replaces recursion, so nesting depth
/// costs heap, not call stack.
struct Frame {
    at: Position,
    anchor: usize,
    /// The node count and text size when the collection started, to size its anchor.
    nodes_before: usize,
    text_bytes_before: usize,
    content: FrameContent,
}

enum FrameContent {
    Sequence {
        values: Vec<Value>,
        spans: Vec<SpanNode>,
    },
    Mapping {
        values: Map<String, Value>,
        entries: Vec<SpanEntry>,
        key: MappingKey,
    },
}

/// Where a mapping is between a key and its value.
enum MappingKey {
    Expected,
    Ready(String, Position),
    /// A collection was used as a key; its value is skipped.
    Rejected,
}

struct Builder<'a> {
    file: &'a str,
    limits: &'a YamlLimits,
    documents: Vec<YamlDocument>,
    diagnostics: Vec<Diagnostic>,
    stack: Vec<Frame>,
    anchors: HashMap<usize, Anchored>,
    nodes: usize,
    /// Bytes of scalar text in the values built so far, alias expansions included.
    text_bytes: usize,
    /// Bytes of scalar text that alias expansions added.
    expanded_text_bytes: usize,
    document_count: usize,
    root: Option<Node>,
    /// The current document broke a rule (duplicate key, …) and is dropped at its end.
    document_failed: bool,
    /// Errors reported for the current document, to cap them.
    document_errors: usize,
}

/// Beyond this many errors in one document (a generated file full of duplicate keys) the rest
/// are not reported: the document is dropped anyway.
const MAX_ERRORS_PER_DOCUMENT: usize = 20;

/// Alias expansions may add at most this many times `max_bytes` of scalar text: a node budget
/// alone does not stop an alias bomb built from one long string.
const ALIAS_TEXT_FACTOR: usize = 4;

impl<'a> Builder<'a> {
    fn new(file: &'a str, limits: &'a YamlLimits) -> Self {
        Builder {
            file,
            limits,
            documents: Vec::new(),
            diagnostics: Vec::new(),
            stack: Vec::new(),
            anchors: HashMap::new(),
            nodes: 0,
            text_bytes: 0,
            expanded_text_bytes: 0,
            document_count: 0,
            root: None,
            document_failed: false,
            document_errors: 0,
        }
    }

    fn error_at(&self, message: impl Into<String>, (line, column): Position) -> Diagnostic {
        Diagnostic::error(message)
            .with_file(self.file)
            .at(line, column)
    }

    /// Takes one parser event; `Err` is a fatal diagnostic that ends the reading.
    fn on_event(&mut self, event: Event<'_>, span: Span) -> Result<(), Diagnostic> {
        let at = position_of(&span.start);
        match event {
            Event::DocumentStart(..) => {
                self.document_count += 1;
                if self.document_count > self.limits.max_documents {
                    return Err(self.error_at(
                        format!(
                            "file has more than {} YAML documents (the limit)",
                            self.limits.max_documents
                        ),
                        at,
                    ));
                }
                self.stack.clear();
                self.root = None;
                self.document_failed = false;
                self.document_errors = 0;
            }
            Event::DocumentEnd => {
                self.anchors.clear();
                if let Some(root) = self.root.take()
                    && !self.document_failed
                {
                    let (line, column) = root.span.at();
                    self.documents.push(YamlDocument {
                        value: root.value,
                        line,
                        column,
                        spans: SourceMap {
                            root: Some(root.span),
                        },
                    });
                }
            }
            Event::Scalar(text, style, anchor, tag) => {
                self.count_nodes(1, at)?;
                self.text_bytes = self.text_bytes.saturating_add(text.len());
                // A mapping key is used as text only, a value as JSON only; an anchored
                // scalar may come back as either.
                let (value, key_text) = if self.expects_key() && anchor == 0 {
                    (Value::Null, Some(text.into_owned()))
                } else {
                    let is_str_tag =
                        tag.as_deref().and_then(|tag| tag.core_suffix()) == Some("str");
                    let value = if style == ScalarStyle::Plain && !is_str_tag {
                        resolve_plain_scalar(&text)
                    } else {
                        Value::String(text.to_string())
                    };
                    (value, (anchor != 0).then(|| text.into_owned()))
                };
                if anchor != 0 {
                    self.anchors.insert(
                        anchor,
                        Anchored {
                            value: value.clone(),
                            key_text: key_text.clone(),
                            nodes: 1,
                            text_bytes: key_text.as_ref().map_or(0, String::len),
                        },
                    );
                }
                self.finish_node(Node {
                    value,
                    span: SpanNode::Leaf(at),
                    key_text,
                });
            }
            Event::SequenceStart(_, anchor, _) => {
                self.open(
                    at,
                    anchor,
                    FrameContent::Sequence {
                        values: Vec::new(),
                        spans: Vec::new(),
                    },
                )?;
            }
            Event::MappingStart(_, anchor, _) => {
                self.open(
                    at,
                    anchor,
                    FrameContent::Mapping {
                        values: Map::new(),
                        entries: Vec::new(),
                        key: MappingKey::Expected,
                    },
                )?;
            }
            Event::SequenceEnd | Event::MappingEnd => self.close(),
            Event::Alias(anchor) => {
                let Some(anchored) = self.anchors.get(&anchor) else {
                    // The parser resolves names, so an unknown id is an alias inside the very
                    // node its anchor marks: a cycle JSON cannot hold.
                    self.fail_document(self.error_at(
                        "alias refers to a node that contains it (recursive alias)",
                        at,
                    ));
                    self.finish_node(Node {
                        value: Value::Null,
                        span: SpanNode::Leaf(at),
                        key_text: None,
                    });
                    return Ok(());
                };
                let (nodes, text_bytes) = (anchored.nodes, anchored.text_bytes);
                self.count_nodes(nodes, at)?;
                self.text_bytes = self.text_bytes.saturating_add(text_bytes);
                self.expanded_text_bytes = self.expanded_text_bytes.saturating_add(text_bytes);
                let budget = self.limits.max_bytes.saturating_mul(ALIAS_TEXT_FACTOR);
                if self.expanded_text_bytes > budget {
                    return Err(self.error_at(
                        format!(
                            "aliases expand to more than {budget} bytes of text (the limit); \
                             aliases that repeat large anchors are refused"
                        ),
                        at,
                    ));
                }
                let node = match self.anchors.get(&anchor) {
                    Some(anchored) => Node {
                        value: anchored.value.clone(),
                        span: SpanNode::Leaf(at),
                        key_text: anchored.key_text.clone(),
                    },
                    None => Node {
                        value: Value::Null,
                        span: SpanNode::Leaf(at),
                        key_text: None,
                    },
                };
                self.finish_node(node);
            }
            // Stream markers, anchor metadata and comments carry no data.
            _ => {}
        }
        Ok(())
    }

    /// Whether the next node is a key of the mapping being built.
    fn expects_key(&self) -> bool {
        matches!(
            self.stack.last(),
            Some(Frame {
                content: FrameContent::Mapping {
                    key: MappingKey::Expected,
                    ..
                },
                ..
            })
        )
    }

    fn count_nodes(&mut self, added: usize, at: Position) -> Result<(), Diagnostic> {
        self.nodes = self.nodes.saturating_add(added);
        if self.nodes > self.limits.max_nodes {
            return Err(self.error_at(
                format!(
                    "YAML expands to more than {} nodes (the limit); aliases that repeat large \
                     anchors are refused",
                    self.limits.max_nodes
                ),
                at,
            ));
        }
        Ok(())
    }

    fn open(
        &mut self,
        at: Position,
        anchor: usize,
        content: FrameContent,
    ) -> Result<(), Diagnostic> {
        if self.stack.len() >= self.limits.max_depth {
            return Err(self.error_at(depth_message(self.limits), at));
        }
        self.count_nodes(1, at)?;
        // The collection itself is counted in `nodes_before`'s difference below.
        let nodes_before = self.nodes - 1;
        self.stack.push(Frame {
            at,
            anchor,
            nodes_before,
            text_bytes_before: self.text_bytes,
            content,
        });
        Ok(())
    }

    fn close(&mut self) {
        let Some(frame) = self.stack.pop() else {
            return;
        };
        let (value, span) = match frame.content {
            FrameContent::Sequence { values, spans } => (
                Value::Array(values),
                SpanNode::Sequence {
                    at: frame.at,
                    items: spans,
                },
            ),
            FrameContent::Mapping {
                values, entries, ..
            } => (
                Value::Object(values),
                SpanNode::Mapping {
                    at: frame.at,
                    entries,
                },
            ),
        };
        if frame.anchor != 0 {
            self.anchors.insert(
                frame.anchor,
                Anchored {
                    value: value.clone(),
                    key_text: None,
                    nodes: self.nodes - frame.nodes_before,
                    text_bytes: self.text_bytes - frame.text_bytes_before,
                },
            );
        }
        self.finish_node(Node {
            value,
            span,
            key_text: None,
        });
    }

    fn fail_document(&mut self, diagnostic: Diagnostic) {
        self.document_failed = true;
        self.document_errors += 1;
        if self.document_errors <= MAX_ERRORS_PER_DOCUMENT {
            self.diagnostics.push(diagnostic);
        }
    }

    /// Puts a finished node where it belongs: the document root, the next sequence item, or a
    /// mapping's key or value.
    fn finish_node(&mut self, node: Node) {
        let Some(frame) = self.stack.last_mut() else {
            self.root = Some(node);
            return;
        };
        match &mut frame.content {
            FrameContent::Sequence { values, spans } => {
                values.push(node.value);
                spans.push(node.span);
            }
            FrameContent::Mapping {
                values,
                entries,
                key,
            } => {
                match std::mem::replace(key, MappingKey::Expected) {
                    MappingKey::Ready(key, key_at) => {
                        if values.contains_key(&key) {
                            if self.document_errors >= MAX_ERRORS_PER_DOCUMENT {
                                // Not reported, so not worth the search for the first line.
                                self.document_failed = true;
                                return;
                            }
                            let first_line = entries
                                .iter()
                                .find(|entry| entry.key == key)
                                .map_or(key_at.0, |entry| entry.key_at.0);
                            let message = format!(
                                "duplicate key \"{key}\" in one mapping (line {}, first at line \
                                 {first_line})",
                                key_at.0
                            );
                            let diagnostic = self.error_at(message, key_at);
                            self.fail_document(diagnostic);
                            return;
                        }
                        values.insert(key.clone(), node.value);
                        entries.push(SpanEntry {
                            key,
                            key_at,
                            value: node.span,
                        });
                    }
                    // The value of a rejected key: the document is dropped anyway.
                    MappingKey::Rejected => {}
                    MappingKey::Expected => match node.key_text {
                        Some(text) => *key = MappingKey::Ready(text, node.span.at()),
                        None => {
                            *key = MappingKey::Rejected;
                            let diagnostic = self.error_at(
                                "a mapping key must be a scalar, not a sequence or mapping",
                                node.span.at(),
                            );
                            self.fail_document(diagnostic);
                        }
                    },
                }
            }
        }
    }
}

/// Resolves a plain scalar by the YAML 1.2 core schema (see the module comment).
fn resolve_plain_scalar(text: &str) -> Value {
    match text {
        "" | "~" | "null" | "Null" | "NULL" => return Value::Null,
        "true" | "True" | "TRUE" => return Value::Bool(true),
        "false" | "False" | "FALSE" => return Value::Bool(false),
        _ => {}
    }
    if let Some(number) = resolve_number(text) {
        return Value::Number(number);
    }
    Value::String(text.to_owned())
}

fn resolve_number(text: &str) -> Option<Number> {
    if let Some(hex) = text.strip_prefix("0x") {
        return radix_integer(hex, 16);
    }
    if let Some(octal) = text.strip_prefix("0o") {
        return radix_integer(octal, 8);
    }
    let unsigned = text.strip_prefix(['-', '+']).unwrap_or(text);
    if !unsigned.is_empty() && unsigned.bytes().all(|byte| byte.is_ascii_digit()) {
        let digits = text.strip_prefix('+').unwrap_or(text);
        if let Ok(n) = digits.parse::<i64>() {
            return Some(Number::from(n));
        }
        if let Ok(n) = digits.parse::<u64>() {
            return Some(Number::from(n));
        }
        return digits.parse::<f64>().ok().and_then(Number::from_f64);
    }
    if is_core_float(unsigned) {
        let float = text.parse::<f64>().ok().filter(|float| float.is_finite())?;
        // JavaScript (and so Backstage) has one number type: `1.0` is `1`.
        const JSON_SAFE_INTEGER: f64 = 9_007_199_254_740_992.0;
        if float.fract() == 0.0 && float.abs() < JSON_SAFE_INTEGER {
            #[allow(clippy::cast_possible_truncation)]
            return Some(Number::from(float as i64));
        }
        return Number::from_f64(float);
    }
    None
}

fn radix_integer(digits: &str, radix: u32) -> Option<Number> {
    if digits.is_empty() || !digits.chars().all(|c| c.is_digit(radix)) {
        return None;
    }
    // Beyond 64 bits the scalar stays a string: rare, and a float would silently lose digits.
    u64::from_str_radix(digits, radix).ok().map(Number::from)
}

/// `( \. [0-9]+ | [0-9]+ ( \. [0-9]* )? ) ( [eE] [-+]? [0-9]+ )?` — the core schema's float,
/// without its sign (`.inf`/`.nan` are deliberately left out: they stay strings).
fn is_core_float(text: &str) -> bool {
    let bytes = text.as_bytes();
    let mut i = 0;
    let digits = |i: &mut usize| {
        let start = *i;
        while *i < bytes.len() && bytes[*i].is_ascii_digit() {
            *i += 1;
        }
        *i - start
    };
    let integral = digits(&mut i);
    if i < bytes.len() && bytes[i] == b'.' {
        i += 1;
        let fractional = digits(&mut i);
        if integral == 0 && fractional == 0 {
            return false;
        }
    } else if integral == 0 {
        return false;
    }
    if i < bytes.len() && (bytes[i] == b'e' || bytes[i] == b'E') {
        i += 1;
        if i < bytes.len() && (bytes[i] == b'-' || bytes[i] == b'+') {
            i += 1;
        }
        if digits(&mut i) == 0 {
            return false;
        }
    }
    i == bytes.len()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use std::time::{Duration, Instant};

    fn parse(source: &str) -> (Vec<YamlDocument>, Vec<Diagnostic>) {
        parse_documents(
            source.as_bytes(),
            "catalog-info.yaml",
            &YamlLimits::default(),
        )
    }

    fn messages(diagnostics: &[Diagnostic]) -> Vec<String> {
        diagnostics.iter().map(ToString::to_string).collect()
    }

    const TWO_ENTITIES: &str = "\
apiVersion: backstage.io/v1alpha1
kind: Component
metadata:
  name: artist-web
  annotations:
    backstage.io/techdocs-ref: dir:.
    github.com/project-slug: org/artist-web
spec:
  owner: team-a
  dependsOn:
    - resource:artists-db
    - component:artist-lookup
---
apiVersion: backstage.io/v1alpha1
kind: API
metadata: {name: artist-api, tags: [rest, 'music']}
spec:
  definition: |
    openapi: 3.0.0
";

    #[test]
    fn positions_of_nested_keys_and_sequence_items_in_a_multi_document_file() {
        let (documents, diagnostics) = parse(TWO_ENTITIES);
        assert_eq!(messages(&diagnostics), Vec::<String>::new());
        assert_eq!(documents.len(), 2);
        let first = &documents[0];
        assert_eq!((first.line, first.column), (1, 1));
        assert_eq!(first.position(""), Some((1, 1)));
        assert_eq!(first.position("metadata"), Some((3, 1)));
        assert_eq!(first.position("metadata.name"), Some((4, 3)));
        assert_eq!(
            first.position("metadata.annotations.backstage.io/techdocs-ref"),
            Some((6, 5))
        );
        assert_eq!(
            first.position("metadata.annotations.github.com/project-slug"),
            Some((7, 5))
        );
        assert_eq!(first.position("spec.dependsOn"), Some((10, 3)));
        assert_eq!(first.position("spec.dependsOn[0]"), Some((11, 7)));
        assert_eq!(first.position("spec.dependsOn[1]"), Some((12, 7)));
        // Missing fields fall back to the nearest ancestor that exists.
        assert_eq!(first.position("spec.dependsOn[7]"), Some((10, 3)));
        assert_eq!(first.position("spec.system"), Some((8, 1)));
        assert_eq!(
            first.position("metadata.annotations.unknown/key"),
            Some((5, 3))
        );

        let second = &documents[1];
        assert_eq!((second.line, second.column), (14, 1));
        assert_eq!(second.position("metadata.name"), Some((16, 12)));
        assert_eq!(second.position("metadata.tags[1]"), Some((16, 43)));
        assert_eq!(second.position("spec.definition"), Some((18, 3)));
        assert_eq!(
            second.value["metadata"],
            json!({"name": "artist-api", "tags": ["rest", "music"]})
        );
        assert_eq!(
            second.value["spec"]["definition"],
            json!("openapi: 3.0.0\n")
        );
    }

    #[test]
    fn the_longest_matching_key_wins_when_keys_contain_dots() {
        let (documents, _) = parse("a:\n  b: 1\na.b:\n  c: 2\n");
        assert_eq!(documents[0].position("a.b"), Some((3, 1)));
        assert_eq!(documents[0].position("a.b.c"), Some((4, 3)));
        assert_eq!(SourceMap::default().position("a"), None);
    }

    #[test]
    fn a_syntax_error_has_line_and_column_and_keeps_earlier_documents() {
        let source = "kind: Group\n---\nkind: User\nmetadata:\n  name: a: b\n---\nkind: System\n";
        let (documents, diagnostics) = parse(source);
        assert_eq!(documents.len(), 1);
        assert_eq!(documents[0].value, json!({"kind": "Group"}));
        assert_eq!(
            messages(&diagnostics),
            [
                "catalog-info.yaml:5:10: error: invalid YAML: mapping values are not allowed in \
              this context"
            ]
        );
    }

    #[test]
    fn an_unterminated_quote_is_a_syntax_error() {
        let (documents, diagnostics) = parse("name: \"artist\nowner: x\n");
        assert!(documents.is_empty());
        assert_eq!(diagnostics.len(), 1);
        assert_eq!(
            (diagnostics[0].line, diagnostics[0].column),
            (Some(2), Some(1))
        );
        assert_eq!(diagnostics[0].file.as_deref(), Some("catalog-info.yaml"));
    }

    #[test]
    fn a_billion_laughs_alias_bomb_is_refused_quickly() {
        let mut bomb = String::from(
            "a: &a [\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\"]\n",
        );
        for (name, previous) in ["b", "c", "d", "e", "f", "g", "h", "i"]
            .iter()
            .zip(["a", "b", "c", "d", "e", "f", "g", "h"])
        {
            let aliases = vec![format!("*{previous}"); 9].join(",");
            bomb.push_str(&format!("{name}: &{name} [{aliases}]\n"));
        }
        let started = Instant::now();
        let (documents, diagnostics) = parse(&bomb);
        assert!(
            started.elapsed() < Duration::from_secs(2),
            "took {:?}",
            started.elapsed()
        );
        assert!(documents.is_empty());
        assert_eq!(
            messages(&diagnostics),
            [
                "catalog-info.yaml:6:11: error: YAML expands to more than 200000 nodes (the limit); \
              aliases that repeat large anchors are refused"
            ]
        );
    }

    #[test]
    fn aliases_are_expanded_and_counted() {
        let (documents, diagnostics) =
            parse("base: &base {owner: team-a, tags: [x]}\ncopy: *base\n<<: *base\n");
        assert_eq!(messages(&diagnostics), Vec::<String>::new());
        let expanded = json!({"owner": "team-a", "tags": ["x"]});
        assert_eq!(
            documents[0].value,
            json!({"base": expanded, "copy": expanded, "<<": expanded})
        );
        // Inside an alias, positions are the alias's own.
        assert_eq!(documents[0].position("copy.tags[0]"), Some((2, 1)));

        let tight = YamlLimits {
            max_nodes: 10,
            ..YamlLimits::default()
        };
        let (documents, diagnostics) =
            parse_documents(b"a: &a [1, 2]\nb: *a\nc: *a\n", "f", &tight);
        assert!(documents.is_empty());
        assert_eq!(
            (diagnostics[0].line, diagnostics[0].column),
            (Some(3), Some(4))
        );
    }

    #[test]
    fn an_alias_bomb_of_one_long_string_is_refused() {
        let long = "x".repeat(100_000);
        let aliases = vec!["*s"; 1_000].join(", ");
        let source = format!("s: &s {long}\nbomb: [{aliases}]\n");
        let started = Instant::now();
        let (documents, diagnostics) = parse(&source);
        assert!(
            started.elapsed() < Duration::from_secs(2),
            "took {:?}",
            started.elapsed()
        );
        assert!(documents.is_empty());
        assert_eq!(
            messages(&diagnostics),
            [
                "catalog-info.yaml:2:340: error: aliases expand to more than 8388608 bytes of text \
              (the limit); aliases that repeat large anchors are refused"
            ]
        );
    }

    #[test]
    fn thousands_of_duplicate_keys_are_reported_a_few_times_and_quickly() {
        let mut source: String = (0..30_000).map(|i| format!("k{i}: 1\n")).collect();
        source.push_str(&"k29999: 2\n".repeat(30_000));
        let started = Instant::now();
        let (documents, diagnostics) = parse(&source);
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "took {:?}",
            started.elapsed()
        );
        assert!(documents.is_empty());
        assert_eq!(diagnostics.len(), MAX_ERRORS_PER_DOCUMENT);
    }

    #[test]
    fn an_anchored_scalar_serves_as_key_and_as_value() {
        // Keys are kept as text and values as JSON; an anchored scalar may become either.
        let (documents, diagnostics) = parse(
            "name: &n owner
*n : 42
other: *n
n: &t 7
list: [*t, &q quoted, *q]
",
        );
        assert_eq!(messages(&diagnostics), Vec::<String>::new());
        assert_eq!(
            documents[0].value,
            json!({"name": "owner", "owner": 42, "other": "owner", "n": 7, "list": [7, "quoted", "quoted"]})
        );
        assert_eq!(documents[0].position("owner"), Some((2, 1)));
    }

    #[test]
    fn a_recursive_alias_is_an_error() {
        let (documents, diagnostics) = parse("x: &a [*a]\n");
        assert!(documents.is_empty());
        assert_eq!(
            messages(&diagnostics),
            [
                "catalog-info.yaml:1:8: error: alias refers to a node that contains it (recursive alias)"
            ]
        );
    }

    #[test]
    fn ten_thousand_levels_of_nesting_are_refused_without_overflowing_the_stack() {
        for source in [
            "[".repeat(10_000),
            "{a: ".repeat(10_000),
            format!("{}x\n", "- ".repeat(10_000)),
            // Block and flow nesting count together.
            "- ".repeat(40) + &"[".repeat(40) + &"]".repeat(40),
        ] {
            let (documents, diagnostics) = parse(&source);
            assert!(documents.is_empty());
            assert_eq!(diagnostics.len(), 1, "{diagnostics:?}");
            assert!(diagnostics[0].line.is_some());
            assert_eq!(
                diagnostics[0].message,
                "YAML is nested deeper than the limit of 64 levels"
            );
        }
        // Indentation makes deep block mappings large: 1,000 levels already take 500 kB.
        let block = (0..1_000)
            .map(|depth| format!("{}k:\n", " ".repeat(depth)))
            .collect::<String>();
        let (_, diagnostics) = parse(&block);
        assert_eq!(
            messages(&diagnostics),
            ["catalog-info.yaml:65:65: error: YAML is nested deeper than the limit of 64 levels"]
        );
        let deep_but_allowed = format!("{}1{}", "[".repeat(64), "]".repeat(64));
        let (documents, diagnostics) = parse(&deep_but_allowed);
        assert_eq!((documents.len(), diagnostics.len()), (1, 0));
    }

    #[test]
    fn binary_input_is_refused_with_one_diagnostic() {
        let (documents, diagnostics) = parse_documents(
            b"kind: x\nname: \0\x01\x02",
            "logo.png",
            &YamlLimits::default(),
        );
        assert!(documents.is_empty());
        assert_eq!(
            messages(&diagnostics),
            ["logo.png:2:7: error: file is binary, not YAML text (it contains a NUL byte)"]
        );
        let (documents, diagnostics) = parse_documents(
            b"a: b\nc: \xC3\xA9\xFF",
            "latin1.yaml",
            &YamlLimits::default(),
        );
        assert!(documents.is_empty());
        assert_eq!(
            messages(&diagnostics),
            [
                "latin1.yaml:2:5: error: file is not UTF-8 text (it contains an invalid byte sequence)"
            ]
        );
    }

    #[test]
    fn oversized_input_is_refused() {
        let limits = YamlLimits {
            max_bytes: 16,
            ..YamlLimits::default()
        };
        let (documents, diagnostics) = parse_documents(b"name: seventeen-b", "big.yaml", &limits);
        assert!(documents.is_empty());
        assert_eq!(
            messages(&diagnostics),
            ["big.yaml: error: file is 17 bytes, more than the limit of 16 bytes"]
        );
        let (documents, diagnostics) = parse_documents(b"name: sixteen-by", "ok.yaml", &limits);
        assert_eq!((documents.len(), diagnostics.len()), (1, 0));
    }

    #[test]
    fn each_document_is_handed_over_as_it_is_read_and_a_syntax_error_stops_the_rest() {
        let text = b"a: 1\n---\n---\nb: 2\n---\nc: [unclosed\n---\nd: 4\n";
        let mut seen = Vec::new();
        let diagnostics = for_each_document(text, "f.yaml", &YamlLimits::default(), |document| {
            seen.push(document.value.to_string());
        });
        // The empty document is skipped; what follows the broken one is not read.
        assert_eq!(seen, [r#"{"a":1}"#, r#"{"b":2}"#]);
        assert_eq!(diagnostics.len(), 1);
        assert!(diagnostics[0].is_error());
        // The same documents as parse_documents collects.
        let (documents, collected) = parse_documents(text, "f.yaml", &YamlLimits::default());
        let values: Vec<String> = documents.iter().map(|d| d.value.to_string()).collect();
        assert_eq!(values, seen);
        assert_eq!(messages(&collected), messages(&diagnostics));
    }

    #[test]
    fn too_many_documents_are_refused() {
        let limits = YamlLimits {
            max_documents: 3,
            ..YamlLimits::default()
        };
        let (documents, diagnostics) =
            parse_documents(b"a: 1\n---\nb: 2\n---\n---\nc: 3\n", "f", &limits);
        assert_eq!(documents.len(), 2);
        assert_eq!(
            messages(&diagnostics),
            ["f:5:1: error: file has more than 3 YAML documents (the limit)"]
        );
    }

    #[test]
    fn duplicate_keys_are_reported_and_drop_only_their_document() {
        let source =
            "kind: Component\nmetadata:\n  name: a\n  title: t\n  name: b\n---\nkind: Group\n";
        let (documents, diagnostics) = parse(source);
        assert_eq!(documents.len(), 1);
        assert_eq!(documents[0].value, json!({"kind": "Group"}));
        assert_eq!(
            messages(&diagnostics),
            [
                "catalog-info.yaml:5:3: error: duplicate key \"name\" in one mapping (line 5, first at line 3)"
            ]
        );
    }

    #[test]
    fn scalars_follow_the_yaml_1_2_core_schema() {
        let source = "[yes, no, on, off, y, true, False, ~, null, '', 7, -3, +4, 0x1F, 0o17, 1.5, 2.0, \
                      1e3, -.5, .inf, -.Inf, .nan, 'true', \"12\", !!str 12, !custom 5, 012, 1_000, \
                      12345678901234567890, 2024-01-01, 0x, 1.2.3]";
        let (documents, diagnostics) = parse(source);
        assert_eq!(messages(&diagnostics), Vec::<String>::new());
        assert_eq!(
            documents[0].value,
            json!([
                "yes",
                "no",
                "on",
                "off",
                "y",
                true,
                false,
                null,
                null,
                "",
                7,
                -3,
                4,
                31,
                15,
                1.5,
                2,
                1000,
                -0.5,
                ".inf",
                "-.Inf",
                ".nan",
                "true",
                "12",
                "12",
                5,
                12,
                "1_000",
                12345678901234567890u64,
                "2024-01-01",
                "0x",
                "1.2.3"
            ])
        );
        let (documents, _) = parse("1: one\ntrue: yes\n~: nothing\n1.50: x\n");
        assert_eq!(
            documents[0].value,
            json!({"1": "one", "true": "yes", "~": "nothing", "1.50": "x"})
        );
    }

    #[test]
    fn a_collection_as_key_is_an_error() {
        let (documents, diagnostics) = parse("? [a, b]\n: 1\n");
        assert!(documents.is_empty());
        assert_eq!(
            messages(&diagnostics),
            [
                "catalog-info.yaml:1:3: error: a mapping key must be a scalar, not a sequence or mapping"
            ]
        );
    }

    #[test]
    fn empty_documents_are_skipped() {
        let (documents, diagnostics) =
            parse("---\n---\n# only a comment\n---\nkind: User\n---\n~\n---\n");
        assert_eq!(messages(&diagnostics), Vec::<String>::new());
        assert_eq!(documents.len(), 1);
        assert_eq!(documents[0].value, json!({"kind": "User"}));
        assert_eq!((documents[0].line, documents[0].column), (5, 1));
        assert_eq!(parse("").0, Vec::new());
        assert_eq!(parse("# nothing\n").0, Vec::new());
    }

    #[test]
    fn crlf_line_endings_and_a_byte_order_mark_are_read() {
        let source = "\u{FEFF}kind: Component\r\nmetadata:\r\n  name: a\r\n  description: |\r\n    two\r\n    lines\r\n";
        let (documents, diagnostics) = parse(source);
        assert_eq!(messages(&diagnostics), Vec::<String>::new());
        assert_eq!(
            documents[0].value,
            json!({"kind": "Component", "metadata": {"name": "a", "description": "two\nlines\n"}})
        );
        assert_eq!(documents[0].position("metadata.description"), Some((4, 3)));
    }

    #[test]
    fn a_file_without_final_newline_is_read() {
        let (documents, diagnostics) = parse("kind: Component\nspec:\n  owner: default/team-a");
        assert_eq!(messages(&diagnostics), Vec::<String>::new());
        assert_eq!(documents[0].value["spec"]["owner"], json!("default/team-a"));
        assert_eq!(documents[0].position("spec.owner"), Some((3, 3)));
    }

    #[test]
    fn parse_single_reads_json_and_yaml_and_refuses_several_documents() {
        let limits = YamlLimits::default();
        assert_eq!(
            parse_single(
                br#"{"a": [1, 2.5, "x\/y", null], "b": {"c": true}}"#,
                "a.json",
                &limits
            ),
            Ok(json!({"a": [1, 2.5, "x/y", null], "b": {"c": true}}))
        );
        assert_eq!(
            parse_single(b"a: 1\n", "a.yaml", &limits),
            Ok(json!({"a": 1}))
        );
        assert_eq!(parse_single(b"", "a.yaml", &limits), Ok(Value::Null));
        assert_eq!(
            parse_single(b"a: 1\n---\nb: 2\n", "a.yaml", &limits).map_err(|d| d.to_string()),
            Err("a.yaml:3:1: error: expected one JSON or YAML document, found 2".to_owned())
        );
        assert_eq!(
            parse_single(b"{\"a\": 1, \"a\": 2}", "a.json", &limits).map_err(|d| d.to_string()),
            Err(
                "a.json:1:10: error: duplicate key \"a\" in one mapping (line 1, first at line 1)"
                    .to_owned()
            )
        );
        assert!(parse_single(b"{\"a\": ", "a.json", &limits).is_err());
    }

    #[test]
    fn every_backstage_example_parses_without_diagnostics() {
        // shared/ sits beside the repository checkout, here and in CI.
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../../shared/compat/backstage-examples");
        assert!(root.is_dir(), "{} is missing", root.display());
        let mut pending = vec![root.to_path_buf()];
        let (mut files, mut documents, mut entity_documents) = (0, 0, 0);
        while let Some(dir) = pending.pop() {
            let Ok(entries) = std::fs::read_dir(&dir) else {
                continue;
            };
            for entry in entries.flatten() {
                let path = entry.path();
                if path.is_dir() {
                    pending.push(path);
                    continue;
                }
                if !matches!(
                    path.extension().and_then(|e| e.to_str()),
                    Some("yaml" | "yml")
                ) {
                    continue;
                }
                let bytes = std::fs::read(&path).unwrap_or_default();
                let (parsed, diagnostics) =
                    parse_documents(&bytes, &path.display().to_string(), &YamlLimits::default());
                assert_eq!(messages(&diagnostics), Vec::<String>::new());
                files += 1;
                documents += parsed.len();
                entity_documents += parsed
                    .iter()
                    .filter(|d| {
                        d.value.get("apiVersion").is_some() && d.value.get("kind").is_some()
                    })
                    .count();
            }
        }
        assert_eq!((files, documents, entity_documents), (71, 89, 87));
    }
}
