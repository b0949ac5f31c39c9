//! Syntax highlighting of source text (YAML, JSON, GraphQL, protobuf) as escaped HTML.
//!
//! Every highlighter is a single forward scan (linear in the input), never fails and never
//! panics: text it does not understand is passed through escaped and unstyled. Output is the
//! source text with tokens wrapped in `<span class="tok-…">`; no span crosses a line break, so
//! a caller can split the result on `\n` (for line numbers) and each line stays balanced. The
//! caller wraps the whole in `<pre><code>`.
//!
//! Class vocabulary: `tok-key`, `tok-string`, `tok-number`, `tok-bool`, `tok-null`,
//! `tok-comment`, `tok-anchor`, `tok-alias`, `tok-tag`, `tok-marker`, `tok-punct`,
//! `tok-keyword`, `tok-type`, `tok-directive`, `tok-variable`.

use std::fmt;

/// The languages the highlighter knows. `Plain` is escaped text without spans.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Language {
    Yaml,
    Json,
    GraphQl,
    Protobuf,
    Plain,
}

impl Language {
    /// A short lower-case name, suitable for a `language-…` class on the `<code>` element.
    pub fn as_str(self) -> &'static str {
        match self {
            Language::Yaml => "yaml",
            Language::Json => "json",
            Language::GraphQl => "graphql",
            Language::Protobuf => "protobuf",
            Language::Plain => "plain",
        }
    }
}

impl fmt::Display for Language {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Highlights `source` as `language`, returning escaped HTML with `tok-*` spans.
pub fn highlight(language: Language, source: &str) -> String {
    match language {
        Language::Yaml => highlight_yaml(source),
        Language::Json => highlight_json(source),
        Language::GraphQl => highlight_graphql(source),
        Language::Protobuf => highlight_protobuf(source),
        Language::Plain => {
            let mut out = String::with_capacity(source.len() + source.len() / 8);
            push_escaped(&mut out, source);
            out
        }
    }
}

/// Picks the language to show an API definition in: by the API's `spec.type` first, then by
/// looking at the start of the text (a JSON OpenAPI document, an introspection result stored
/// under `graphql`, a proto file under an unknown type).
pub fn language_for(api_type: &str, source: &str) -> Language {
    let api_type = api_type.trim().to_ascii_lowercase();
    let looks_json = starts_like_json(source);
    match api_type.as_str() {
        "openapi" | "asyncapi" | "swagger" | "jsonschema" | "json-schema" => {
            if looks_json {
                Language::Json
            } else {
                Language::Yaml
            }
        }
        "graphql" => {
            if looks_json {
                Language::Json
            } else {
                Language::GraphQl
            }
        }
        "grpc" | "proto" | "protobuf" => Language::Protobuf,
        _ => sniff_language(source),
    }
}

fn starts_like_json(source: &str) -> bool {
    matches!(
        source
            .trim_start_matches('\u{feff}')
            .trim_start()
            .as_bytes()
            .first(),
        Some(b'{' | b'[')
    )
}

/// Guesses a language from the first lines only, so that sniffing stays cheap on big input.
fn sniff_language(source: &str) -> Language {
    if starts_like_json(source) {
        return Language::Json;
    }
    let mut yaml_votes = 0usize;
    let mut considered = 0usize;
    for line in source.lines().take(80) {
        let trimmed = line.trim();
        if trimmed.is_empty() {
            continue;
        }
        considered += 1;
        if trimmed.starts_with("syntax =")
            || trimmed.starts_with("syntax=")
            || (trimmed.starts_with("package ") && trimmed.ends_with(';'))
            || trimmed.starts_with("service ") && trimmed.ends_with('{')
            || trimmed.starts_with("rpc ")
        {
            return Language::Protobuf;
        }
        if trimmed.starts_with("schema {")
            || trimmed.starts_with("type Query")
            || trimmed.starts_with("extend type ")
            || (trimmed.starts_with("type ") || trimmed.starts_with("input "))
                && trimmed.ends_with('{')
                && !trimmed.contains('=')
        {
            return Language::GraphQl;
        }
        if line.starts_with("---") || trimmed.starts_with("- ") || looks_like_yaml_key(trimmed) {
            yaml_votes += 1;
        }
    }
    if considered > 0 && yaml_votes * 2 >= considered {
        Language::Yaml
    } else {
        Language::Plain
    }
}

fn looks_like_yaml_key(line: &str) -> bool {
    if line.starts_with('#') {
        return true;
    }
    let Some(colon) = line.find(':') else {
        return false;
    };
    let key = &line[..colon];
    let after = &line[colon + 1..];
    !key.is_empty()
        && (after.is_empty() || after.starts_with(' '))
        && key
            .chars()
            .all(|c| c.is_alphanumeric() || matches!(c, '_' | '-' | '.' | '$' | '"' | '\'' | '/'))
}

/// Appends `text` to `out` with the five HTML-significant characters escaped.
pub(crate) fn push_escaped(out: &mut String, text: &str) {
    let bytes = text.as_bytes();
    let mut last = 0;
    for (i, &b) in bytes.iter().enumerate() {
        let replacement = match b {
            b'&' => "&amp;",
            b'<' => "&lt;",
            b'>' => "&gt;",
            b'"' => "&quot;",
            b'\'' => "&#39;",
            _ => continue,
        };
        // `i` sits on an ASCII byte, so both slices end on character boundaries.
        out.push_str(&text[last..i]);
        out.push_str(replacement);
        last = i + 1;
    }
    out.push_str(&text[last..]);
}

/// Writes tokens; splits each span at line breaks so no span crosses a line.
struct Emitter {
    out: String,
}

impl Emitter {
    fn new(capacity_hint: usize) -> Self {
        Emitter {
            out: String::with_capacity(capacity_hint + capacity_hint / 2),
        }
    }

    fn plain(&mut self, text: &str) {
        push_escaped(&mut self.out, text);
    }

    fn span(&mut self, class: &str, text: &str) {
        let mut first = true;
        for piece in text.split('\n') {
            if !first {
                self.out.push('\n');
            }
            first = false;
            if piece.is_empty() {
                continue;
            }
            self.out.push_str("<span class=\"");
            self.out.push_str(class);
            self.out.push_str("\">");
            push_escaped(&mut self.out, piece);
            self.out.push_str("</span>");
        }
    }

    fn finish(self) -> String {
        self.out
    }
}

const KEY: &str = "tok-key";
const STRING: &str = "tok-string";
const NUMBER: &str = "tok-number";
const BOOL: &str = "tok-bool";
const NULL: &str = "tok-null";
const COMMENT: &str = "tok-comment";
const ANCHOR: &str = "tok-anchor";
const ALIAS: &str = "tok-alias";
const TAG: &str = "tok-tag";
const MARKER: &str = "tok-marker";
const PUNCT: &str = "tok-punct";
const KEYWORD: &str = "tok-keyword";
const TYPE: &str = "tok-type";
const DIRECTIVE: &str = "tok-directive";
const VARIABLE: &str = "tok-variable";

/// Byte index of the next `\n` at or after `from`, or the end.
fn line_end(bytes: &[u8], from: usize) -> usize {
    bytes[from..]
        .iter()
        .position(|&b| b == b'\n')
        .map_or(bytes.len(), |p| from + p)
}

/// Index just past the UTF-8 character starting at `i` (or at the next boundary).
fn next_char_boundary(text: &str, i: usize) -> usize {
    let mut j = i + 1;
    while j < text.len() && !text.is_char_boundary(j) {
        j += 1;
    }
    j.min(text.len())
}

fn is_yaml_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\r' | b'\n')
}

fn is_flow_indicator(b: u8) -> bool {
    matches!(b, b',' | b'[' | b']' | b'{' | b'}')
}

/// Classifies an unquoted YAML value the way a YAML 1.2 core-schema reader would.
fn yaml_plain_class(text: &str) -> &'static str {
    match text {
        "null" | "Null" | "NULL" | "~" => NULL,
        "true" | "True" | "TRUE" | "false" | "False" | "FALSE" => BOOL,
        _ if is_yaml_number(text) => NUMBER,
        _ => STRING,
    }
}

fn is_yaml_number(text: &str) -> bool {
    let unsigned = text.strip_prefix(['-', '+']).unwrap_or(text);
    if matches!(unsigned, ".inf" | ".Inf" | ".INF") || matches!(text, ".nan" | ".NaN" | ".NAN") {
        return true;
    }
    if let Some(hex) = text.strip_prefix("0x") {
        return !hex.is_empty() && hex.bytes().all(|b| b.is_ascii_hexdigit());
    }
    if let Some(oct) = text.strip_prefix("0o") {
        return !oct.is_empty() && oct.bytes().all(|b| (b'0'..=b'7').contains(&b));
    }
    is_decimal_number(unsigned)
}

/// `digits[.digits][e[+-]digits]` or `.digits…`, without a sign.
fn is_decimal_number(text: &str) -> bool {
    let bytes = text.as_bytes();
    let mut i = 0;
    let mut digits = 0;
    while i < bytes.len() && bytes[i].is_ascii_digit() {
        i += 1;
        digits += 1;
    }
    if i < bytes.len() && bytes[i] == b'.' {
        i += 1;
        while i < bytes.len() && bytes[i].is_ascii_digit() {
            i += 1;
            digits += 1;
        }
    }
    if digits == 0 {
        return false;
    }
    if i < bytes.len() && (bytes[i] == b'e' || bytes[i] == b'E') {
        i += 1;
        if i < bytes.len() && (bytes[i] == b'+' || bytes[i] == b'-') {
            i += 1;
        }
        let start = i;
        while i < bytes.len() && bytes[i].is_ascii_digit() {
            i += 1;
        }
        if i == start {
            return false;
        }
    }
    i == bytes.len()
}

fn highlight_yaml(src: &str) -> String {
    let bytes = src.as_bytes();
    let n = bytes.len();
    let mut em = Emitter::new(n * 2);
    let mut i = 0;
    let mut at_line_start = true;
    let mut line_start = 0;
    let mut flow_depth = 0usize;
    // While inside a block scalar: the column its content must be indented beyond.
    let mut block_parent: Option<usize> = None;
    // The column of the last key or `-` on this line: the parent of a block scalar opened here.
    let mut parent_col = 0usize;
    let mut block_pending = false;

    while i < n {
        if at_line_start {
            line_start = i;
            let mut j = i;
            while j < n && bytes[j] == b' ' {
                j += 1;
            }
            let indent = j - i;
            if let Some(parent) = block_parent {
                let end = line_end(bytes, j);
                let blank = bytes[j..end]
                    .iter()
                    .all(|&b| matches!(b, b' ' | b'\t' | b'\r'));
                if blank || indent > parent {
                    em.plain(&src[i..j]);
                    em.span(STRING, &src[j..end]);
                    if end < n {
                        em.out.push('\n');
                    }
                    i = end + 1;
                    continue;
                }
                block_parent = None;
            }
            em.plain(&src[i..j]);
            i = j;
            at_line_start = false;
            parent_col = indent;
            block_pending = false;
            if indent == 0 && i < n {
                let rest = &src[i..];
                if (rest.starts_with("---") || rest.starts_with("..."))
                    && bytes.get(i + 3).is_none_or(|&b| is_yaml_space(b))
                {
                    em.span(MARKER, &rest[..3]);
                    i += 3;
                    flow_depth = 0;
                    continue;
                }
                if bytes[i] == b'%' {
                    let end = line_end(bytes, i);
                    em.span(MARKER, &src[i..end]);
                    i = end;
                    continue;
                }
            }
            continue;
        }

        let c = bytes[i];
        let next = bytes.get(i + 1).copied();
        let next_is_space = next.is_none_or(is_yaml_space);
        match c {
            b'\n' => {
                em.out.push('\n');
                i += 1;
                at_line_start = true;
                if block_pending {
                    block_parent = Some(parent_col);
                    block_pending = false;
                }
            }
            b' ' | b'\t' | b'\r' => {
                let start = i;
                while i < n && matches!(bytes[i], b' ' | b'\t' | b'\r') {
                    i += 1;
                }
                em.plain(&src[start..i]);
            }
            b'#' => {
                let end = line_end(bytes, i);
                em.span(COMMENT, &src[i..end]);
                i = end;
            }
            b'-' if next_is_space => {
                parent_col = i - line_start;
                em.span(PUNCT, "-");
                i += 1;
            }
            b'?' if next_is_space => {
                em.span(PUNCT, "?");
                i += 1;
            }
            b':' if next_is_space || (flow_depth > 0 && next.is_some_and(is_flow_indicator)) => {
                em.span(PUNCT, ":");
                i += 1;
            }
            b'[' | b'{' => {
                flow_depth += 1;
                em.span(PUNCT, &src[i..i + 1]);
                i += 1;
            }
            b']' | b'}' => {
                flow_depth = flow_depth.saturating_sub(1);
                em.span(PUNCT, &src[i..i + 1]);
                i += 1;
            }
            b',' if flow_depth > 0 => {
                em.span(PUNCT, ",");
                i += 1;
            }
            b'&' | b'*' | b'!' => {
                let start = i;
                i += 1;
                while i < n
                    && !is_yaml_space(bytes[i])
                    && !(flow_depth > 0 && is_flow_indicator(bytes[i]))
                {
                    i += 1;
                }
                let class = match c {
                    b'&' => ANCHOR,
                    b'*' => ALIAS,
                    _ => TAG,
                };
                em.span(class, &src[start..i]);
            }
            b'|' | b'>' if flow_depth == 0 && is_block_indicator(bytes, i) => {
                let start = i;
                i += 1;
                while i < n && matches!(bytes[i], b'0'..=b'9' | b'+' | b'-') {
                    i += 1;
                }
                em.span(PUNCT, &src[start..i]);
                block_pending = true;
            }
            b'"' | b'\'' => {
                let start = i;
                i = scan_yaml_quoted(bytes, i);
                let is_key = yaml_key_follows(bytes, i, flow_depth);
                if is_key {
                    parent_col = start - line_start;
                }
                em.span(if is_key { KEY } else { STRING }, &src[start..i]);
                // A quoted scalar may span lines; what follows its end is mid-line.
                if src[start..i].contains('\n') {
                    line_start = start + src[start..i].rfind('\n').unwrap_or(0) + 1;
                }
            }
            _ => {
                let start = i;
                let mut j = i;
                while j < n {
                    let b = bytes[j];
                    if b == b'\n' {
                        break;
                    }
                    if b == b':' {
                        let after = bytes.get(j + 1).copied();
                        if after.is_none_or(is_yaml_space)
                            || (flow_depth > 0 && after.is_some_and(is_flow_indicator))
                        {
                            break;
                        }
                    }
                    if (b == b' ' || b == b'\t') && bytes.get(j + 1) == Some(&b'#') {
                        break;
                    }
                    if flow_depth > 0 && is_flow_indicator(b) {
                        break;
                    }
                    j += 1;
                }
                let mut end = j;
                while end > start && matches!(bytes[end - 1], b' ' | b'\t' | b'\r') {
                    end -= 1;
                }
                if end == start {
                    // A lone character the branches above declined (e.g. `-x` handled here).
                    end = next_char_boundary(src, start);
                    j = end;
                }
                let text = &src[start..end];
                if j < n && bytes[j] == b':' {
                    parent_col = start - line_start;
                    em.span(KEY, text);
                } else {
                    em.span(yaml_plain_class(text), text);
                }
                i = end;
            }
        }
    }
    em.finish()
}

/// `|` or `>` followed by indentation/chomping indicators, then only space or a comment.
fn is_block_indicator(bytes: &[u8], i: usize) -> bool {
    let mut j = i + 1;
    while j < bytes.len() && matches!(bytes[j], b'0'..=b'9' | b'+' | b'-') {
        j += 1;
    }
    bytes.get(j).is_none_or(|&b| is_yaml_space(b))
}

/// Returns the index just past the closing quote (or the end of input if unclosed).
fn scan_yaml_quoted(bytes: &[u8], start: usize) -> usize {
    let quote = bytes[start];
    let mut i = start + 1;
    while i < bytes.len() {
        let b = bytes[i];
        if quote == b'"' && b == b'\\' {
            i += 2;
            continue;
        }
        if b == quote {
            if quote == b'\'' && bytes.get(i + 1) == Some(&b'\'') {
                i += 2;
                continue;
            }
            return i + 1;
        }
        i += 1;
    }
    bytes.len()
}

/// Whether a `:` that makes the preceding scalar a mapping key follows position `i`.
fn yaml_key_follows(bytes: &[u8], mut i: usize, flow_depth: usize) -> bool {
    while i < bytes.len() && matches!(bytes[i], b' ' | b'\t') {
        i += 1;
    }
    if bytes.get(i) != Some(&b':') {
        return false;
    }
    let after = bytes.get(i + 1).copied();
    // JSON-like flow mappings allow `"key":value` without a space.
    after.is_none_or(is_yaml_space) || flow_depth > 0 || after.is_some_and(is_flow_indicator)
}

fn highlight_json(src: &str) -> String {
    let bytes = src.as_bytes();
    let n = bytes.len();
    let mut em = Emitter::new(n * 2);
    let mut i = 0;
    while i < n {
        let c = bytes[i];
        match c {
            b'"' => {
                let start = i;
                i += 1;
                while i < n && bytes[i] != b'"' && bytes[i] != b'\n' {
                    i += if bytes[i] == b'\\' { 2 } else { 1 };
                }
                if i < n && bytes[i] == b'"' {
                    i += 1;
                }
                let i_end = i.min(n);
                let mut k = i_end;
                while k < n && matches!(bytes[k], b' ' | b'\t' | b'\r' | b'\n') {
                    k += 1;
                }
                let class = if bytes.get(k) == Some(&b':') {
                    KEY
                } else {
                    STRING
                };
                em.span(class, &src[start..i_end]);
                i = i_end;
            }
            b'-' | b'0'..=b'9' => {
                let start = i;
                i += 1;
                while i < n && matches!(bytes[i], b'0'..=b'9' | b'.' | b'e' | b'E' | b'+' | b'-') {
                    i += 1;
                }
                em.span(NUMBER, &src[start..i]);
            }
            b'{' | b'}' | b'[' | b']' | b':' | b',' => {
                em.span(PUNCT, &src[i..i + 1]);
                i += 1;
            }
            b' ' | b'\t' | b'\r' | b'\n' => {
                let start = i;
                while i < n && matches!(bytes[i], b' ' | b'\t' | b'\r' | b'\n') {
                    i += 1;
                }
                em.plain(&src[start..i]);
            }
            b'/' if bytes.get(i + 1) == Some(&b'/') => {
                let end = line_end(bytes, i);
                em.span(COMMENT, &src[i..end]);
                i = end;
            }
            b'/' if bytes.get(i + 1) == Some(&b'*') => {
                let end = find_from(src, i + 2, "*/").map_or(n, |p| p + 2);
                em.span(COMMENT, &src[i..end]);
                i = end;
            }
            _ if c.is_ascii_alphabetic() => {
                let start = i;
                while i < n && bytes[i].is_ascii_alphanumeric() {
                    i += 1;
                }
                let word = &src[start..i];
                match word {
                    "true" | "false" => em.span(BOOL, word),
                    "null" => em.span(NULL, word),
                    _ => em.plain(word),
                }
            }
            _ => {
                let end = next_char_boundary(src, i);
                em.plain(&src[i..end]);
                i = end;
            }
        }
    }
    em.finish()
}

fn find_from(src: &str, from: usize, needle: &str) -> Option<usize> {
    src.get(from..)
        .and_then(|rest| rest.find(needle))
        .map(|p| from + p)
}

/// A token of GraphQL or protobuf source: its kind and byte range.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Token {
    pub kind: TokenKind,
    pub start: usize,
    pub end: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TokenKind {
    Name,
    Punct,
    String,
    BlockString,
    Number,
    Comment,
    Space,
    Other,
}

impl Token {
    pub(crate) fn text<'s>(&self, src: &'s str) -> &'s str {
        &src[self.start..self.end]
    }

    pub(crate) fn is_trivia(&self) -> bool {
        matches!(self.kind, TokenKind::Space | TokenKind::Comment)
    }
}

fn is_name_start(b: u8) -> bool {
    b.is_ascii_alphabetic() || b == b'_'
}

fn is_name_continue(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

/// Splits GraphQL source into tokens; commas are punctuation (the reader skips them).
pub(crate) fn graphql_tokens(src: &str) -> Vec<Token> {
    let bytes = src.as_bytes();
    let n = bytes.len();
    let mut tokens = Vec::with_capacity(n / 4);
    let mut i = 0;
    while i < n {
        let start = i;
        let c = bytes[i];
        let kind = match c {
            b' ' | b'\t' | b'\r' | b'\n' => {
                while i < n && matches!(bytes[i], b' ' | b'\t' | b'\r' | b'\n') {
                    i += 1;
                }
                TokenKind::Space
            }
            b'#' => {
                i = line_end(bytes, i);
                TokenKind::Comment
            }
            b'"' if bytes[i..].starts_with(b"\"\"\"") => {
                i += 3;
                loop {
                    if i >= n {
                        break;
                    }
                    // Byte comparisons: `i` may sit inside a multi-byte character here.
                    if bytes[i..].starts_with(b"\\\"\"\"") {
                        i += 4;
                    } else if bytes[i..].starts_with(b"\"\"\"") {
                        i += 3;
                        break;
                    } else {
                        i += 1;
                    }
                }
                TokenKind::BlockString
            }
            b'"' => {
                i += 1;
                while i < n && bytes[i] != b'"' && bytes[i] != b'\n' {
                    i += if bytes[i] == b'\\' { 2 } else { 1 };
                }
                if i < n && bytes[i] == b'"' {
                    i += 1;
                }
                i = i.min(n);
                TokenKind::String
            }
            _ if is_name_start(c) => {
                while i < n && is_name_continue(bytes[i]) {
                    i += 1;
                }
                TokenKind::Name
            }
            b'-' | b'0'..=b'9' => {
                i += 1;
                while i < n && matches!(bytes[i], b'0'..=b'9' | b'.' | b'e' | b'E' | b'+' | b'-') {
                    i += 1;
                }
                TokenKind::Number
            }
            b'.' if bytes[i..].starts_with(b"...") => {
                i += 3;
                TokenKind::Punct
            }
            b'!' | b'$' | b'&' | b'(' | b')' | b':' | b'=' | b'@' | b'[' | b']' | b'{' | b'}'
            | b'|' | b',' => {
                i += 1;
                TokenKind::Punct
            }
            _ => {
                i = next_char_boundary(src, i);
                TokenKind::Other
            }
        };
        // Escapes may step past the end by one; clamp so ranges stay valid.
        let end = i.min(n);
        i = end;
        tokens.push(Token { kind, start, end });
    }
    tokens
}

/// Splits protobuf source into tokens. Dotted names (`google.protobuf.Timestamp`,
/// `.pkg.Type`) are one name token.
pub(crate) fn protobuf_tokens(src: &str) -> Vec<Token> {
    let bytes = src.as_bytes();
    let n = bytes.len();
    let mut tokens = Vec::with_capacity(n / 4);
    let mut i = 0;
    while i < n {
        let start = i;
        let c = bytes[i];
        let kind = match c {
            b' ' | b'\t' | b'\r' | b'\n' => {
                while i < n && matches!(bytes[i], b' ' | b'\t' | b'\r' | b'\n') {
                    i += 1;
                }
                TokenKind::Space
            }
            b'/' if bytes.get(i + 1) == Some(&b'/') => {
                i = line_end(bytes, i);
                TokenKind::Comment
            }
            b'/' if bytes.get(i + 1) == Some(&b'*') => {
                i = find_from(src, i + 2, "*/").map_or(n, |p| p + 2);
                TokenKind::Comment
            }
            b'"' | b'\'' => {
                i += 1;
                while i < n && bytes[i] != c && bytes[i] != b'\n' {
                    i += if bytes[i] == b'\\' { 2 } else { 1 };
                }
                if i < n && bytes[i] == c {
                    i += 1;
                }
                i = i.min(n);
                TokenKind::String
            }
            _ if is_name_start(c)
                || (c == b'.' && bytes.get(i + 1).is_some_and(|&b| is_name_start(b))) =>
            {
                if c == b'.' {
                    i += 1;
                }
                loop {
                    while i < n && is_name_continue(bytes[i]) {
                        i += 1;
                    }
                    if i + 1 < n && bytes[i] == b'.' && is_name_start(bytes[i + 1]) {
                        i += 1;
                    } else {
                        break;
                    }
                }
                TokenKind::Name
            }
            b'0'..=b'9' => {
                i += 1;
                while i < n {
                    let b = bytes[i];
                    let exponent_sign =
                        matches!(b, b'+' | b'-') && matches!(bytes[i - 1], b'e' | b'E');
                    if !(is_name_continue(b) || b == b'.' || exponent_sign) {
                        break;
                    }
                    i += 1;
                }
                TokenKind::Number
            }
            _ if c.is_ascii_punctuation() => {
                i += 1;
                TokenKind::Punct
            }
            _ => {
                i = next_char_boundary(src, i);
                TokenKind::Other
            }
        };
        let end = i.min(n);
        i = end;
        tokens.push(Token { kind, start, end });
    }
    tokens
}

/// For each token, the index of the next non-trivia token (or `tokens.len()`).
fn next_significant(tokens: &[Token]) -> Vec<usize> {
    let mut next = vec![tokens.len(); tokens.len()];
    let mut following = tokens.len();
    for i in (0..tokens.len()).rev() {
        next[i] = following;
        if !tokens[i].is_trivia() {
            following = i;
        }
    }
    next
}

const GRAPHQL_KEYWORDS: &[&str] = &[
    "type",
    "interface",
    "union",
    "enum",
    "input",
    "scalar",
    "schema",
    "extend",
    "directive",
    "implements",
    "query",
    "mutation",
    "subscription",
    "fragment",
    "repeatable",
    "on",
];

fn highlight_graphql(src: &str) -> String {
    let tokens = graphql_tokens(src);
    let next = next_significant(&tokens);
    let mut em = Emitter::new(src.len() * 2);
    // The previous significant token's text, and whether the current definition is a union
    // (where names after `=` and `|` are types rather than default values).
    let mut prev: &str = "";
    let mut prev_prev: &str = "";
    let mut in_union = false;
    for (i, token) in tokens.iter().enumerate() {
        let text = token.text(src);
        match token.kind {
            TokenKind::Space | TokenKind::Other => em.plain(text),
            TokenKind::Comment => em.span(COMMENT, text),
            TokenKind::String | TokenKind::BlockString => em.span(STRING, text),
            TokenKind::Number => em.span(NUMBER, text),
            TokenKind::Punct => em.span(PUNCT, text),
            TokenKind::Name => {
                let following = tokens.get(next[i]).map(|t| t.text(src));
                let class = if prev == "@" {
                    Some(DIRECTIVE)
                } else if prev == "$" {
                    Some(VARIABLE)
                } else if GRAPHQL_KEYWORDS.contains(&text)
                    && !matches!(
                        following,
                        Some(":" | "(" | ")" | "," | "!" | "]" | "}") | None
                    )
                    && !matches!(prev, ":" | "[" | "(")
                {
                    Some(KEYWORD)
                } else if matches!(prev, ":" | "[" | "implements" | "&" | "on")
                    || (matches!(prev, "=" | "|") && in_union)
                    || (matches!(
                        prev,
                        "type" | "interface" | "union" | "enum" | "input" | "scalar"
                    ) && !matches!(prev_prev, ":" | "[" | "("))
                {
                    Some(TYPE)
                } else if matches!(text, "true" | "false") {
                    Some(BOOL)
                } else if text == "null" {
                    Some(NULL)
                } else {
                    None
                };
                if class == Some(KEYWORD) {
                    in_union = text == "union";
                }
                match class {
                    Some(class) => em.span(class, text),
                    None => em.plain(text),
                }
            }
        }
        if !token.is_trivia() {
            if matches!(text, "{" | "(") {
                in_union = false;
            }
            prev_prev = prev;
            prev = text;
        }
    }
    em.finish()
}

const PROTOBUF_KEYWORDS: &[&str] = &[
    "syntax",
    "edition",
    "package",
    "import",
    "option",
    "message",
    "enum",
    "service",
    "rpc",
    "returns",
    "stream",
    "repeated",
    "optional",
    "required",
    "oneof",
    "map",
    "reserved",
    "extensions",
    "extend",
    "to",
    "max",
    "weak",
    "public",
    "group",
];

const PROTOBUF_SCALARS: &[&str] = &[
    "double", "float", "int32", "int64", "uint32", "uint64", "sint32", "sint64", "fixed32",
    "fixed64", "sfixed32", "sfixed64", "bool", "string", "bytes",
];

fn highlight_protobuf(src: &str) -> String {
    let tokens = protobuf_tokens(src);
    let next = next_significant(&tokens);
    let mut em = Emitter::new(src.len() * 2);
    let mut prev: &str = "";
    for (i, token) in tokens.iter().enumerate() {
        let text = token.text(src);
        match token.kind {
            TokenKind::Space | TokenKind::Other => em.plain(text),
            TokenKind::Comment => em.span(COMMENT, text),
            TokenKind::String | TokenKind::BlockString => em.span(STRING, text),
            TokenKind::Number => em.span(NUMBER, text),
            TokenKind::Punct => em.span(PUNCT, text),
            TokenKind::Name => {
                let following = tokens.get(next[i]);
                let following_text = following.map(|t| t.text(src));
                let is_field_type = following.is_some_and(|t| t.kind == TokenKind::Name);
                let class = if PROTOBUF_SCALARS.contains(&text) {
                    Some(TYPE)
                } else if PROTOBUF_KEYWORDS.contains(&text)
                    && (!matches!(following_text, Some("=" | ";" | ")" | ">" | ","))
                        || (matches!(text, "syntax" | "edition") && matches!(prev, "" | ";" | "}")))
                {
                    Some(KEYWORD)
                } else if matches!(text, "true" | "false") {
                    Some(BOOL)
                } else if matches!(prev, "message" | "enum" | "service" | "extend" | "stream")
                    || (matches!(prev, "(" | "<" | ",")
                        && matches!(following_text, Some(")" | ">" | ",")))
                    || is_field_type
                {
                    Some(TYPE)
                } else {
                    None
                };
                match class {
                    Some(class) => em.span(class, text),
                    None => em.plain(text),
                }
            }
        }
        if !token.is_trivia() {
            prev = text;
        }
    }
    em.finish()
}

#[cfg(test)]
mod tests {
    use super::*;
    use expect_test::{Expect, expect};

    fn check(language: Language, source: &str, expected: Expect) {
        expected.assert_eq(&highlight(language, source));
    }

    #[test]
    fn yaml_tokens() {
        check(
            Language::Yaml,
            "%YAML 1.2\n---\n# a comment\nkey: value # trailing\n\"quoted\": 'single' \nn: -1.5e3\nb: true\nz: ~\ns: on\nbase: &base {a: 1, b: [x, \"y\"]}\nuse: *base\nt: !!str 42\n- item\n...\n",
            expect![[r#"
                <span class="tok-marker">%YAML 1.2</span>
                <span class="tok-marker">---</span>
                <span class="tok-comment"># a comment</span>
                <span class="tok-key">key</span><span class="tok-punct">:</span> <span class="tok-string">value</span> <span class="tok-comment"># trailing</span>
                <span class="tok-key">&quot;quoted&quot;</span><span class="tok-punct">:</span> <span class="tok-string">&#39;single&#39;</span> 
                <span class="tok-key">n</span><span class="tok-punct">:</span> <span class="tok-number">-1.5e3</span>
                <span class="tok-key">b</span><span class="tok-punct">:</span> <span class="tok-bool">true</span>
                <span class="tok-key">z</span><span class="tok-punct">:</span> <span class="tok-null">~</span>
                <span class="tok-key">s</span><span class="tok-punct">:</span> <span class="tok-string">on</span>
                <span class="tok-key">base</span><span class="tok-punct">:</span> <span class="tok-anchor">&amp;base</span> <span class="tok-punct">{</span><span class="tok-key">a</span><span class="tok-punct">:</span> <span class="tok-number">1</span><span class="tok-punct">,</span> <span class="tok-key">b</span><span class="tok-punct">:</span> <span class="tok-punct">[</span><span class="tok-string">x</span><span class="tok-punct">,</span> <span class="tok-string">&quot;y&quot;</span><span class="tok-punct">]</span><span class="tok-punct">}</span>
                <span class="tok-key">use</span><span class="tok-punct">:</span> <span class="tok-alias">*base</span>
                <span class="tok-key">t</span><span class="tok-punct">:</span> <span class="tok-tag">!!str</span> <span class="tok-number">42</span>
                <span class="tok-punct">-</span> <span class="tok-string">item</span>
                <span class="tok-marker">...</span>
            "#]],
        );
    }

    #[test]
    fn yaml_block_scalars_are_strings_until_dedent() {
        check(
            Language::Yaml,
            "a:\n  desc: |\n    key: not a key\n\n    # not a comment\n  next: 1\n- >-\n  folded\nz: x\n",
            expect![[r#"
                <span class="tok-key">a</span><span class="tok-punct">:</span>
                  <span class="tok-key">desc</span><span class="tok-punct">:</span> <span class="tok-punct">|</span>
                    <span class="tok-string">key: not a key</span>

                    <span class="tok-string"># not a comment</span>
                  <span class="tok-key">next</span><span class="tok-punct">:</span> <span class="tok-number">1</span>
                <span class="tok-punct">-</span> <span class="tok-punct">&gt;-</span>
                  <span class="tok-string">folded</span>
                <span class="tok-key">z</span><span class="tok-punct">:</span> <span class="tok-string">x</span>
            "#]],
        );
    }

    #[test]
    fn yaml_multiline_quoted_string_keeps_spans_per_line() {
        let html = highlight(Language::Yaml, "a: \"one\n  two\"\nb: 1\n");
        for line in html.lines() {
            assert_eq!(
                line.matches("<span").count(),
                line.matches("</span>").count(),
                "{line}"
            );
        }
        assert!(html.contains("<span class=\"tok-key\">b</span>"), "{html}");
    }

    #[test]
    fn json_tokens() {
        check(
            Language::Json,
            "{\"a\": [1, -2.5e3, true, null, \"<s>\"],\n \"b\" : {}}",
            expect![[
                r#"<span class="tok-punct">{</span><span class="tok-key">&quot;a&quot;</span><span class="tok-punct">:</span> <span class="tok-punct">[</span><span class="tok-number">1</span><span class="tok-punct">,</span> <span class="tok-number">-2.5e3</span><span class="tok-punct">,</span> <span class="tok-bool">true</span><span class="tok-punct">,</span> <span class="tok-null">null</span><span class="tok-punct">,</span> <span class="tok-string">&quot;&lt;s&gt;&quot;</span><span class="tok-punct">]</span><span class="tok-punct">,</span>
 <span class="tok-key">&quot;b&quot;</span> <span class="tok-punct">:</span> <span class="tok-punct">{</span><span class="tok-punct">}</span><span class="tok-punct">}</span>"#
            ]],
        );
    }

    #[test]
    fn graphql_tokens_styled() {
        check(
            Language::GraphQl,
            "\"\"\"Doc\"\"\"\ntype Query implements Node & Thing {\n  # c\n  items(first: Int = 10, sort: Sort = NEWEST): [Item!]! @deprecated(reason: \"x\")\n  type: String\n}\nunion U = A | B\n",
            expect![[r#"
                <span class="tok-string">&quot;&quot;&quot;Doc&quot;&quot;&quot;</span>
                <span class="tok-keyword">type</span> <span class="tok-type">Query</span> <span class="tok-keyword">implements</span> <span class="tok-type">Node</span> <span class="tok-punct">&amp;</span> <span class="tok-type">Thing</span> <span class="tok-punct">{</span>
                  <span class="tok-comment"># c</span>
                  items<span class="tok-punct">(</span>first<span class="tok-punct">:</span> <span class="tok-type">Int</span> <span class="tok-punct">=</span> <span class="tok-number">10</span><span class="tok-punct">,</span> sort<span class="tok-punct">:</span> <span class="tok-type">Sort</span> <span class="tok-punct">=</span> NEWEST<span class="tok-punct">)</span><span class="tok-punct">:</span> <span class="tok-punct">[</span><span class="tok-type">Item</span><span class="tok-punct">!</span><span class="tok-punct">]</span><span class="tok-punct">!</span> <span class="tok-punct">@</span><span class="tok-directive">deprecated</span><span class="tok-punct">(</span>reason<span class="tok-punct">:</span> <span class="tok-string">&quot;x&quot;</span><span class="tok-punct">)</span>
                  type<span class="tok-punct">:</span> <span class="tok-type">String</span>
                <span class="tok-punct">}</span>
                <span class="tok-keyword">union</span> <span class="tok-type">U</span> <span class="tok-punct">=</span> <span class="tok-type">A</span> <span class="tok-punct">|</span> <span class="tok-type">B</span>
            "#]],
        );
    }

    #[test]
    fn protobuf_tokens_styled() {
        check(
            Language::Protobuf,
            "syntax = \"proto3\";\n/* block */\nservice S {\n  rpc Get (Req) returns (stream google.protobuf.Empty);\n}\nmessage Req {\n  repeated string ids = 1; // trailing\n  map<string, Thing> m = 2 [deprecated = true];\n  .pkg.Other o = 3;\n}\n",
            expect![[r#"
                <span class="tok-keyword">syntax</span> <span class="tok-punct">=</span> <span class="tok-string">&quot;proto3&quot;</span><span class="tok-punct">;</span>
                <span class="tok-comment">/* block */</span>
                <span class="tok-keyword">service</span> <span class="tok-type">S</span> <span class="tok-punct">{</span>
                  <span class="tok-keyword">rpc</span> Get <span class="tok-punct">(</span><span class="tok-type">Req</span><span class="tok-punct">)</span> <span class="tok-keyword">returns</span> <span class="tok-punct">(</span><span class="tok-keyword">stream</span> <span class="tok-type">google.protobuf.Empty</span><span class="tok-punct">)</span><span class="tok-punct">;</span>
                <span class="tok-punct">}</span>
                <span class="tok-keyword">message</span> <span class="tok-type">Req</span> <span class="tok-punct">{</span>
                  <span class="tok-keyword">repeated</span> <span class="tok-type">string</span> ids <span class="tok-punct">=</span> <span class="tok-number">1</span><span class="tok-punct">;</span> <span class="tok-comment">// trailing</span>
                  <span class="tok-keyword">map</span><span class="tok-punct">&lt;</span><span class="tok-type">string</span><span class="tok-punct">,</span> <span class="tok-type">Thing</span><span class="tok-punct">&gt;</span> m <span class="tok-punct">=</span> <span class="tok-number">2</span> <span class="tok-punct">[</span>deprecated <span class="tok-punct">=</span> <span class="tok-bool">true</span><span class="tok-punct">]</span><span class="tok-punct">;</span>
                  <span class="tok-type">.pkg.Other</span> o <span class="tok-punct">=</span> <span class="tok-number">3</span><span class="tok-punct">;</span>
                <span class="tok-punct">}</span>
            "#]],
        );
    }

    #[test]
    fn plain_is_only_escaped() {
        assert_eq!(
            highlight(Language::Plain, "<script>alert(\"x\")</script> & 'y'"),
            "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &#39;y&#39;"
        );
    }

    #[test]
    fn language_by_type_then_sniffing() {
        assert_eq!(language_for("openapi", "openapi: 3.0.0"), Language::Yaml);
        assert_eq!(
            language_for("OpenAPI", "  {\"openapi\": \"3.0.0\"}"),
            Language::Json
        );
        assert_eq!(language_for("asyncapi", "asyncapi: 2.6.0"), Language::Yaml);
        assert_eq!(
            language_for("graphql", "type Query { a: Int }"),
            Language::GraphQl
        );
        assert_eq!(
            language_for("graphql", "{\"data\": {\"__schema\": {}}}"),
            Language::Json
        );
        assert_eq!(
            language_for("grpc", "syntax = \"proto3\";"),
            Language::Protobuf
        );
        assert_eq!(
            language_for("custom", "syntax = \"proto3\";\nmessage A {}"),
            Language::Protobuf
        );
        assert_eq!(
            language_for("custom", "schema {\n  query: Q\n}"),
            Language::GraphQl
        );
        assert_eq!(language_for("custom", "a: 1\nb:\n  - c\n"), Language::Yaml);
        assert_eq!(
            language_for("trpc", "import { z } from 'zod';\nexport const r = 1;"),
            Language::Plain
        );
        assert_eq!(language_for("custom", ""), Language::Plain);
    }

    /// Every highlighter must reproduce the source exactly once tags are stripped and
    /// entities decoded; that is what "never loses text" means for a viewer.
    fn strip_tags_and_unescape(html: &str) -> String {
        let mut text = String::with_capacity(html.len());
        let mut in_tag = false;
        for c in html.chars() {
            match c {
                '<' => in_tag = true,
                '>' if in_tag => in_tag = false,
                _ if !in_tag => text.push(c),
                _ => {}
            }
        }
        text.replace("&lt;", "<")
            .replace("&gt;", ">")
            .replace("&quot;", "\"")
            .replace("&#39;", "'")
            .replace("&amp;", "&")
    }

    #[test]
    fn highlighting_round_trips_text_and_keeps_lines_balanced() {
        let samples = [
            "a: \"unterminated\nb: 'x''y'\nc: [1, {d: e}]\n  - | \n   text\n\u{e9}t\u{e9}: caf\u{e9} #\u{1f600}\n",
            "{\"a\": \"b\\\"c\", \"d\": [tru, 1e, -],\n\"\u{e9}\": \"\\\n}",
            "\"\"\"unterminated block\n type X { a: [B!]! } @ $ ... \u{1f600}",
            "message M { /* unterminated\n string s = 1; }\n 'x \"y\" .a.b 1e-5 0x1F \u{e9}",
            "",
            "\n\n",
        ];
        for sample in samples {
            for language in [
                Language::Yaml,
                Language::Json,
                Language::GraphQl,
                Language::Protobuf,
                Language::Plain,
            ] {
                let html = highlight(language, sample);
                assert_eq!(strip_tags_and_unescape(&html), sample, "{language}: {html}");
                for line in html.split('\n') {
                    assert_eq!(
                        line.matches("<span").count(),
                        line.matches("</span>").count(),
                        "{language}: {line}"
                    );
                }
            }
        }
    }
}
