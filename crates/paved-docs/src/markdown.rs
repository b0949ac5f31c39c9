//! Markdown → HTML for one documentation page.
//!
//! CommonMark with tables, task lists, strikethrough, footnotes and heading attributes
//! (`pulldown-cmark`), plus MkDocs' admonitions (`!!! note "Title"` with a 4-space indented
//! body; `???` for a collapsible `<details>`, `???+` open). Docs are untrusted input: raw HTML
//! is escaped and shown as text, link schemes other than http, https and mailto are dropped.
//! Fenced code goes through `paved_render::highlight` (YAML, JSON, GraphQL, protobuf; other
//! languages escaped); a `mermaid` block becomes `<pre class="mermaid">` with its source escaped,
//! which the portal draws with its vendored Mermaid script (and shows as source without
//! JavaScript).
//! Headings get unique ids (slugs) and an anchor; h2/h3 make the page's table of contents.
//! Relative links to pages (`other.md#anchor`) and files (images) are rewritten to the portal's
//! URLs of the site and recorded so the site can report the ones that lead nowhere.

use paved_render::highlight::{Language, highlight};
use pulldown_cmark::{CodeBlockKind, CowStr, Event, HeadingLevel, Options, Parser, Tag, TagEnd};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;

/// One entry of a page's table of contents.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TocEntry {
    /// 2 or 3.
    pub level: u8,
    pub id: String,
    pub text: String,
}

/// Where a relative link of a page leads, resolved against the page's folder.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LinkTarget {
    /// A page of the site (path relative to the docs folder, e.g. `guide/setup.md`).
    Page {
        path: String,
        anchor: Option<String>,
    },
    /// Any other file of the site (an image).
    File { path: String },
    /// `..` past the docs folder.
    Outside,
}

/// A link found in a page, to be checked once every page is known.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PageLink {
    /// 1-based line in the page's source.
    pub line: usize,
    /// The link as written.
    pub link: String,
    pub target: LinkTarget,
}

/// A rendered page.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct RenderedPage {
    /// The text of the first h1, if any.
    pub title: Option<String>,
    pub html: String,
    /// h2 and h3, in order.
    pub toc: Vec<TocEntry>,
    /// The text of every heading, in order (for search).
    pub headings: Vec<String>,
    /// The page's plain text (for search).
    pub text: String,
    /// Every heading id of the page.
    pub anchors: Vec<String>,
    pub links: Vec<PageLink>,
}

/// Renders `source`, the page at `path` (relative to the docs folder), for a site served
/// under `base_url` (no trailing slash).
pub fn render_page(source: &str, path: &str, base_url: &str) -> RenderedPage {
    let mut renderer = Renderer {
        path,
        base_url,
        page: RenderedPage::default(),
        slugs: HashMap::new(),
    };
    let mut html = String::with_capacity(source.len() * 3 / 2);
    renderer.render_blocks(source, 1, &mut html, 0);
    renderer.page.html = html;
    let text = std::mem::take(&mut renderer.page.text);
    renderer.page.text = text.split_whitespace().collect::<Vec<_>>().join(" ");
    renderer.page
}

/// The portal URL of a page: `index.md` is the site's root, `a/index.md` is `…/a`, `a/b.md` is
/// `…/a/b`.
pub fn page_url(base_url: &str, path: &str) -> String {
    let stem = path.strip_suffix(".md").unwrap_or(path);
    let stem = if stem == "index" {
        ""
    } else {
        stem.strip_suffix("/index").unwrap_or(stem)
    };
    if stem.is_empty() {
        base_url.to_string()
    } else {
        format!("{base_url}/{stem}")
    }
}

/// The portal URL of a file of the site (an image).
pub fn file_url(base_url: &str, path: &str) -> String {
    format!("{base_url}/{path}")
}

/// A heading id the way MkDocs makes them: lower case, word characters kept, spaces and
/// hyphens become `-`, everything else dropped.
pub fn slugify(text: &str) -> String {
    let mut slug = String::with_capacity(text.len());
    for c in text.trim().chars() {
        if c.is_alphanumeric() || c == '_' {
            slug.extend(c.to_lowercase());
        } else if (c == ' ' || c == '-') && !slug.ends_with('-') {
            slug.push('-');
        }
    }
    let slug = slug.trim_matches('-').to_string();
    if slug.is_empty() {
        "section".to_string()
    } else {
        slug
    }
}

/// Escapes text for HTML content and attribute values.
pub fn escape_html(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// Nesting of admonitions deeper than this is rendered as plain Markdown.
const MAX_NESTING: usize = 8;

struct Renderer<'a> {
    path: &'a str,
    base_url: &'a str,
    page: RenderedPage,
    /// How many headings already took each slug.
    slugs: HashMap<String, usize>,
}

/// A piece of a page: Markdown, or an admonition whose body is again a page piece.
enum Block<'s> {
    Markdown {
        text: String,
        first_line: usize,
    },
    Admonition {
        kind: &'s str,
        title: Option<&'s str>,
        /// `None`: `!!!`; `Some(open)`: `???` (`???+` open).
        collapsible: Option<bool>,
        body: String,
        first_line: usize,
    },
}

/// `!!! note "Title"`, `??? warning`, `???+ tip ""`.
fn admonition_head(line: &str) -> Option<(&str, Option<&str>, Option<bool>)> {
    let (marker, rest) = if let Some(rest) = line.strip_prefix("!!!") {
        (None, rest)
    } else if let Some(rest) = line.strip_prefix("???+") {
        (Some(true), rest)
    } else if let Some(rest) = line.strip_prefix("???") {
        (Some(false), rest)
    } else {
        return None;
    };
    if !rest.starts_with([' ', '\t']) {
        return None;
    }
    let rest = rest.trim();
    let (kind, title) = match rest.split_once([' ', '\t']) {
        Some((kind, title)) => (kind, Some(title.trim())),
        None => (rest, None),
    };
    if kind.is_empty()
        || !kind
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    {
        return None;
    }
    let title = match title {
        None => None,
        Some(t) if t.len() >= 2 && t.starts_with('"') && t.ends_with('"') => {
            Some(&t[1..t.len() - 1])
        }
        Some(_) => return None,
    };
    Some((kind, title, marker))
}

/// The body of an indented block line: 4 spaces or a tab removed; `None` if not indented.
fn dedent(line: &str) -> Option<&str> {
    line.strip_prefix("    ")
        .or_else(|| line.strip_prefix('\t'))
}

/// Splits a page into Markdown and admonitions, leaving fenced code untouched.
fn split_blocks(source: &str, first_line: usize) -> Vec<Block<'_>> {
    let lines: Vec<&str> = source.split('\n').collect();
    let mut blocks = Vec::new();
    let mut markdown = String::new();
    let mut markdown_first = first_line;
    let mut fence: Option<(char, usize)> = None;
    let mut i = 0;
    while i < lines.len() {
        let line = lines[i];
        let trimmed = line.trim_start();
        let indent = line.len() - trimmed.len();
        if indent < 4 {
            let fence_char = trimmed.chars().next().filter(|c| *c == '`' || *c == '~');
            if let Some(c) = fence_char {
                let run = trimmed.chars().take_while(|x| *x == c).count();
                match fence {
                    None if run >= 3 => fence = Some((c, run)),
                    Some((open, len))
                        if open == c && run >= len && trimmed[run..].trim().is_empty() =>
                    {
                        fence = None
                    }
                    _ => {}
                }
            }
        }
        if fence.is_none()
            && indent == 0
            && let Some((kind, title, collapsible)) = admonition_head(line.trim_end())
        {
            let head_line = first_line + i;
            let mut body_lines: Vec<&str> = Vec::new();
            let mut j = i + 1;
            while j < lines.len() {
                let l = lines[j];
                if l.trim().is_empty() {
                    body_lines.push("");
                } else if let Some(d) = dedent(l) {
                    body_lines.push(d);
                } else {
                    break;
                }
                j += 1;
            }
            // Trailing blank lines belong to what follows.
            while body_lines.last() == Some(&"") {
                body_lines.pop();
                j -= 1;
            }
            if !markdown.is_empty() {
                blocks.push(Block::Markdown {
                    text: std::mem::take(&mut markdown),
                    first_line: markdown_first,
                });
            }
            blocks.push(Block::Admonition {
                kind,
                title,
                collapsible,
                body: body_lines.join("\n"),
                first_line: head_line + 1,
            });
            i = j;
            markdown_first = first_line + i;
            continue;
        }
        if markdown.is_empty() {
            markdown_first = first_line + i;
        }
        markdown.push_str(line);
        markdown.push('\n');
        i += 1;
    }
    if !markdown.is_empty() {
        blocks.push(Block::Markdown {
            text: markdown,
            first_line: markdown_first,
        });
    }
    blocks
}

fn options() -> Options {
    Options::ENABLE_TABLES
        | Options::ENABLE_TASKLISTS
        | Options::ENABLE_STRIKETHROUGH
        | Options::ENABLE_FOOTNOTES
        | Options::ENABLE_HEADING_ATTRIBUTES
}

fn level_number(level: HeadingLevel) -> u8 {
    match level {
        HeadingLevel::H1 => 1,
        HeadingLevel::H2 => 2,
        HeadingLevel::H3 => 3,
        HeadingLevel::H4 => 4,
        HeadingLevel::H5 => 5,
        HeadingLevel::H6 => 6,
    }
}

/// Whether `link` starts with a URL scheme (`https:`, `mailto:`, `javascript:`).
fn scheme_of(link: &str) -> Option<String> {
    let (scheme, _) = link.split_once(':')?;
    let valid = !scheme.is_empty()
        && scheme
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic())
        && scheme
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'));
    valid.then(|| scheme.to_ascii_lowercase())
}

/// Joins a relative link to the folder of the page; `None` when it climbs out of the site.
pub fn resolve_relative(page_path: &str, link: &str) -> Option<String> {
    let mut parts: Vec<&str> = page_path.split('/').collect();
    parts.pop();
    for part in link.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop()?;
            }
            p => parts.push(p),
        }
    }
    Some(parts.join("/"))
}

impl Renderer<'_> {
    fn render_blocks(&mut self, source: &str, first_line: usize, out: &mut String, depth: usize) {
        if depth >= MAX_NESTING {
            self.render_markdown(source, first_line, out);
            return;
        }
        for block in split_blocks(source, first_line) {
            match block {
                Block::Markdown { text, first_line } => {
                    self.render_markdown(&text, first_line, out)
                }
                Block::Admonition {
                    kind,
                    title,
                    collapsible,
                    body,
                    first_line,
                } => {
                    let kind_class = kind.to_ascii_lowercase();
                    let title_text = match title {
                        Some(t) => t.to_string(),
                        None => {
                            let mut chars = kind_class.chars();
                            chars
                                .next()
                                .map(|c| c.to_uppercase().chain(chars).collect())
                                .unwrap_or_default()
                        }
                    };
                    let (open_tag, title_tag, close_tag) = match collapsible {
                        None => ("div", "p", "div"),
                        Some(_) => ("details", "summary", "details"),
                    };
                    let open_attr = if collapsible == Some(true) {
                        " open"
                    } else {
                        ""
                    };
                    out.push_str(&format!(
                        "<{open_tag} class=\"admonition {}\"{open_attr}>",
                        escape_html(&kind_class)
                    ));
                    // An empty title ("") means no title bar, as in MkDocs.
                    if !title_text.is_empty() || collapsible.is_some() {
                        out.push_str(&format!(
                            "<{title_tag} class=\"admonition-title\">{}</{title_tag}>",
                            escape_html(&title_text)
                        ));
                    }
                    self.page.text.push_str(&title_text);
                    self.page.text.push('\n');
                    self.render_blocks(&body, first_line, out, depth + 1);
                    out.push_str(&format!("</{close_tag}>"));
                }
            }
        }
    }

    fn unique_id(&mut self, wanted: &str) -> String {
        let base = slugify(wanted);
        let count = self.slugs.entry(base.clone()).or_insert(0);
        let id = if *count == 0 {
            base.clone()
        } else {
            format!("{base}_{count}")
        };
        *count += 1;
        // A generated `x_1` may collide with a heading literally titled "x_1".
        if id != base {
            self.slugs.entry(id.clone()).or_insert(1);
        }
        id
    }

    fn render_markdown(&mut self, source: &str, first_line: usize, out: &mut String) {
        let line_starts: Vec<usize> = std::iter::once(0)
            .chain(source.match_indices('\n').map(|(i, _)| i + 1))
            .collect();
        let line_of = |offset: usize| -> usize {
            first_line + line_starts.partition_point(|&start| start <= offset) - 1
        };
        let mut events: Vec<Event<'_>> = Vec::new();
        // The heading being read: level, explicit id, inner events, text.
        let mut heading: Option<(u8, Option<String>, Vec<Event<'_>>, String)> = None;
        // The fenced or indented code block being read: language, text.
        let mut code: Option<(String, String)> = None;
        for (event, range) in Parser::new_ext(source, options()).into_offset_iter() {
            if let Some((lang, body)) = &mut code {
                match event {
                    Event::Text(t) => body.push_str(&t),
                    Event::End(TagEnd::CodeBlock) => {
                        let html = code_block_html(lang, body);
                        self.page.text.push_str(body);
                        self.page.text.push('\n');
                        events.push(Event::Html(html.into()));
                        code = None;
                    }
                    _ => {}
                }
                continue;
            }
            let event = match event {
                Event::Start(Tag::Heading { level, id, .. }) => {
                    heading = Some((
                        level_number(level),
                        id.map(|i| i.to_string()),
                        Vec::new(),
                        String::new(),
                    ));
                    continue;
                }
                Event::End(TagEnd::Heading(_)) => {
                    if let Some((level, explicit, inner, text)) = heading.take() {
                        let text = text.trim().to_string();
                        let id = self.unique_id(explicit.as_deref().unwrap_or(&text));
                        let mut inner_html = String::new();
                        pulldown_cmark::html::push_html(&mut inner_html, inner.into_iter());
                        let html = format!(
                            "<h{level} id=\"{id}\">{inner_html}<a class=\"headerlink\" href=\"#{id}\" aria-label=\"Link to this section\">#</a></h{level}>\n",
                            id = escape_html(&id)
                        );
                        if level == 1 && self.page.title.is_none() {
                            self.page.title = Some(text.clone());
                        }
                        if level == 2 || level == 3 {
                            self.page.toc.push(TocEntry {
                                level,
                                id: id.clone(),
                                text: text.clone(),
                            });
                        }
                        self.page.text.push_str(&text);
                        self.page.text.push('\n');
                        self.page.headings.push(text);
                        self.page.anchors.push(id);
                        events.push(Event::Html(html.into()));
                    }
                    continue;
                }
                Event::Start(Tag::CodeBlock(kind)) => {
                    let lang = match kind {
                        CodeBlockKind::Fenced(info) => info
                            .split_whitespace()
                            .next()
                            .unwrap_or("")
                            .trim_start_matches('{')
                            .trim_start_matches('.')
                            .trim_end_matches('}')
                            .to_ascii_lowercase(),
                        CodeBlockKind::Indented => String::new(),
                    };
                    code = Some((lang, String::new()));
                    continue;
                }
                Event::Start(Tag::Link {
                    link_type,
                    dest_url,
                    title,
                    id,
                }) => {
                    let dest = self.rewrite_link(&dest_url, line_of(range.start));
                    Event::Start(Tag::Link {
                        link_type,
                        dest_url: CowStr::from(dest),
                        title,
                        id,
                    })
                }
                Event::Start(Tag::Image {
                    link_type,
                    dest_url,
                    title,
                    id,
                }) => {
                    let dest = self.rewrite_link(&dest_url, line_of(range.start));
                    Event::Start(Tag::Image {
                        link_type,
                        dest_url: CowStr::from(dest),
                        title,
                        id,
                    })
                }
                // Untrusted input: raw HTML is shown as text, never interpreted.
                Event::Html(raw) | Event::InlineHtml(raw) => Event::Text(raw),
                Event::Text(t) => {
                    match &mut heading {
                        Some((_, _, _, text)) => text.push_str(&t),
                        None => self.page.text.push_str(&t),
                    }
                    Event::Text(t)
                }
                Event::Code(t) => {
                    match &mut heading {
                        Some((_, _, _, text)) => text.push_str(&t),
                        None => self.page.text.push_str(&t),
                    }
                    Event::Code(t)
                }
                Event::End(
                    end @ (TagEnd::Paragraph
                    | TagEnd::Item
                    | TagEnd::TableCell
                    | TagEnd::BlockQuote(_)),
                ) => {
                    self.page.text.push('\n');
                    Event::End(end)
                }
                Event::SoftBreak | Event::HardBreak => {
                    self.page.text.push(' ');
                    event
                }
                other => other,
            };
            match &mut heading {
                Some((_, _, inner, _)) => inner.push(event),
                None => events.push(event),
            }
        }
        pulldown_cmark::html::push_html(out, events.into_iter());
    }

    /// Rewrites one link or image source and records it for checking.
    fn rewrite_link(&mut self, dest: &str, line: usize) -> String {
        if dest.is_empty() {
            return String::new();
        }
        if let Some(anchor) = dest.strip_prefix('#') {
            self.page.links.push(PageLink {
                line,
                link: dest.to_string(),
                target: LinkTarget::Page {
                    path: self.path.to_string(),
                    anchor: (!anchor.is_empty()).then(|| anchor.to_string()),
                },
            });
            return dest.to_string();
        }
        if let Some(scheme) = scheme_of(dest) {
            return if matches!(scheme.as_str(), "http" | "https" | "mailto") {
                dest.to_string()
            } else {
                "#".to_string()
            };
        }
        if dest.starts_with('/') {
            return dest.to_string();
        }
        let (without_fragment, fragment) = match dest.split_once('#') {
            Some((p, f)) => (p, Some(f)),
            None => (dest, None),
        };
        let path_part = without_fragment
            .split_once('?')
            .map_or(without_fragment, |(p, _)| p);
        let Some(resolved) = resolve_relative(self.path, path_part) else {
            self.page.links.push(PageLink {
                line,
                link: dest.to_string(),
                target: LinkTarget::Outside,
            });
            return "#".to_string();
        };
        let is_dir = path_part.is_empty() || path_part.ends_with('/') || resolved.is_empty();
        let (target, url) = if resolved.ends_with(".md") || is_dir {
            let page = if resolved.ends_with(".md") {
                resolved
            } else if resolved.is_empty() {
                "index.md".to_string()
            } else {
                format!("{resolved}/index.md")
            };
            let mut url = page_url(self.base_url, &page);
            if let Some(f) = fragment.filter(|f| !f.is_empty()) {
                url.push('#');
                url.push_str(f);
            }
            (
                LinkTarget::Page {
                    path: page,
                    anchor: fragment.filter(|f| !f.is_empty()).map(str::to_string),
                },
                url,
            )
        } else {
            let url = file_url(self.base_url, &resolved);
            (LinkTarget::File { path: resolved }, url)
        };
        self.page.links.push(PageLink {
            line,
            link: dest.to_string(),
            target,
        });
        url
    }
}

/// A fenced code block as HTML.
fn code_block_html(lang: &str, body: &str) -> String {
    if lang == "mermaid" {
        return format!(
            "<pre class=\"mermaid\">{}</pre>\n",
            highlight(Language::Plain, body)
        );
    }
    let language = match lang {
        "yaml" | "yml" => Language::Yaml,
        "json" | "jsonc" => Language::Json,
        "graphql" | "gql" => Language::GraphQl,
        "proto" | "protobuf" => Language::Protobuf,
        _ => Language::Plain,
    };
    let class: String = lang
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '+'))
        .collect();
    let class = if class.is_empty() {
        "text".to_string()
    } else {
        class
    };
    format!(
        "<pre><code class=\"language-{class}\">{}</code></pre>\n",
        highlight(language, body)
    )
}
