//! Protocol Buffers files (proto2, proto3, editions) read by a tolerant token reader into
//! services, messages and enums, rendered with their comments as documentation.
//!
//! Comments directly above a declaration, and a comment on the same line after it, become
//! its description, as protoc's documentation plugins do.

use std::collections::HashMap;

use super::{DefinitionFormat, DefinitionSummary, Html, Ids, Warnings, truncate_chars};
use crate::highlight::{Token, TokenKind, protobuf_tokens};

const MAX_PARSE_WARNINGS: usize = 10;
/// Nested message depth followed; deeper bodies are skipped.
const MAX_NESTING: usize = 32;

#[derive(Debug, Default)]
struct ProtoFile {
    description: Option<String>,
    syntax: Option<String>,
    package: Option<String>,
    imports: Vec<String>,
    services: Vec<Service>,
    messages: Vec<Message>,
    enums: Vec<EnumDef>,
}

#[derive(Debug)]
struct Service {
    name: String,
    doc: String,
    rpcs: Vec<Rpc>,
}

#[derive(Debug)]
struct Rpc {
    name: String,
    doc: String,
    request: String,
    request_stream: bool,
    response: String,
    response_stream: bool,
}

#[derive(Debug)]
struct Message {
    /// Name inside the package, nested names joined by dots (`PaymentAction.Type`).
    full_name: String,
    doc: String,
    fields: Vec<Field>,
}

#[derive(Debug)]
struct Field {
    label: Option<String>,
    ty: String,
    name: String,
    number: String,
    doc: String,
    oneof: Option<String>,
    options: Option<String>,
}

#[derive(Debug)]
struct EnumDef {
    full_name: String,
    doc: String,
    values: Vec<EnumValue>,
}

#[derive(Debug)]
struct EnumValue {
    name: String,
    number: String,
    doc: String,
}

struct Reader<'s> {
    src: &'s str,
    /// Tokens without whitespace; comments kept for documentation.
    tokens: Vec<Token>,
    pos: usize,
    /// Comments met since the last declaration.
    pending: Vec<String>,
    problems: Vec<String>,
    problem_count: usize,
    file: ProtoFile,
}

/// The text of a comment without its markers.
fn comment_text(comment: &str) -> String {
    if let Some(line) = comment.strip_prefix("//") {
        let line = line.strip_prefix('/').unwrap_or(line);
        return line.strip_prefix(' ').unwrap_or(line).trim_end().to_owned();
    }
    let inner = comment.strip_prefix("/*").unwrap_or(comment);
    let inner = inner.strip_suffix("*/").unwrap_or(inner);
    inner
        .lines()
        .map(|line| {
            let line = line.trim();
            let line = line.strip_prefix('*').unwrap_or(line);
            line.strip_prefix(' ').unwrap_or(line).trim_end()
        })
        .collect::<Vec<_>>()
        .join("\n")
        .trim()
        .to_owned()
}

impl<'s> Reader<'s> {
    fn new(src: &'s str) -> Self {
        Reader {
            src,
            tokens: protobuf_tokens(src)
                .into_iter()
                .filter(|t| t.kind != TokenKind::Space)
                .collect(),
            pos: 0,
            pending: Vec::new(),
            problems: Vec::new(),
            problem_count: 0,
            file: ProtoFile::default(),
        }
    }

    /// Moves past comments, remembering them as documentation for what follows.
    fn skip_comments(&mut self) {
        while let Some(token) = self.tokens.get(self.pos) {
            if token.kind != TokenKind::Comment {
                break;
            }
            self.pending.push(comment_text(token.text(self.src)));
            self.pos += 1;
        }
    }

    fn peek(&mut self) -> Option<&'s str> {
        self.skip_comments();
        let src = self.src;
        self.tokens.get(self.pos).map(|t| t.text(src))
    }

    fn peek_kind(&mut self) -> Option<TokenKind> {
        self.skip_comments();
        self.tokens.get(self.pos).map(|t| t.kind)
    }

    fn advance(&mut self) -> Option<&'s str> {
        let text = self.peek()?;
        self.pos += 1;
        Some(text)
    }

    fn eat(&mut self, text: &str) -> bool {
        if self.peek() == Some(text) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    fn name(&mut self) -> Option<&'s str> {
        if self.peek_kind() == Some(TokenKind::Name) {
            self.advance()
        } else {
            None
        }
    }

    fn take_doc(&mut self) -> String {
        self.skip_comments();
        let doc = self.pending.join("\n");
        self.pending.clear();
        doc.trim().to_owned()
    }

    /// A comment on the same line as the token just consumed (`int32 a = 1; // note`).
    fn trailing_comment(&mut self) -> Option<String> {
        let previous = self.tokens.get(self.pos.checked_sub(1)?)?;
        let next = self.tokens.get(self.pos)?;
        if next.kind != TokenKind::Comment || self.src[previous.end..next.start].contains('\n') {
            return None;
        }
        self.pos += 1;
        Some(comment_text(next.text(self.src)))
    }

    fn problem(&mut self, what: &str) {
        self.problem_count += 1;
        if self.problems.len() >= MAX_PARSE_WARNINGS {
            return;
        }
        let at = self.peek().map(|t| truncate_chars(t, 40));
        let (line, found) = match (self.tokens.get(self.pos), at) {
            (Some(token), Some(text)) => (
                self.src[..token.start].matches('\n').count() + 1,
                format!("`{text}`"),
            ),
            _ => (self.src.matches('\n').count() + 1, "the end".to_owned()),
        };
        self.problems.push(format!(
            "proto line {line}: expected {what}, found {found}; skipped."
        ));
    }

    /// Skips a `{…}` block starting at the current `{`.
    fn skip_block(&mut self) {
        let mut depth = 0usize;
        while let Some(text) = self.advance() {
            match text {
                "{" => depth += 1,
                "}" => {
                    depth = depth.saturating_sub(1);
                    if depth == 0 {
                        return;
                    }
                }
                _ if depth == 0 => return,
                _ => {}
            }
        }
    }

    /// Skips to just past the next `;` at this level, or past a `{…}` block; stops before a
    /// `}` that closes the enclosing block.
    fn skip_statement(&mut self) {
        while let Some(text) = self.peek() {
            match text {
                ";" => {
                    self.pos += 1;
                    return;
                }
                "}" => return,
                "{" => {
                    self.skip_block();
                    self.eat(";");
                    return;
                }
                _ => self.pos += 1,
            }
        }
    }

    /// After garbage at the top level: on to the next top-level keyword, stepping over blocks.
    fn skip_to_declaration(&mut self) {
        while let Some(text) = self.peek() {
            match text {
                "syntax" | "edition" | "package" | "import" | "option" | "message" | "enum"
                | "service" | "extend" => {
                    return;
                }
                "{" => self.skip_block(),
                _ => self.pos += 1,
            }
        }
    }

    /// Source text of `[…]` field options, whitespace collapsed.
    fn bracketed(&mut self) -> Option<String> {
        let start = self.tokens.get(self.pos)?.start;
        let mut depth = 0usize;
        while let Some(text) = self.advance() {
            match text {
                "[" => depth += 1,
                "]" => {
                    depth = depth.saturating_sub(1);
                    if depth == 0 {
                        break;
                    }
                }
                ";" | "}" if depth > 0 => {
                    // Unclosed: leave the terminator for the caller.
                    self.pos -= 1;
                    break;
                }
                _ => {}
            }
        }
        let end = self
            .tokens
            .get(self.pos.saturating_sub(1))
            .map_or(start, |t| t.end)
            .max(start);
        Some(truncate_chars(
            &self.src[start..end]
                .split_whitespace()
                .collect::<Vec<_>>()
                .join(" "),
            200,
        ))
    }

    fn string_literal(&mut self) -> Option<String> {
        if self.peek_kind() == Some(TokenKind::String) {
            let text = self.advance()?;
            Some(text.trim_matches(|c| c == '"' || c == '\'').to_owned())
        } else {
            None
        }
    }

    fn file(&mut self) {
        let mut first = true;
        while self.peek().is_some() {
            let before = self.pos;
            let doc = self.take_doc();
            if first {
                first = false;
                if !doc.is_empty() {
                    self.file.description = Some(doc.clone());
                }
            }
            let Some(keyword) = self.peek() else {
                break;
            };
            match keyword {
                "syntax" | "edition" => {
                    self.pos += 1;
                    self.eat("=");
                    let value = self.string_literal();
                    self.file.syntax = value.map(|v| {
                        if keyword == "edition" {
                            format!("edition {v}")
                        } else {
                            v
                        }
                    });
                    self.skip_statement();
                }
                "package" => {
                    self.pos += 1;
                    self.file.package = self.name().map(str::to_owned);
                    self.skip_statement();
                }
                "import" => {
                    self.pos += 1;
                    if matches!(self.peek(), Some("weak" | "public")) {
                        self.pos += 1;
                    }
                    if let Some(path) = self.string_literal() {
                        self.file.imports.push(path);
                    }
                    self.skip_statement();
                }
                "message" => self.message("", doc, 0),
                "enum" => self.enum_def("", doc),
                "service" => self.service(doc),
                "option" | "extend" | ";" => self.skip_statement(),
                _ => {
                    self.problem("a declaration");
                    self.pos += 1;
                    self.skip_to_declaration();
                }
            }
            self.trailing_comment();
            if self.pos == before {
                self.pos += 1;
            }
        }
    }

    fn message(&mut self, prefix: &str, doc: String, depth: usize) {
        self.pos += 1;
        let Some(name) = self.name() else {
            self.problem("a message name");
            return self.skip_statement();
        };
        let full_name = format!("{prefix}{name}");
        if !self.eat("{") {
            self.problem("`{` after the message name");
            return self.skip_statement();
        }
        let index = self.file.messages.len();
        self.file.messages.push(Message {
            full_name: full_name.clone(),
            doc,
            fields: Vec::new(),
        });
        self.message_body(index, &full_name, depth, None);
    }

    /// Declarations up to the closing `}` (consumed). `oneof` bodies reuse this with their name.
    fn message_body(&mut self, index: usize, full_name: &str, depth: usize, oneof: Option<&str>) {
        loop {
            let before = self.pos;
            let doc = self.take_doc();
            let Some(keyword) = self.peek() else {
                self.problem("`}` closing the message");
                return;
            };
            match keyword {
                "}" => {
                    self.pos += 1;
                    return;
                }
                "message" if oneof.is_none() => {
                    if depth >= MAX_NESTING {
                        self.problem("less deeply nested messages");
                        self.skip_statement();
                    } else {
                        self.message(&format!("{full_name}."), doc, depth + 1);
                    }
                }
                "enum" if oneof.is_none() => self.enum_def(&format!("{full_name}."), doc),
                "oneof" if oneof.is_none() => {
                    self.pos += 1;
                    let name = self.name().unwrap_or("").to_owned();
                    if self.eat("{") {
                        self.message_body(index, full_name, depth, Some(&name));
                    } else {
                        self.problem("`{` after the oneof name");
                        self.skip_statement();
                    }
                }
                "option" | "reserved" | "extensions" | "extend" | ";" => self.skip_statement(),
                "group" => {
                    // proto2 groups: a nested message in field's clothing; shown as a field.
                    self.skip_statement();
                }
                _ => self.field(index, doc, oneof),
            }
            self.trailing_comment();
            if self.pos == before {
                self.pos += 1;
            }
        }
    }

    fn field(&mut self, index: usize, doc: String, oneof: Option<&str>) {
        let label = match self.peek() {
            Some(label @ ("repeated" | "optional" | "required")) => {
                self.pos += 1;
                Some(label.to_owned())
            }
            _ => None,
        };
        let ty = if self.peek() == Some("map")
            && self.tokens.get(self.pos + 1).map(|t| t.text(self.src)) == Some("<")
        {
            self.pos += 2;
            let key = self.name().unwrap_or("?");
            self.eat(",");
            let value = self.name().unwrap_or("?");
            self.eat(">");
            format!("map<{key}, {value}>")
        } else {
            match self.name() {
                Some(ty) => ty.to_owned(),
                None => {
                    self.problem("a field");
                    return self.skip_statement();
                }
            }
        };
        let Some(name) = self.name().map(str::to_owned) else {
            self.problem("a field name");
            return self.skip_statement();
        };
        let number = if self.eat("=") {
            self.advance().unwrap_or("").to_owned()
        } else {
            String::new()
        };
        let options = if self.peek() == Some("[") {
            self.bracketed()
        } else {
            None
        };
        if !self.eat(";") {
            self.problem("`;` after the field");
            self.skip_statement();
        }
        let mut doc = doc;
        if let Some(trailing) = self.trailing_comment() {
            if !doc.is_empty() {
                doc.push('\n');
            }
            doc.push_str(&trailing);
        }
        if let Some(message) = self.file.messages.get_mut(index) {
            message.fields.push(Field {
                label,
                ty,
                name,
                number,
                doc,
                oneof: oneof.map(str::to_owned),
                options,
            });
        }
    }

    fn enum_def(&mut self, prefix: &str, doc: String) {
        self.pos += 1;
        let Some(name) = self.name() else {
            self.problem("an enum name");
            return self.skip_statement();
        };
        let mut definition = EnumDef {
            full_name: format!("{prefix}{name}"),
            doc,
            values: Vec::new(),
        };
        if !self.eat("{") {
            self.problem("`{` after the enum name");
            return self.skip_statement();
        }
        loop {
            let before = self.pos;
            let doc = self.take_doc();
            let Some(text) = self.peek() else {
                self.problem("`}` closing the enum");
                break;
            };
            match text {
                "}" => {
                    self.pos += 1;
                    break;
                }
                "option" | "reserved" | ";" => self.skip_statement(),
                _ => match self.name() {
                    Some(value) => {
                        let value = value.to_owned();
                        let number = if self.eat("=") {
                            let minus = if self.eat("-") { "-" } else { "" };
                            format!("{minus}{}", self.advance().unwrap_or(""))
                        } else {
                            String::new()
                        };
                        if self.peek() == Some("[") {
                            self.bracketed();
                        }
                        if !self.eat(";") {
                            self.problem("`;` after the enum value");
                            self.skip_statement();
                        }
                        let mut doc = doc;
                        if let Some(trailing) = self.trailing_comment() {
                            if !doc.is_empty() {
                                doc.push('\n');
                            }
                            doc.push_str(&trailing);
                        }
                        definition.values.push(EnumValue {
                            name: value,
                            number,
                            doc,
                        });
                    }
                    None => {
                        self.problem("an enum value");
                        self.pos += 1;
                        self.skip_statement();
                    }
                },
            }
            if self.pos == before {
                self.pos += 1;
            }
        }
        self.file.enums.push(definition);
    }

    fn service(&mut self, doc: String) {
        self.pos += 1;
        let Some(name) = self.name().map(str::to_owned) else {
            self.problem("a service name");
            return self.skip_statement();
        };
        if !self.eat("{") {
            self.problem("`{` after the service name");
            return self.skip_statement();
        }
        let mut service = Service {
            name,
            doc,
            rpcs: Vec::new(),
        };
        loop {
            let before = self.pos;
            let doc = self.take_doc();
            let Some(text) = self.peek() else {
                self.problem("`}` closing the service");
                break;
            };
            match text {
                "}" => {
                    self.pos += 1;
                    break;
                }
                "rpc" => {
                    if let Some(rpc) = self.rpc(doc) {
                        service.rpcs.push(rpc);
                    }
                }
                "option" | ";" => self.skip_statement(),
                _ => {
                    self.problem("an rpc");
                    self.pos += 1;
                    self.skip_statement();
                }
            }
            if self.pos == before {
                self.pos += 1;
            }
        }
        self.file.services.push(service);
    }

    /// `rpc Name (stream? Request) returns (stream? Response) ;` or `{ options }`.
    fn rpc(&mut self, doc: String) -> Option<Rpc> {
        self.pos += 1;
        let Some(name) = self.name().map(str::to_owned) else {
            self.problem("an rpc name");
            self.skip_statement();
            return None;
        };
        let side = |reader: &mut Self| -> Option<(String, bool)> {
            if !reader.eat("(") {
                reader.problem("`(`");
                return None;
            }
            let stream = reader.eat("stream");
            let ty = reader.name()?.to_owned();
            reader.eat(")");
            Some((ty, stream))
        };
        let request = side(self);
        let returns = self.eat("returns");
        let response = if returns { side(self) } else { None };
        let (Some((request, request_stream)), Some((response, response_stream))) =
            (request, response)
        else {
            if !returns {
                self.problem("`returns`");
            }
            self.skip_statement();
            return None;
        };
        let mut doc = doc;
        if self.peek() == Some("{") {
            self.skip_block();
            self.eat(";");
        } else if !self.eat(";") {
            self.problem("`;` after the rpc");
            self.skip_statement();
        }
        if let Some(trailing) = self.trailing_comment() {
            if !doc.is_empty() {
                doc.push('\n');
            }
            doc.push_str(&trailing);
        }
        Some(Rpc {
            name,
            doc,
            request,
            request_stream,
            response,
            response_stream,
        })
    }
}

/// Finds the message or enum a type name means, the way protoc resolves names: innermost scope
/// first, then outwards; fully qualified names relative to this file's package.
fn resolve_type<'m>(
    ty: &str,
    scope: &str,
    package: Option<&str>,
    ids: &'m HashMap<String, String>,
) -> Option<&'m String> {
    let mut name = ty.strip_prefix('.').unwrap_or(ty);
    if let Some(package) = package
        && let Some(rest) = name.strip_prefix(package).and_then(|r| r.strip_prefix('.'))
    {
        name = rest;
    }
    let mut scope = scope;
    loop {
        let candidate = if scope.is_empty() {
            name.to_owned()
        } else {
            format!("{scope}.{name}")
        };
        if let Some(id) = ids.get(&candidate) {
            return Some(id);
        }
        if scope.is_empty() {
            return None;
        }
        scope = scope.rfind('.').map_or("", |dot| &scope[..dot]);
    }
}

pub(super) fn render(
    source: &str,
    out: &mut Html,
    summary: &mut DefinitionSummary,
    warnings: &mut Warnings,
) {
    summary.format = DefinitionFormat::Protobuf;
    let mut reader = Reader::new(source);
    reader.file();
    for problem in reader.problems.drain(..) {
        warnings.push(problem);
    }
    if reader.problem_count > MAX_PARSE_WARNINGS {
        warnings.push(format!(
            "{} more proto problems were skipped.",
            reader.problem_count - MAX_PARSE_WARNINGS
        ));
    }
    let file = reader.file;
    summary.spec_version = file.syntax.clone();
    summary.services = file.services.len();
    summary.operations = file.services.iter().map(|s| s.rpcs.len()).sum();
    summary.messages = file.messages.len();
    summary.enums = file.enums.len();

    let mut ids = Ids::default();
    let mut type_ids: HashMap<String, String> = HashMap::new();
    for message in &file.messages {
        let id = ids.unique("message", &message.full_name);
        type_ids.entry(message.full_name.clone()).or_insert(id);
    }
    for definition in &file.enums {
        let id = ids.unique("enum", &definition.full_name);
        type_ids.entry(definition.full_name.clone()).or_insert(id);
    }
    let package = file.package.as_deref();
    let link =
        |out: &mut Html, ty: &str, scope: &str| match resolve_type(ty, scope, package, &type_ids) {
            Some(id) => {
                out.raw("<a class=\"proto-type-ref\" href=\"#");
                out.text(id);
                out.raw("\">");
                out.text(ty);
                out.raw("</a>");
            }
            None => out.element("span", "proto-type-ref", ty),
        };

    out.raw("<header class=\"apidef-header\"><p class=\"apidef-meta\"><span class=\"apidef-spec\">Protocol Buffers");
    if let Some(syntax) = &file.syntax {
        out.text(" ");
        out.text(syntax);
    }
    out.raw("</span>");
    if let Some(package) = package {
        out.raw(" <span class=\"proto-package\">package ");
        out.element("code", "", package);
        out.raw("</span>");
    }
    out.raw("</p>");
    if let Some(description) = &file.description {
        out.description("apidef-description", description);
    }
    if !file.imports.is_empty() {
        out.raw("<p class=\"proto-imports\">imports");
        for import in &file.imports {
            out.raw(" ");
            out.element("code", "", import);
        }
        out.raw("</p>");
    }
    out.raw("</header>");
    if file.services.is_empty() && file.messages.is_empty() && file.enums.is_empty() {
        out.note("No services, messages or enums were found.");
    }

    let mut stopped = false;
    if !file.services.is_empty() {
        out.raw("<section class=\"apidef-group proto-services\"><h3 class=\"apidef-group-title\">Services</h3>");
        for service in &file.services {
            if out.full() {
                stopped = true;
                break;
            }
            out.raw("<section class=\"proto-service\" id=\"");
            out.text(&ids.unique("service", &service.name));
            out.raw("\"><h4 class=\"proto-service-name\"><span class=\"proto-kind\">service</span> <code>");
            out.text(&service.name);
            out.raw("</code></h4>");
            out.description("proto-description", &service.doc);
            out.raw("<ul class=\"proto-rpcs\">");
            for rpc in &service.rpcs {
                out.raw("<li class=\"proto-rpc\" id=\"");
                out.text(&ids.unique("rpc", &format!("{}.{}", service.name, rpc.name)));
                out.raw("\"><div class=\"proto-rpc-line\"><code class=\"proto-rpc-name\">");
                out.text(&rpc.name);
                out.raw("</code>(");
                if rpc.request_stream {
                    out.raw("<span class=\"proto-stream\">stream</span> ");
                }
                link(out, &rpc.request, "");
                out.raw(") <span class=\"proto-returns\">returns</span> (");
                if rpc.response_stream {
                    out.raw("<span class=\"proto-stream\">stream</span> ");
                }
                link(out, &rpc.response, "");
                out.raw(")</div>");
                out.description("proto-description", &rpc.doc);
                out.raw("</li>");
            }
            out.raw("</ul></section>");
        }
        out.raw("</section>");
    }
    if !file.messages.is_empty() && !stopped {
        out.raw("<section class=\"apidef-group proto-messages\"><h3 class=\"apidef-group-title\">Messages</h3>");
        for message in &file.messages {
            if out.full() {
                stopped = true;
                break;
            }
            out.raw("<details class=\"proto-message\" id=\"");
            out.text(type_ids.get(&message.full_name).map_or("", String::as_str));
            out.raw("\"><summary><span class=\"proto-kind\">message</span> <code class=\"proto-message-name\">");
            out.text(&message.full_name);
            out.raw("</code> <span class=\"proto-count\">");
            let count = message.fields.len();
            out.text(&format!(
                "{count} {}",
                if count == 1 { "field" } else { "fields" }
            ));
            out.raw("</span></summary>");
            out.description("proto-description", &message.doc);
            if !message.fields.is_empty() {
                out.raw("<table class=\"params proto-fields\"><thead><tr><th>Number</th><th>Field</th><th>Type</th><th>Description</th></tr></thead><tbody>");
                for field in &message.fields {
                    out.raw("<tr><td class=\"proto-field-number\">");
                    out.text(&field.number);
                    out.raw("</td><td><code class=\"param-name\">");
                    out.text(&field.name);
                    out.raw("</code>");
                    if let Some(oneof) = &field.oneof {
                        out.raw(" <span class=\"proto-oneof\">oneof ");
                        out.text(oneof);
                        out.raw("</span>");
                    }
                    out.raw("</td><td>");
                    if let Some(label) = &field.label {
                        out.element("span", "proto-label", label);
                        out.raw(" ");
                    }
                    match field
                        .ty
                        .strip_prefix("map<")
                        .and_then(|t| t.strip_suffix('>'))
                    {
                        Some(inner) => {
                            let (key, value) = inner.split_once(", ").unwrap_or((inner, ""));
                            out.text("map<");
                            link(out, key, &message.full_name);
                            out.text(", ");
                            link(out, value, &message.full_name);
                            out.text(">");
                        }
                        None => link(out, &field.ty, &message.full_name),
                    }
                    out.raw("</td><td>");
                    out.description("proto-description", &field.doc);
                    if let Some(options) = &field.options {
                        if options.contains("deprecated = true")
                            || options.contains("deprecated=true")
                        {
                            out.raw("<span class=\"deprecated\">deprecated</span> ");
                        }
                        out.element("code", "proto-options", options);
                    }
                    out.raw("</td></tr>");
                }
                out.raw("</tbody></table>");
            }
            out.raw("</details>");
        }
        out.raw("</section>");
    }
    if !file.enums.is_empty() && !stopped {
        out.raw("<section class=\"apidef-group proto-enums\"><h3 class=\"apidef-group-title\">Enums</h3>");
        for definition in &file.enums {
            if out.full() {
                stopped = true;
                break;
            }
            out.raw("<details class=\"proto-enum\" id=\"");
            out.text(
                type_ids
                    .get(&definition.full_name)
                    .map_or("", String::as_str),
            );
            out.raw("\"><summary><span class=\"proto-kind\">enum</span> <code class=\"proto-message-name\">");
            out.text(&definition.full_name);
            out.raw("</code> <span class=\"proto-count\">");
            let count = definition.values.len();
            out.text(&format!(
                "{count} {}",
                if count == 1 { "value" } else { "values" }
            ));
            out.raw("</span></summary>");
            out.description("proto-description", &definition.doc);
            out.raw("<table class=\"params proto-values\"><thead><tr><th>Number</th><th>Value</th><th>Description</th></tr></thead><tbody>");
            for value in &definition.values {
                out.raw("<tr><td class=\"proto-field-number\">");
                out.text(&value.number);
                out.raw("</td><td><code class=\"param-name\">");
                out.text(&value.name);
                out.raw("</code></td><td>");
                out.description("proto-description", &value.doc);
                out.raw("</td></tr>");
            }
            out.raw("</tbody></table></details>");
        }
        out.raw("</section>");
    }
    if stopped {
        warnings.push(
            "The structured view stops early (size limit); the raw view has the whole file."
                .to_owned(),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(source: &str) -> (ProtoFile, Vec<String>) {
        let mut reader = Reader::new(source);
        reader.file();
        (reader.file, reader.problems)
    }

    #[test]
    fn reads_services_messages_enums_and_comments() {
        let source = r#"// File header.
syntax = "proto2";
package a.b;
import public "other.proto";
option java_package = "x";
/* Block
 * comment. */
service S {
  option deprecated = true;
  // Gets.
  rpc Get (stream Req) returns (stream .a.b.Resp) { option idempotency_level = NO_SIDE_EFFECTS; }
  rpc Put(Req) returns (Resp); // trailing
}
message Req {
  required int32 id = 1 [default = 5, deprecated = true]; // the id
  map<string, Resp.Inner> by_name = 2;
  oneof pick { string a = 3; int64 b = 4; }
  reserved 10 to 20;
  message Nested { enum E { X = 0; Y = -1; } }
  extensions 100 to max;
}
message Resp { message Inner {} }
"#;
        let (file, problems) = read(source);
        assert!(problems.is_empty(), "{problems:?}");
        assert_eq!(file.description.as_deref(), Some("File header."));
        assert_eq!(file.syntax.as_deref(), Some("proto2"));
        assert_eq!(file.package.as_deref(), Some("a.b"));
        assert_eq!(file.imports, ["other.proto"]);
        let service = &file.services[0];
        assert_eq!(service.doc, "Block\ncomment.");
        assert_eq!(service.rpcs.len(), 2);
        assert_eq!(service.rpcs[0].doc, "Gets.");
        assert!(service.rpcs[0].request_stream && service.rpcs[0].response_stream);
        assert_eq!(service.rpcs[0].response, ".a.b.Resp");
        assert_eq!(service.rpcs[1].doc, "trailing");
        let names: Vec<&str> = file.messages.iter().map(|m| m.full_name.as_str()).collect();
        assert_eq!(names, ["Req", "Req.Nested", "Resp", "Resp.Inner"]);
        let req = &file.messages[0];
        assert_eq!(req.fields.len(), 4);
        assert_eq!(req.fields[0].label.as_deref(), Some("required"));
        assert_eq!(req.fields[0].doc, "the id");
        assert_eq!(
            req.fields[0].options.as_deref(),
            Some("[default = 5, deprecated = true]")
        );
        assert_eq!(req.fields[1].ty, "map<string, Resp.Inner>");
        assert_eq!(req.fields[2].oneof.as_deref(), Some("pick"));
        assert_eq!(file.enums[0].full_name, "Req.Nested.E");
        assert_eq!(file.enums[0].values[1].number, "-1");

        let mut ids = HashMap::new();
        for name in ["Req", "Req.Nested", "Req.Nested.E", "Resp", "Resp.Inner"] {
            ids.insert(name.to_owned(), format!("id-{name}"));
        }
        let found = |ty: &str, scope: &str| resolve_type(ty, scope, Some("a.b"), &ids).cloned();
        assert_eq!(found(".a.b.Resp", ""), Some("id-Resp".to_owned()));
        assert_eq!(found("Nested.E", "Req"), Some("id-Req.Nested.E".to_owned()));
        assert_eq!(found("E", "Req.Nested"), Some("id-Req.Nested.E".to_owned()));
        assert_eq!(found("Inner", "Req"), None);
        assert_eq!(found("google.protobuf.Timestamp", "Req"), None);
    }

    #[test]
    fn recovers_from_broken_declarations() {
        let (file, problems) = read(
            "message A { int32 = 1; string ok = 2; }\n}\nservice S { rpc X(A) ; rpc Y(A) returns (A); }\nenum E { V = 1 W = 2; }\nmessage",
        );
        assert_eq!(file.messages[0].fields.len(), 1, "{:?}", file.messages);
        assert_eq!(file.messages[0].fields[0].name, "ok");
        assert_eq!(file.services[0].rpcs.len(), 1);
        assert_eq!(file.services[0].rpcs[0].name, "Y");
        assert!(!problems.is_empty());
        assert!(problems[0].starts_with("proto line 1"), "{problems:?}");
    }
}
