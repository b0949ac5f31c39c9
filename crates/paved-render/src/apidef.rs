//! API definitions (OpenAPI, AsyncAPI, GraphQL, protobuf) rendered as HTML fragments.
//!
//! [`render_api_definition`] is total: any text under any API type yields a structured view
//! (or a note saying why there is none), the definition highlighted, a summary and the
//! problems met on the way as warnings. Everything taken from the definition is escaped; the
//! markup uses classes only (no inline styles), so the page's stylesheet decides the look in
//! light and dark themes.
//!
//! Output stays proportional to what a reader can use: schema trees stop at a depth and an
//! entry count, the structured view stops at [`MAX_STRUCTURED_HTML_BYTES`], and each cut is
//! reported in `warnings`.

mod asyncapi;
mod graphql;
mod openapi;
mod proto;
mod schema;

use std::collections::{HashMap, HashSet};

use serde::Serialize;
use serde_json::Value;

use crate::highlight::{Language, highlight, language_for, push_escaped};

/// The structured view stops growing once it passes this many bytes.
pub const MAX_STRUCTURED_HTML_BYTES: usize = 4 * 1024 * 1024;
/// Definitions longer than this get the raw view only: reading them would cost more than a
/// page render should, and no reader browses a structure that size.
pub const MAX_STRUCTURED_INPUT_BYTES: usize = 5 * 1024 * 1024;
/// The raw view shows at most this much of the definition.
pub const MAX_RAW_INPUT_BYTES: usize = 5 * 1024 * 1024;
/// Definitions longer than this are shown escaped but not highlighted: highlighting multiplies
/// the size about fivefold, and a reader of a text that long searches it rather than reads it.
pub const MAX_HIGHLIGHT_INPUT_BYTES: usize = 1024 * 1024;
/// At most this many warnings are kept; the rest are counted.
const MAX_WARNINGS: usize = 40;

/// An API definition ready for the entity page.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RenderedDefinition {
    /// The structured view: escaped HTML, safe to embed as is.
    pub html: String,
    /// The definition itself, highlighted (escaped HTML for a `<pre><code>` element).
    pub raw_html: String,
    /// The language `raw_html` was highlighted as (for a `language-…` class).
    pub raw_language: Language,
    pub summary: DefinitionSummary,
    /// Problems met while reading or rendering, for display above the raw view.
    pub warnings: Vec<String>,
}

/// What kind of definition was recognised.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum DefinitionFormat {
    OpenApi,
    Swagger,
    AsyncApi,
    GraphQl,
    Protobuf,
    #[default]
    Other,
}

impl DefinitionFormat {
    /// The name a reader knows the format by.
    pub fn label(self) -> &'static str {
        match self {
            DefinitionFormat::OpenApi => "OpenAPI",
            DefinitionFormat::Swagger => "Swagger",
            DefinitionFormat::AsyncApi => "AsyncAPI",
            DefinitionFormat::GraphQl => "GraphQL",
            DefinitionFormat::Protobuf => "Protocol Buffers",
            DefinitionFormat::Other => "Text",
        }
    }
}

/// Headline facts about a definition. Counts that do not apply to the format stay zero.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct DefinitionSummary {
    pub format: DefinitionFormat,
    /// The format's own version: `3.0.3`, `2.0`, `2.6.0`, `proto3`.
    pub spec_version: Option<String>,
    pub title: Option<String>,
    /// The API's version as the definition states it.
    pub version: Option<String>,
    /// OpenAPI operations, AsyncAPI operations, GraphQL root fields, gRPC rpcs.
    pub operations: usize,
    /// OpenAPI 3.1 webhook operations.
    pub webhooks: usize,
    /// AsyncAPI channels.
    pub channels: usize,
    /// AsyncAPI messages used by channels; protobuf messages.
    pub messages: usize,
    /// OpenAPI and AsyncAPI component schemas (Swagger `definitions`).
    pub schemas: usize,
    /// GraphQL named types.
    pub types: usize,
    /// Protobuf enums.
    pub enums: usize,
    /// gRPC services.
    pub services: usize,
}

/// One count for display, e.g. `7 operations`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SummaryCount {
    pub count: usize,
    pub label: &'static str,
}

impl DefinitionSummary {
    /// The counts that matter for this format, with labels in the right number.
    pub fn counts(&self) -> Vec<SummaryCount> {
        let mut counts = Vec::new();
        let mut add = |count: usize, one: &'static str, many: &'static str| {
            counts.push(SummaryCount {
                count,
                label: if count == 1 { one } else { many },
            });
        };
        match self.format {
            DefinitionFormat::OpenApi | DefinitionFormat::Swagger => {
                add(self.operations, "operation", "operations");
                if self.webhooks > 0 {
                    add(self.webhooks, "webhook", "webhooks");
                }
                add(self.schemas, "schema", "schemas");
            }
            DefinitionFormat::AsyncApi => {
                add(self.channels, "channel", "channels");
                add(self.operations, "operation", "operations");
                add(self.messages, "message", "messages");
                add(self.schemas, "schema", "schemas");
            }
            DefinitionFormat::GraphQl => {
                add(self.types, "type", "types");
                add(self.operations, "root field", "root fields");
            }
            DefinitionFormat::Protobuf => {
                add(self.services, "service", "services");
                add(self.operations, "rpc", "rpcs");
                add(self.messages, "message", "messages");
                add(self.enums, "enum", "enums");
            }
            DefinitionFormat::Other => {}
        }
        counts
    }
}

/// One operation of an OpenAPI (or Swagger) definition, as an index of operations needs it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OperationEntry {
    /// Upper case: `GET`, `POST`, …
    pub method: String,
    /// The path (or a webhook's name).
    pub path: String,
    pub summary: Option<String>,
    pub description: Option<String>,
    pub operation_id: Option<String>,
    /// The element id the operation has in [`render_api_definition`]'s structured view.
    pub anchor: String,
}

/// The operations of an OpenAPI or Swagger definition (YAML or JSON), with the anchors the
/// structured view gives them. Total: a definition that cannot be read, an AsyncAPI document
/// or one over [`MAX_STRUCTURED_INPUT_BYTES`] has none.
pub fn openapi_operations(definition: &str) -> Vec<OperationEntry> {
    let definition = definition.strip_prefix('\u{feff}').unwrap_or(definition);
    if definition.trim().is_empty() || definition.len() > MAX_STRUCTURED_INPUT_BYTES {
        return Vec::new();
    }
    let mut warnings = Warnings::default();
    let Some(doc) = parse_document(definition, &mut warnings) else {
        return Vec::new();
    };
    let is_openapi = doc.get("openapi").is_some() || doc.get("swagger").is_some();
    if !doc.is_object() || (doc.get("asyncapi").is_some() && !is_openapi) {
        return Vec::new();
    }
    openapi::operation_entries(&doc)
}

/// Renders an API entity's definition. `api_type` is the entity's `spec.type` (`openapi`,
/// `asyncapi`, `graphql`, `grpc`, or anything else, which gets the raw view with a note).
pub fn render_api_definition(api_type: &str, definition: &str) -> RenderedDefinition {
    let mut warnings = Warnings::default();
    let definition = definition.strip_prefix('\u{feff}').unwrap_or(definition);
    let detected_language = language_for(api_type, definition);
    let mut raw_language = detected_language;
    if definition.len() > MAX_HIGHLIGHT_INPUT_BYTES {
        warnings.push(format!(
            "The definition is longer than {}; the raw view is not highlighted.",
            human_bytes(MAX_HIGHLIGHT_INPUT_BYTES)
        ));
        raw_language = Language::Plain;
    }
    let raw_html = render_raw(raw_language, definition, &mut warnings);

    let kind = api_type.trim().to_ascii_lowercase();
    let mut out = Html::new(MAX_STRUCTURED_HTML_BYTES);
    let mut summary = DefinitionSummary::default();
    let class = match kind.as_str() {
        "openapi" | "swagger" => "openapi",
        "asyncapi" => "asyncapi",
        "graphql" => "graphql",
        "grpc" | "proto" | "protobuf" => "grpc",
        _ => "other",
    };
    // What the entity says it is; the renderers refine it from the document itself.
    summary.format = match class {
        "openapi" => DefinitionFormat::OpenApi,
        "asyncapi" => DefinitionFormat::AsyncApi,
        "graphql" => DefinitionFormat::GraphQl,
        "grpc" => DefinitionFormat::Protobuf,
        _ => DefinitionFormat::Other,
    };
    out.raw("<div class=\"apidef apidef-");
    out.raw(class);
    out.raw("\">");
    if definition.trim().is_empty() {
        warnings.push("The definition is empty.".to_owned());
        out.note("This API has no definition text.");
    } else if definition.len() > MAX_STRUCTURED_INPUT_BYTES {
        warnings.push(format!(
            "The definition is {} long; only the raw view is shown for definitions over {}.",
            human_bytes(definition.len()),
            human_bytes(MAX_STRUCTURED_INPUT_BYTES)
        ));
        out.note("The definition is too large for a structured view; see the raw definition.");
    } else {
        match class {
            "openapi" | "asyncapi" => {
                render_document(class, definition, &mut out, &mut summary, &mut warnings)
            }
            "graphql" => {
                if detected_language == Language::Json {
                    warnings.push(
                        "The GraphQL definition is JSON (an introspection result?); the structured view reads schema language (SDL) only.".to_owned(),
                    );
                    out.note("No structured view: the definition is not GraphQL schema language.");
                } else {
                    graphql::render(definition, &mut out, &mut summary, &mut warnings);
                }
            }
            "grpc" => proto::render(definition, &mut out, &mut summary, &mut warnings),
            _ => {
                out.raw(
                    "<p class=\"apidef-note\">paved has no structured view for APIs of type <code>",
                );
                out.text(api_type.trim());
                out.raw("</code>; the definition is shown as text.</p>");
            }
        }
    }
    if out.capped {
        warnings.push(format!(
            "The structured view was cut at {}; the raw view has the whole definition.",
            human_bytes(MAX_STRUCTURED_HTML_BYTES)
        ));
    }
    out.raw("</div>");
    RenderedDefinition {
        html: out.finish(),
        raw_html,
        raw_language,
        summary,
        warnings: warnings.finish(),
    }
}

fn render_raw(language: Language, definition: &str, warnings: &mut Warnings) -> String {
    if definition.len() <= MAX_RAW_INPUT_BYTES {
        return highlight(language, definition);
    }
    let mut end = MAX_RAW_INPUT_BYTES;
    while !definition.is_char_boundary(end) {
        end -= 1;
    }
    // Cut at a line end so the last line shown is whole.
    if let Some(newline) = definition[..end].rfind('\n') {
        end = newline + 1;
    }
    warnings.push(format!(
        "The raw view shows the first {} of {}.",
        human_bytes(end),
        human_bytes(definition.len())
    ));
    highlight(language, &definition[..end])
}

/// Reads a YAML or JSON document and hands it to the OpenAPI or AsyncAPI renderer, following
/// the document's own version field when it disagrees with the entity's type.
fn render_document(
    class: &str,
    definition: &str,
    out: &mut Html,
    summary: &mut DefinitionSummary,
    warnings: &mut Warnings,
) {
    let Some(doc) = parse_document(definition, warnings) else {
        out.note("The definition could not be read as YAML or JSON; see the raw definition.");
        return;
    };
    if !doc.is_object() {
        warnings.push(format!(
            "The definition is {} where a mapping was expected.",
            describe_json_type(&doc)
        ));
        out.note("The definition is not a mapping; see the raw definition.");
        return;
    }
    let is_asyncapi = doc.get("asyncapi").is_some();
    let is_openapi = doc.get("openapi").is_some() || doc.get("swagger").is_some();
    if class == "openapi" && is_asyncapi && !is_openapi {
        warnings.push(
            "The API's type is openapi but the document is AsyncAPI; it is shown as AsyncAPI."
                .to_owned(),
        );
        asyncapi::render(&doc, out, summary, warnings);
    } else if class == "asyncapi" && is_openapi && !is_asyncapi {
        warnings.push(
            "The API's type is asyncapi but the document is OpenAPI; it is shown as OpenAPI."
                .to_owned(),
        );
        openapi::render(&doc, out, summary, warnings);
    } else if class == "asyncapi" {
        asyncapi::render(&doc, out, summary, warnings);
    } else {
        openapi::render(&doc, out, summary, warnings);
    }
}

/// Parses YAML (or JSON) into a JSON value, with serde-saphyr's resource budgets on and YAML
/// 1.2 booleans (so `on`/`off` stay strings, as Backstage's YAML reader keeps them).
pub(crate) fn parse_document(definition: &str, warnings: &mut Warnings) -> Option<Value> {
    let json_error = if definition.trim_start().starts_with('{') {
        match serde_json::from_str::<Value>(definition) {
            Ok(value) => return Some(value),
            Err(error) => Some(error),
        }
    } else {
        None
    };
    // The default budget caps depth, nodes, aliases and scalar bytes.
    let options = serde_saphyr::options! {
        strict_booleans: true,
    };
    match serde_saphyr::from_str_with_options::<Value>(definition, options) {
        Ok(value) => Some(value),
        Err(error) => {
            if let Some(json_error) = json_error {
                warnings.push(format!("The definition is not valid JSON: {json_error}"));
                return None;
            }
            let message = first_line(&error.to_string());
            // Duplicate keys are common in hand-written specs; read on, keeping the last.
            if message.to_ascii_lowercase().contains("duplicate") {
                let lenient = serde_saphyr::options! {
                    strict_booleans: true,
                    duplicate_keys: serde_saphyr::DuplicateKeyPolicy::LastWins,
                };
                if let Ok(value) = serde_saphyr::from_str_with_options::<Value>(definition, lenient)
                {
                    warnings.push(format!("{message} (the last value is used)"));
                    return Some(value);
                }
            }
            warnings.push(format!("The definition is not valid YAML: {message}"));
            None
        }
    }
}

fn first_line(text: &str) -> String {
    let line = text.lines().next().unwrap_or("").trim();
    truncate_chars(line, 300)
}

pub(crate) fn truncate_chars(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text.to_owned(),
    }
}

pub(crate) fn human_bytes(bytes: usize) -> String {
    if bytes >= 1024 * 1024 {
        format!("{:.1} MiB", bytes as f64 / (1024.0 * 1024.0))
    } else if bytes >= 1024 {
        format!("{:.1} KiB", bytes as f64 / 1024.0)
    } else {
        format!("{bytes} bytes")
    }
}

pub(crate) fn describe_json_type(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "a mapping",
    }
}

/// A scalar as display text: strings as they are, numbers and booleans spelled out (YAML
/// reads `version: 1.0` as a number).
pub(crate) fn scalar_text(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// A value as one line of compact JSON (strings unquoted), cut to `max` characters.
pub(crate) fn compact_value(value: &Value, max: usize) -> String {
    let text = match value {
        Value::String(s) => s.clone(),
        other => serde_json::to_string(other).unwrap_or_default(),
    };
    truncate_chars(&text, max)
}

/// Problems worth telling the reader, deduplicated and capped.
#[derive(Debug, Default)]
pub(crate) struct Warnings {
    list: Vec<String>,
    seen: HashSet<String>,
    dropped: usize,
}

impl Warnings {
    pub(crate) fn push(&mut self, message: String) {
        if self.seen.contains(&message) {
            return;
        }
        if self.list.len() >= MAX_WARNINGS {
            self.dropped += 1;
            return;
        }
        self.seen.insert(message.clone());
        self.list.push(message);
    }

    fn finish(mut self) -> Vec<String> {
        if self.dropped > 0 {
            self.list
                .push(format!("{} more warnings not shown.", self.dropped));
        }
        self.list
    }
}

/// An HTML buffer with a soft size cap: renderers check [`Html::full`] before each unit of
/// work and stop adding units once it is reached, still closing what they opened.
pub(crate) struct Html {
    buf: String,
    pub(crate) cap: usize,
    pub(crate) capped: bool,
}

impl Html {
    pub(crate) fn new(cap: usize) -> Self {
        Html {
            buf: String::with_capacity(16 * 1024),
            cap,
            capped: false,
        }
    }

    /// Appends trusted markup.
    pub(crate) fn raw(&mut self, markup: &str) {
        self.buf.push_str(markup);
    }

    /// Appends text, escaped.
    pub(crate) fn text(&mut self, text: &str) {
        push_escaped(&mut self.buf, text);
    }

    /// `<tag class="class">text</tag>` with the text escaped.
    pub(crate) fn element(&mut self, tag: &str, class: &str, text: &str) {
        self.buf.push('<');
        self.buf.push_str(tag);
        if !class.is_empty() {
            self.buf.push_str(" class=\"");
            self.buf.push_str(class);
            self.buf.push('"');
        }
        self.buf.push('>');
        self.text(text);
        self.buf.push_str("</");
        self.buf.push_str(tag);
        self.buf.push('>');
    }

    /// `<p class="apidef-note">…</p>`.
    pub(crate) fn note(&mut self, text: &str) {
        self.element("p", "apidef-note", text);
    }

    /// Prose from the definition: blank lines separate paragraphs, single line breaks are
    /// kept as `<br>`. Markdown is shown as the plain text it is.
    pub(crate) fn description(&mut self, class: &str, text: &str) {
        let text = text.trim();
        if text.is_empty() {
            return;
        }
        self.raw("<div class=\"");
        self.raw(class);
        self.raw("\">");
        let normalised = text.replace("\r\n", "\n");
        for paragraph in normalised.split("\n\n") {
            let paragraph = paragraph.trim_matches('\n');
            if paragraph.trim().is_empty() {
                continue;
            }
            self.raw("<p>");
            let mut first = true;
            for line in paragraph.split('\n') {
                if !first {
                    self.raw("<br>");
                }
                first = false;
                self.text(line.trim_end());
            }
            self.raw("</p>");
        }
        self.raw("</div>");
    }

    /// Whether the cap is reached; once it is, it stays reached.
    pub(crate) fn full(&mut self) -> bool {
        if self.buf.len() >= self.cap {
            self.capped = true;
        }
        self.capped
    }

    pub(crate) fn len(&self) -> usize {
        self.buf.len()
    }

    fn finish(self) -> String {
        self.buf
    }
}

/// A server (OpenAPI) or broker (AsyncAPI) the API is reachable at.
pub(crate) struct Server {
    pub url: String,
    pub protocol: Option<String>,
    pub description: Option<String>,
}

/// Title, versions, description and servers of an OpenAPI or AsyncAPI document.
pub(crate) fn document_header(
    out: &mut Html,
    summary: &DefinitionSummary,
    description: Option<&str>,
    servers: &[Server],
) {
    out.raw("<header class=\"apidef-header\">");
    if let Some(title) = &summary.title {
        out.element("h2", "apidef-title", title);
    }
    out.raw("<p class=\"apidef-meta\">");
    if let Some(version) = &summary.version {
        out.raw("<span class=\"apidef-version\">version ");
        out.text(version);
        out.raw("</span> ");
    }
    out.raw("<span class=\"apidef-spec\">");
    out.text(summary.format.label());
    if let Some(spec) = &summary.spec_version {
        out.text(" ");
        out.text(spec);
    }
    out.raw("</span></p>");
    if let Some(description) = description {
        out.description("apidef-description", description);
    }
    if !servers.is_empty() {
        out.raw("<ul class=\"apidef-servers\">");
        for server in servers {
            out.raw("<li>");
            out.element("code", "server-url", &server.url);
            if let Some(protocol) = &server.protocol {
                out.raw(" ");
                out.element("span", "server-protocol", protocol);
            }
            if let Some(description) = &server.description {
                out.raw(" ");
                out.element("span", "server-description", description);
            }
            out.raw("</li>");
        }
        out.raw("</ul>");
    }
    out.raw("</header>");
}

/// Element ids unique within one rendered definition.
#[derive(Debug, Default)]
pub(crate) struct Ids {
    used: HashSet<String>,
    /// The next suffix to try per base, so many equal names stay linear.
    next_suffix: HashMap<String, usize>,
}

impl Ids {
    /// `prefix-slug(name)`, with `-2`, `-3`, … appended when already taken.
    pub(crate) fn unique(&mut self, prefix: &str, name: &str) -> String {
        let base = format!("{prefix}-{}", slug(name));
        if self.used.insert(base.clone()) {
            return base;
        }
        let mut n = self.next_suffix.get(&base).copied().unwrap_or(2);
        loop {
            let candidate = format!("{base}-{n}");
            n += 1;
            if self.used.insert(candidate.clone()) {
                self.next_suffix.insert(base, n);
                return candidate;
            }
        }
    }
}

/// ASCII letters, digits, `_` and `.` kept; every other run becomes one `-`.
pub(crate) fn slug(name: &str) -> String {
    let mut out = String::with_capacity(name.len().min(80));
    let mut dash = false;
    for c in name.chars() {
        if out.len() >= 80 {
            break;
        }
        if c.is_ascii_alphanumeric() || c == '_' || c == '.' {
            out.push(c);
            dash = false;
        } else if !dash && !out.is_empty() {
            out.push('-');
            dash = true;
        }
    }
    while out.ends_with('-') {
        out.pop();
    }
    if out.is_empty() {
        out.push('x');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn openapi_operations_carry_the_anchors_of_the_structured_view() {
        let definition = "openapi: 3.0.0\ninfo: {title: Pets, version: '1'}\npaths:\n  /pets:\n    get:\n      operationId: listPets\n      summary: List all pets\n    post:\n      summary: Create a pet\ncomponents:\n  schemas:\n    listPets: {type: object}\n";
        let operations = openapi_operations(definition);
        assert_eq!(operations.len(), 2);
        assert_eq!(operations[0].method, "GET");
        assert_eq!(operations[0].path, "/pets");
        assert_eq!(operations[0].summary.as_deref(), Some("List all pets"));
        let html = render_api_definition("openapi", definition).html;
        for operation in &operations {
            assert!(
                html.contains(&format!("id=\"{}\"", operation.anchor)),
                "{} not in the page",
                operation.anchor
            );
        }
        assert!(openapi_operations("asyncapi: 2.6.0\nchannels: {}\n").is_empty());
        assert!(openapi_operations("{ not json").is_empty());
    }

    #[test]
    fn slugs_and_unique_ids() {
        assert_eq!(slug("GET /pets/{petId}"), "GET-pets-petId");
        assert_eq!(slug("<script>"), "script");
        assert_eq!(slug("ünïcode"), "n-code");
        assert_eq!(slug("!!!"), "x");
        let mut ids = Ids::default();
        assert_eq!(ids.unique("op", "list"), "op-list");
        assert_eq!(ids.unique("op", "list"), "op-list-2");
        assert_eq!(ids.unique("op", "list"), "op-list-3");
    }

    #[test]
    fn descriptions_keep_paragraphs_and_line_breaks_escaped() {
        let mut html = Html::new(1024);
        html.description(
            "d",
            "First <b>line</b>\nsecond & \"third\"\n\n\nNew paragraph.\n",
        );
        assert_eq!(
            html.finish(),
            "<div class=\"d\"><p>First &lt;b&gt;line&lt;/b&gt;<br>second &amp; &quot;third&quot;</p><p>New paragraph.</p></div>"
        );
    }

    #[test]
    fn warnings_are_deduplicated_and_capped() {
        let mut warnings = Warnings::default();
        for i in 0..100 {
            warnings.push(format!("w{}", i % 60));
        }
        let list = warnings.finish();
        assert_eq!(list.len(), MAX_WARNINGS + 1);
        assert_eq!(
            list.last().map(String::as_str),
            Some("20 more warnings not shown.")
        );
    }

    #[test]
    fn yaml_reads_as_yaml_1_2_and_integer_keys_become_strings() {
        let mut warnings = Warnings::default();
        let doc = parse_document(
            "a: on\nresponses:\n  200: {description: ok}\n",
            &mut warnings,
        );
        let doc = doc.unwrap_or_default();
        assert_eq!(doc["a"], Value::String("on".into()));
        assert_eq!(
            doc["responses"]["200"]["description"],
            Value::String("ok".into())
        );
        assert!(warnings.finish().is_empty());
    }

    #[test]
    fn duplicate_keys_are_read_with_a_warning() {
        let mut warnings = Warnings::default();
        let doc = parse_document("a: 1\na: 2\n", &mut warnings).unwrap_or_default();
        assert_eq!(doc["a"], Value::from(2));
        let list = warnings.finish();
        assert_eq!(list.len(), 1, "{list:?}");
        assert!(list[0].contains("last value is used"), "{list:?}");
    }
}
