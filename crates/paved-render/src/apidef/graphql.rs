//! GraphQL schema language (SDL) read by a small tolerant reader into types, fields and
//! arguments, rendered as a type list: root types first, then object types, interfaces,
//! enums, inputs, scalars, unions and directives.
//!
//! The reader accepts what the type system part of the GraphQL grammar allows and steps over
//! what it does not understand (reporting where), so a schema with a typo still shows.

use std::collections::HashMap;

use super::{DefinitionFormat, DefinitionSummary, Html, Ids, Warnings, truncate_chars};
use crate::highlight::{Token, TokenKind, graphql_tokens};

/// Parse problems reported before the rest are only counted.
const MAX_PARSE_WARNINGS: usize = 10;
/// `[[[…]]]` nesting accepted in a type reference.
const MAX_LIST_NESTING: usize = 16;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Object,
    Interface,
    Union,
    Enum,
    Input,
    Scalar,
}

impl Kind {
    fn keyword(self) -> &'static str {
        match self {
            Kind::Object => "type",
            Kind::Interface => "interface",
            Kind::Union => "union",
            Kind::Enum => "enum",
            Kind::Input => "input",
            Kind::Scalar => "scalar",
        }
    }
}

#[derive(Debug)]
struct TypeDef<'s> {
    kind: Kind,
    name: &'s str,
    description: Option<String>,
    implements: Vec<&'s str>,
    directives: Vec<String>,
    fields: Vec<Field<'s>>,
    values: Vec<EnumValue<'s>>,
    members: Vec<&'s str>,
}

#[derive(Debug)]
struct Field<'s> {
    name: &'s str,
    description: Option<String>,
    args: Vec<Arg<'s>>,
    ty: String,
    directives: Vec<String>,
}

#[derive(Debug)]
struct Arg<'s> {
    name: &'s str,
    description: Option<String>,
    ty: String,
    default: Option<String>,
    directives: Vec<String>,
}

#[derive(Debug)]
struct EnumValue<'s> {
    name: &'s str,
    description: Option<String>,
    directives: Vec<String>,
}

#[derive(Debug)]
struct DirectiveDef<'s> {
    name: &'s str,
    description: Option<String>,
    args: Vec<Arg<'s>>,
    locations: Vec<&'s str>,
}

#[derive(Debug, Default)]
struct Document<'s> {
    description: Option<String>,
    /// Root operation type names: query, mutation, subscription.
    roots: [Option<&'s str>; 3],
    types: Vec<TypeDef<'s>>,
    directives: Vec<DirectiveDef<'s>>,
}

struct Reader<'s> {
    src: &'s str,
    /// Significant tokens only (no whitespace, comments or commas).
    tokens: Vec<Token>,
    pos: usize,
    problems: Vec<String>,
    problem_count: usize,
}

impl<'s> Reader<'s> {
    fn new(src: &'s str) -> Self {
        let tokens = graphql_tokens(src)
            .into_iter()
            .filter(|t| !(t.is_trivia() || t.kind == TokenKind::Punct && t.text(src) == ","))
            .collect();
        Reader {
            src,
            tokens,
            pos: 0,
            problems: Vec::new(),
            problem_count: 0,
        }
    }

    fn peek(&self) -> Option<&'s str> {
        let src = self.src;
        self.tokens.get(self.pos).map(|t| t.text(src))
    }

    fn peek_kind(&self) -> Option<TokenKind> {
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

    fn problem(&mut self, what: &str) {
        self.problem_count += 1;
        if self.problems.len() >= MAX_PARSE_WARNINGS {
            return;
        }
        let (line, found) = match self.tokens.get(self.pos) {
            Some(token) => (
                self.src[..token.start].matches('\n').count() + 1,
                format!("`{}`", truncate_chars(token.text(self.src), 40)),
            ),
            None => (self.src.matches('\n').count() + 1, "the end".to_owned()),
        };
        self.problems.push(format!(
            "GraphQL line {line}: expected {what}, found {found}; skipped."
        ));
    }

    /// A description string before a definition, field, argument or enum value.
    fn description(&mut self) -> Option<String> {
        let token = *self.tokens.get(self.pos)?;
        let text = token.text(self.src);
        let decoded = match token.kind {
            TokenKind::BlockString => block_string_value(text),
            TokenKind::String => string_value(text),
            _ => return None,
        };
        self.pos += 1;
        Some(decoded)
    }

    /// Skips a bracketed group starting at the current `(`, `[` or `{`.
    fn skip_group(&mut self) {
        let mut depth = 0usize;
        while let Some(text) = self.advance() {
            match text {
                "(" | "[" | "{" => depth += 1,
                ")" | "]" | "}" => {
                    depth = depth.saturating_sub(1);
                    if depth == 0 {
                        return;
                    }
                }
                _ => {}
            }
            if depth == 0 {
                return;
            }
        }
    }

    /// Source text of a value (`10`, `RELEVANCE`, `[A, B]`, `{a: 1}`), whitespace collapsed.
    fn value(&mut self) -> Option<String> {
        let start = self.tokens.get(self.pos)?.start;
        match self.peek()? {
            "[" | "{" => self.skip_group(),
            "$" => {
                self.pos += 1;
                self.name();
            }
            _ => {
                self.pos += 1;
            }
        }
        let end = self
            .tokens
            .get(self.pos.saturating_sub(1))
            .map_or(start, |t| t.end);
        Some(collapse_whitespace(&self.src[start..end.max(start)], 200))
    }

    /// `@name(args)` directives, as their collapsed source text.
    fn directives(&mut self) -> Vec<String> {
        let mut directives = Vec::new();
        while self.peek() == Some("@") {
            let Some(start) = self.tokens.get(self.pos).map(|t| t.start) else {
                break;
            };
            self.pos += 1;
            if self.name().is_none() {
                self.problem("a directive name");
                break;
            }
            if self.peek() == Some("(") {
                self.skip_group();
            }
            let end = self.tokens.get(self.pos - 1).map_or(start, |t| t.end);
            directives.push(collapse_whitespace(&self.src[start..end.max(start)], 200));
        }
        directives
    }

    /// `Name`, `[Name!]!` and deeper lists, without whitespace.
    fn type_ref(&mut self) -> Option<String> {
        let mut text = String::new();
        let mut open = 0;
        while self.eat("[") {
            text.push('[');
            open += 1;
            if open > MAX_LIST_NESTING {
                self.problem("a type (lists nest too deeply)");
                return None;
            }
        }
        let Some(name) = self.name() else {
            self.problem("a type name");
            return None;
        };
        text.push_str(name);
        if self.eat("!") {
            text.push('!');
        }
        while open > 0 {
            if !self.eat("]") {
                self.problem("`]`");
                return Some(text);
            }
            text.push(']');
            open -= 1;
            if self.eat("!") {
                text.push('!');
            }
        }
        Some(text)
    }

    /// `(name: Type = default @dir, …)` argument definitions, if present.
    fn arguments(&mut self) -> Vec<Arg<'s>> {
        let mut args = Vec::new();
        if !self.eat("(") {
            return args;
        }
        loop {
            if self.eat(")") {
                break;
            }
            let before = self.pos;
            let description = self.description();
            let Some(name) = self.name() else {
                self.problem("an argument name");
                self.recover_to(&[")"]);
                self.eat(")");
                break;
            };
            if !self.eat(":") {
                self.problem("`:` after the argument name");
            }
            let ty = self.type_ref().unwrap_or_default();
            let default = if self.eat("=") { self.value() } else { None };
            let directives = self.directives();
            args.push(Arg {
                name,
                description,
                ty,
                default,
                directives,
            });
            if self.pos == before {
                self.pos += 1;
            }
            if self.peek().is_none() {
                self.problem("`)`");
                break;
            }
        }
        args
    }

    /// Advances to (not past) one of `stops` at this nesting level, or the end.
    fn recover_to(&mut self, stops: &[&str]) {
        while let Some(text) = self.peek() {
            if stops.contains(&text) {
                return;
            }
            if matches!(text, "(" | "[" | "{") {
                self.skip_group();
            } else {
                self.pos += 1;
            }
        }
    }

    fn fields(&mut self, with_args: bool) -> Vec<Field<'s>> {
        let mut fields = Vec::new();
        if !self.eat("{") {
            return fields;
        }
        loop {
            if self.eat("}") {
                break;
            }
            if self.peek().is_none() {
                self.problem("`}`");
                break;
            }
            let description = self.description();
            let Some(name) = self.name() else {
                self.problem("a field name");
                self.pos += 1;
                continue;
            };
            let args = if with_args {
                self.arguments()
            } else {
                Vec::new()
            };
            if !self.eat(":") {
                self.problem("`:` after the field name");
                continue;
            }
            let ty = self.type_ref().unwrap_or_default();
            // Input fields may have defaults.
            if self.eat("=") {
                self.value();
            }
            let directives = self.directives();
            fields.push(Field {
                name,
                description,
                args,
                ty,
                directives,
            });
        }
        fields
    }

    fn enum_values(&mut self) -> Vec<EnumValue<'s>> {
        let mut values = Vec::new();
        if !self.eat("{") {
            return values;
        }
        loop {
            if self.eat("}") {
                break;
            }
            if self.peek().is_none() {
                self.problem("`}`");
                break;
            }
            let description = self.description();
            let Some(name) = self.name() else {
                self.problem("an enum value");
                self.pos += 1;
                continue;
            };
            let directives = self.directives();
            values.push(EnumValue {
                name,
                description,
                directives,
            });
        }
        values
    }

    fn document(&mut self) -> Document<'s> {
        let mut doc = Document::default();
        let mut index: HashMap<&'s str, usize> = HashMap::new();
        while self.peek().is_some() {
            let before = self.pos;
            let description = self.description();
            let extend = self.eat("extend");
            let Some(keyword) = self.peek() else {
                // A trailing description with nothing after it describes the schema.
                if doc.description.is_none() {
                    doc.description = description;
                }
                break;
            };
            match keyword {
                "schema" => {
                    self.pos += 1;
                    self.directives();
                    if self.eat("{") {
                        while let Some(text) = self.peek() {
                            if text == "}" {
                                self.pos += 1;
                                break;
                            }
                            let slot = match text {
                                "query" => Some(0),
                                "mutation" => Some(1),
                                "subscription" => Some(2),
                                _ => None,
                            };
                            self.pos += 1;
                            if self.eat(":")
                                && let (Some(slot), Some(name)) = (slot, self.name())
                            {
                                doc.roots[slot] = Some(name);
                            }
                        }
                    }
                    if doc.description.is_none() {
                        doc.description = description;
                    }
                }
                "type" | "interface" | "input" | "enum" | "union" | "scalar" => {
                    self.pos += 1;
                    let kind = match keyword {
                        "type" => Kind::Object,
                        "interface" => Kind::Interface,
                        "input" => Kind::Input,
                        "enum" => Kind::Enum,
                        "union" => Kind::Union,
                        _ => Kind::Scalar,
                    };
                    let Some(name) = self.name() else {
                        self.problem("a type name");
                        continue;
                    };
                    let mut implements = Vec::new();
                    if self.eat("implements") {
                        self.eat("&");
                        while let Some(interface) = self.name() {
                            implements.push(interface);
                            if !self.eat("&") {
                                break;
                            }
                        }
                    }
                    let directives = self.directives();
                    let mut definition = TypeDef {
                        kind,
                        name,
                        description,
                        implements,
                        directives,
                        fields: Vec::new(),
                        values: Vec::new(),
                        members: Vec::new(),
                    };
                    match kind {
                        Kind::Object | Kind::Interface => definition.fields = self.fields(true),
                        Kind::Input => definition.fields = self.fields(false),
                        Kind::Enum => definition.values = self.enum_values(),
                        Kind::Union => {
                            if self.eat("=") {
                                self.eat("|");
                                while let Some(member) = self.name() {
                                    definition.members.push(member);
                                    if !self.eat("|") {
                                        break;
                                    }
                                }
                            }
                        }
                        Kind::Scalar => {}
                    }
                    match index.get(name) {
                        Some(&existing) if extend || doc.types[existing].kind == kind => {
                            let target = &mut doc.types[existing];
                            target.implements.extend(definition.implements);
                            target.directives.extend(definition.directives);
                            target.fields.extend(definition.fields);
                            target.values.extend(definition.values);
                            target.members.extend(definition.members);
                            if target.description.is_none() {
                                target.description = definition.description;
                            }
                        }
                        _ => {
                            index.insert(name, doc.types.len());
                            doc.types.push(definition);
                        }
                    }
                }
                "directive" => {
                    self.pos += 1;
                    self.eat("@");
                    let Some(name) = self.name() else {
                        self.problem("a directive name");
                        continue;
                    };
                    let args = self.arguments();
                    self.eat("repeatable");
                    let mut locations = Vec::new();
                    if self.eat("on") {
                        self.eat("|");
                        while let Some(location) = self.name() {
                            locations.push(location);
                            if !self.eat("|") {
                                break;
                            }
                        }
                    }
                    doc.directives.push(DirectiveDef {
                        name,
                        description,
                        args,
                        locations,
                    });
                }
                "query" | "mutation" | "subscription" | "fragment" | "{" => {
                    // Executable definitions have no place in a schema; step over them.
                    self.problem("a type definition (operations and fragments are not shown)");
                    self.recover_to(&["{"]);
                    self.skip_group();
                }
                _ => {
                    self.problem("a definition");
                    self.pos += 1;
                    // Resume at the next definition keyword outside any group.
                    while let Some(text) = self.peek() {
                        if matches!(
                            text,
                            "type"
                                | "interface"
                                | "input"
                                | "enum"
                                | "union"
                                | "scalar"
                                | "schema"
                                | "directive"
                                | "extend"
                        ) || self.peek_kind().is_some_and(|k| {
                            matches!(k, TokenKind::String | TokenKind::BlockString)
                        }) {
                            break;
                        }
                        if matches!(text, "(" | "[" | "{") {
                            self.skip_group();
                        } else {
                            self.pos += 1;
                        }
                    }
                }
            }
            if self.pos == before {
                self.pos += 1;
            }
        }
        doc
    }
}

fn collapse_whitespace(text: &str, max: usize) -> String {
    truncate_chars(&text.split_whitespace().collect::<Vec<_>>().join(" "), max)
}

/// The value of a `"…"` string: quotes removed, common escapes decoded.
fn string_value(token: &str) -> String {
    let inner = token.strip_prefix('"').unwrap_or(token);
    let inner = inner.strip_suffix('"').unwrap_or(inner);
    let mut out = String::with_capacity(inner.len());
    let mut chars = inner.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('n') => out.push('\n'),
            Some('t') => out.push('\t'),
            Some('r') => out.push('\r'),
            Some('b' | 'f') => {}
            Some('u') => {
                let hex: String = chars.by_ref().take(4).collect();
                if let Some(decoded) = u32::from_str_radix(&hex, 16).ok().and_then(char::from_u32) {
                    out.push(decoded);
                }
            }
            Some(other) => out.push(other),
            None => {}
        }
    }
    out
}

/// The value of a `"""…"""` block string: common indentation and blank edge lines removed,
/// as the GraphQL specification's BlockStringValue does.
fn block_string_value(token: &str) -> String {
    let inner = token.strip_prefix("\"\"\"").unwrap_or(token);
    let inner = inner.strip_suffix("\"\"\"").unwrap_or(inner);
    let raw = inner.replace("\\\"\"\"", "\"\"\"").replace("\r\n", "\n");
    let lines: Vec<&str> = raw.split('\n').collect();
    let common = lines
        .iter()
        .skip(1)
        .filter(|line| !line.trim().is_empty())
        .map(|line| line.len() - line.trim_start_matches([' ', '\t']).len())
        .min()
        .unwrap_or(0);
    let mut out: Vec<&str> = lines
        .iter()
        .enumerate()
        .map(|(i, line)| {
            if i == 0 {
                line
            } else {
                line.get(common..).unwrap_or("")
            }
        })
        .collect();
    while out.first().is_some_and(|l| l.trim().is_empty()) {
        out.remove(0);
    }
    while out.last().is_some_and(|l| l.trim().is_empty()) {
        out.pop();
    }
    out.join("\n")
}

const GROUPS: [(Kind, &str); 6] = [
    (Kind::Object, "Object types"),
    (Kind::Interface, "Interfaces"),
    (Kind::Enum, "Enums"),
    (Kind::Input, "Input types"),
    (Kind::Scalar, "Scalars"),
    (Kind::Union, "Unions"),
];

pub(super) fn render(
    source: &str,
    out: &mut Html,
    summary: &mut DefinitionSummary,
    warnings: &mut Warnings,
) {
    summary.format = DefinitionFormat::GraphQl;
    let mut reader = Reader::new(source);
    let doc = reader.document();
    for problem in reader.problems.drain(..) {
        warnings.push(problem);
    }
    if reader.problem_count > MAX_PARSE_WARNINGS {
        warnings.push(format!(
            "{} more GraphQL problems were skipped.",
            reader.problem_count - MAX_PARSE_WARNINGS
        ));
    }

    // Root types: from the schema definition, else the conventional names.
    let mut roots: Vec<&str> = Vec::new();
    for (slot, conventional) in ["Query", "Mutation", "Subscription"].iter().enumerate() {
        let name = doc.roots[slot].unwrap_or(conventional);
        if doc
            .types
            .iter()
            .any(|t| t.name == name && t.kind == Kind::Object)
            && !roots.contains(&name)
        {
            roots.push(name);
        }
    }
    summary.types = doc.types.len();
    summary.operations = doc
        .types
        .iter()
        .filter(|t| roots.contains(&t.name))
        .map(|t| t.fields.len())
        .sum();

    let mut ids = Ids::default();
    let type_ids: HashMap<&str, String> = doc
        .types
        .iter()
        .map(|t| (t.name, ids.unique("type", t.name)))
        .collect();

    out.raw("<header class=\"apidef-header\"><p class=\"apidef-meta\"><span class=\"apidef-spec\">GraphQL schema</span></p>");
    if let Some(description) = &doc.description {
        out.description("apidef-description", description);
    }
    out.raw("</header>");
    if doc.types.is_empty() {
        out.note("No type definitions were found.");
    }

    let total = doc.types.len();
    let mut shown = 0usize;
    let mut stopped = false;
    let root_types: Vec<&TypeDef> = roots
        .iter()
        .filter_map(|name| doc.types.iter().find(|t| t.name == *name))
        .collect();
    let mut groups: Vec<(&str, Vec<&TypeDef>)> = vec![("Root types", root_types)];
    for (kind, title) in GROUPS {
        let members: Vec<&TypeDef> = doc
            .types
            .iter()
            .filter(|t| t.kind == kind && !roots.contains(&t.name))
            .collect();
        groups.push((title, members));
    }
    for (title, members) in groups {
        if members.is_empty() || stopped {
            continue;
        }
        out.raw("<section class=\"apidef-group gql-group\">");
        out.element("h3", "apidef-group-title", title);
        for definition in members {
            if out.full() {
                stopped = true;
                break;
            }
            let open = roots.contains(&definition.name);
            render_type(out, definition, &type_ids, open);
            shown += 1;
        }
        out.raw("</section>");
    }
    if stopped {
        warnings.push(format!(
            "The structured view shows {shown} of {total} types (size limit); the raw view has them all."
        ));
    }
    if !doc.directives.is_empty() && !stopped {
        out.raw("<section class=\"apidef-group gql-group\"><h3 class=\"apidef-group-title\">Directives</h3><ul class=\"gql-directives\">");
        for directive in &doc.directives {
            out.raw("<li class=\"gql-directive-def\" id=\"");
            out.text(&ids.unique("directive", directive.name));
            out.raw("\"><div class=\"gql-field-line\"><code class=\"gql-directive\">@");
            out.text(directive.name);
            out.raw("</code>");
            render_args(out, &directive.args, &type_ids);
            if !directive.locations.is_empty() {
                out.raw(" <span class=\"gql-locations\">on ");
                out.text(&directive.locations.join(" | "));
                out.raw("</span>");
            }
            out.raw("</div>");
            if let Some(description) = &directive.description {
                out.description("gql-description", description);
            }
            out.raw("</li>");
        }
        out.raw("</ul></section>");
    }
}

fn render_type(out: &mut Html, definition: &TypeDef, type_ids: &HashMap<&str, String>, open: bool) {
    out.raw("<details class=\"gql-type gql-type-");
    out.raw(definition.kind.keyword());
    out.raw("\" id=\"");
    out.text(type_ids.get(definition.name).map_or("", String::as_str));
    out.raw(if open { "\" open>" } else { "\">" });
    out.raw("<summary><span class=\"gql-kind\">");
    out.raw(definition.kind.keyword());
    out.raw("</span> <code class=\"gql-type-name\">");
    out.text(definition.name);
    out.raw("</code>");
    if !definition.implements.is_empty() {
        out.raw(" <span class=\"gql-implements\">implements ");
        for (i, interface) in definition.implements.iter().enumerate() {
            if i > 0 {
                out.text(" & ");
            }
            type_ref(out, interface, type_ids);
        }
        out.raw("</span>");
    }
    directive_list(out, &definition.directives);
    let count = match definition.kind {
        Kind::Enum => Some((definition.values.len(), "value", "values")),
        Kind::Union => Some((definition.members.len(), "member", "members")),
        Kind::Scalar => None,
        _ => Some((definition.fields.len(), "field", "fields")),
    };
    if let Some((count, one, many)) = count {
        out.raw(" <span class=\"gql-count\">");
        out.text(&format!("{count} {}", if count == 1 { one } else { many }));
        out.raw("</span>");
    }
    out.raw("</summary><div class=\"gql-type-body\">");
    if let Some(description) = &definition.description {
        out.description("gql-description", description);
    }
    if !definition.fields.is_empty() {
        out.raw("<ul class=\"gql-fields\">");
        for field in &definition.fields {
            out.raw("<li class=\"gql-field\"><div class=\"gql-field-line\"><code class=\"gql-field-name\">");
            out.text(field.name);
            out.raw("</code>");
            render_args(out, &field.args, type_ids);
            out.raw(": ");
            type_ref(out, &field.ty, type_ids);
            directive_list(out, &field.directives);
            out.raw("</div>");
            if let Some(description) = &field.description {
                out.description("gql-description", description);
            }
            let described: Vec<&Arg> = field
                .args
                .iter()
                .filter(|a| a.description.is_some())
                .collect();
            if !described.is_empty() {
                out.raw("<ul class=\"gql-arg-descriptions\">");
                for arg in described {
                    out.raw("<li><code class=\"gql-arg-name\">");
                    out.text(arg.name);
                    out.raw("</code>");
                    if let Some(description) = &arg.description {
                        out.description("gql-description", description);
                    }
                    out.raw("</li>");
                }
                out.raw("</ul>");
            }
            out.raw("</li>");
        }
        out.raw("</ul>");
    }
    if !definition.values.is_empty() {
        out.raw("<ul class=\"gql-values\">");
        for value in &definition.values {
            out.raw("<li class=\"gql-value\"><code class=\"gql-value-name\">");
            out.text(value.name);
            out.raw("</code>");
            directive_list(out, &value.directives);
            if let Some(description) = &value.description {
                out.description("gql-description", description);
            }
            out.raw("</li>");
        }
        out.raw("</ul>");
    }
    if !definition.members.is_empty() {
        out.raw("<p class=\"gql-members\">");
        for (i, member) in definition.members.iter().enumerate() {
            if i > 0 {
                out.text(" | ");
            }
            type_ref(out, member, type_ids);
        }
        out.raw("</p>");
    }
    out.raw("</div></details>");
}

fn directive_list(out: &mut Html, directives: &[String]) {
    for directive in directives {
        out.raw(" ");
        if directive.starts_with("@deprecated") {
            out.raw("<span class=\"deprecated\">deprecated</span> ");
        }
        out.element("code", "gql-directive", directive);
    }
}

fn render_args(out: &mut Html, args: &[Arg], type_ids: &HashMap<&str, String>) {
    if args.is_empty() {
        return;
    }
    out.raw("<span class=\"gql-args\">(");
    for (i, arg) in args.iter().enumerate() {
        if i > 0 {
            out.raw(", ");
        }
        out.raw("<span class=\"gql-arg\"><span class=\"gql-arg-name\">");
        out.text(arg.name);
        out.raw("</span>: ");
        type_ref(out, &arg.ty, type_ids);
        if let Some(default) = &arg.default {
            out.raw(" = ");
            out.element("code", "gql-default", default);
        }
        directive_list(out, &arg.directives);
        out.raw("</span>");
    }
    out.raw(")</span>");
}

/// A type reference such as `[Product!]!`, with the named type linked when it is defined here.
fn type_ref(out: &mut Html, ty: &str, type_ids: &HashMap<&str, String>) {
    out.raw("<span class=\"gql-type-ref\">");
    let name_start = ty.find(|c: char| c != '[').unwrap_or(ty.len());
    let name_end = ty[name_start..]
        .find(['!', ']'])
        .map_or(ty.len(), |i| name_start + i);
    out.text(&ty[..name_start]);
    let name = &ty[name_start..name_end];
    match type_ids.get(name) {
        Some(id) => {
            out.raw("<a href=\"#");
            out.text(id);
            out.raw("\">");
            out.text(name);
            out.raw("</a>");
        }
        None => out.text(name),
    }
    out.text(&ty[name_end..]);
    out.raw("</span>");
}

#[cfg(test)]
mod tests {
    use super::*;
    use expect_test::expect;

    fn read(source: &str) -> (Document<'_>, Vec<String>) {
        let mut reader = Reader::new(source);
        let doc = reader.document();
        (doc, reader.problems)
    }

    #[test]
    fn reads_types_fields_arguments_and_descriptions() {
        let source = r#"
"""
  The schema.

  Second paragraph.
"""
schema { query: Root mutation: Change }
"A thing"
type Root implements Node & Other @key(fields: "id") {
  "The id" id: ID!
  things(first: Int = 10, "Filter by kind" kind: [Kind!] = [A, B]): [Thing]! @deprecated(reason: "use all")
}
extend type Root { extra: String }
enum Kind { A "second" B @deprecated }
union Any = | Root | Thing
input In { a: Int = 1, b: [[String!]!] }
scalar Date @specifiedBy(url: "x")
directive @key(fields: String!) repeatable on OBJECT | INTERFACE
"#;
        let (doc, problems) = read(source);
        assert!(problems.is_empty(), "{problems:?}");
        assert_eq!(
            doc.description.as_deref(),
            Some("The schema.\n\nSecond paragraph.")
        );
        assert_eq!(doc.roots, [Some("Root"), Some("Change"), None]);
        let names: Vec<&str> = doc.types.iter().map(|t| t.name).collect();
        assert_eq!(names, ["Root", "Kind", "Any", "In", "Date"]);
        let root = &doc.types[0];
        assert_eq!(root.implements, ["Node", "Other"]);
        assert_eq!(root.directives, ["@key(fields: \"id\")"]);
        assert_eq!(root.fields.len(), 3, "extend merges fields");
        assert_eq!(root.fields[0].description.as_deref(), Some("The id"));
        let things = &root.fields[1];
        assert_eq!(things.ty, "[Thing]!");
        assert_eq!(things.args.len(), 2);
        assert_eq!(things.args[0].default.as_deref(), Some("10"));
        assert_eq!(things.args[1].ty, "[Kind!]");
        assert_eq!(things.args[1].default.as_deref(), Some("[A, B]"));
        assert_eq!(
            things.args[1].description.as_deref(),
            Some("Filter by kind")
        );
        assert_eq!(things.directives, ["@deprecated(reason: \"use all\")"]);
        assert_eq!(doc.types[1].values.len(), 2);
        assert_eq!(
            doc.types[1].values[1].description.as_deref(),
            Some("second")
        );
        assert_eq!(doc.types[2].members, ["Root", "Thing"]);
        assert_eq!(doc.types[3].fields[1].ty, "[[String!]!]");
        assert_eq!(doc.directives[0].locations, ["OBJECT", "INTERFACE"]);
    }

    #[test]
    fn recovers_from_garbage_and_reports_lines() {
        let (doc, problems) =
            read("type A { a: Int }\n}}} ??? 12\ntype B { b: [Int }\nquery { x }\ntype C");
        let names: Vec<&str> = doc.types.iter().map(|t| t.name).collect();
        assert_eq!(names, ["A", "B", "C"]);
        assert!(
            problems[0].starts_with("GraphQL line 2: expected a definition"),
            "{problems:?}"
        );
        assert!(
            problems.iter().any(|p| p.contains("line 4")),
            "{problems:?}"
        );
    }

    #[test]
    fn renders_a_small_schema() {
        let mut out = Html::new(1 << 20);
        let mut summary = DefinitionSummary::default();
        let mut warnings = Warnings::default();
        render(
            "type Query {\n  \"Find <one>\"\n  pet(id: ID!): Pet\n}\ntype Pet { name: String! tags: [Tag!]! }\nenum Tag { CUTE @deprecated(reason: \"all are\") }\n",
            &mut out,
            &mut summary,
            &mut warnings,
        );
        assert_eq!((summary.types, summary.operations), (3, 1));
        assert!(warnings.finish().is_empty());
        let html = out
            .finish()
            .replace("<details", "\n<details")
            .replace("<li", "\n<li");
        expect![[r##"
            <header class="apidef-header"><p class="apidef-meta"><span class="apidef-spec">GraphQL schema</span></p></header><section class="apidef-group gql-group"><h3 class="apidef-group-title">Root types</h3>
            <details class="gql-type gql-type-type" id="type-Query" open><summary><span class="gql-kind">type</span> <code class="gql-type-name">Query</code> <span class="gql-count">1 field</span></summary><div class="gql-type-body"><ul class="gql-fields">
            <li class="gql-field"><div class="gql-field-line"><code class="gql-field-name">pet</code><span class="gql-args">(<span class="gql-arg"><span class="gql-arg-name">id</span>: <span class="gql-type-ref">ID!</span></span>)</span>: <span class="gql-type-ref"><a href="#type-Pet">Pet</a></span></div><div class="gql-description"><p>Find &lt;one&gt;</p></div></li></ul></div></details></section><section class="apidef-group gql-group"><h3 class="apidef-group-title">Object types</h3>
            <details class="gql-type gql-type-type" id="type-Pet"><summary><span class="gql-kind">type</span> <code class="gql-type-name">Pet</code> <span class="gql-count">2 fields</span></summary><div class="gql-type-body"><ul class="gql-fields">
            <li class="gql-field"><div class="gql-field-line"><code class="gql-field-name">name</code>: <span class="gql-type-ref">String!</span></div></li>
            <li class="gql-field"><div class="gql-field-line"><code class="gql-field-name">tags</code>: <span class="gql-type-ref">[<a href="#type-Tag">Tag</a>!]!</span></div></li></ul></div></details></section><section class="apidef-group gql-group"><h3 class="apidef-group-title">Enums</h3>
            <details class="gql-type gql-type-enum" id="type-Tag"><summary><span class="gql-kind">enum</span> <code class="gql-type-name">Tag</code> <span class="gql-count">1 value</span></summary><div class="gql-type-body"><ul class="gql-values">
            <li class="gql-value"><code class="gql-value-name">CUTE</code> <span class="deprecated">deprecated</span> <code class="gql-directive">@deprecated(reason: &quot;all are&quot;)</code></li></ul></div></details></section>"##]]
        .assert_eq(&html);
    }
}
