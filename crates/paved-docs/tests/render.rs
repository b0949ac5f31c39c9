//! The page renderer: each Markdown feature, admonitions, code, headings, links, safety.

use paved_docs::markdown::{LinkTarget, TocEntry, page_url, render_page, slugify};

const BASE: &str = "/catalog/default/component/shop/docs";

fn html(source: &str) -> String {
    render_page(source, "index.md", BASE).html
}

#[test]
fn commonmark_extensions_render() {
    let out = html(
        "| a | b |\n|---|---|\n| 1 | 2 |\n\n- [x] done\n- [ ] todo\n\n~~gone~~\n\nText[^1].\n\n[^1]: The note.\n",
    );
    assert!(out.contains("<table>"), "{out}");
    assert!(out.contains("<td>1</td>"), "{out}");
    assert!(out.contains("type=\"checkbox\""), "{out}");
    assert!(out.contains("checked"), "{out}");
    assert!(out.contains("<del>gone</del>"), "{out}");
    assert!(out.contains("footnote-definition"), "{out}");
    assert!(out.contains("The note."), "{out}");
}

#[test]
fn headings_get_unique_ids_anchors_and_a_toc_of_h2_h3() {
    let page = render_page(
        "# Title\n\n## Setup\n\n### Install it\n\n#### Deep\n\n## Setup\n\n## Custom {#my-id}\n",
        "index.md",
        BASE,
    );
    assert_eq!(page.title.as_deref(), Some("Title"));
    assert!(
        page.html
            .contains("<h2 id=\"setup\">Setup<a class=\"headerlink\" href=\"#setup\"")
    );
    assert!(page.html.contains("<h2 id=\"setup_1\">"), "{}", page.html);
    assert!(
        page.html.contains("<h2 id=\"my-id\">Custom"),
        "{}",
        page.html
    );
    assert_eq!(
        page.toc,
        vec![
            TocEntry {
                level: 2,
                id: "setup".into(),
                text: "Setup".into()
            },
            TocEntry {
                level: 3,
                id: "install-it".into(),
                text: "Install it".into()
            },
            TocEntry {
                level: 2,
                id: "setup_1".into(),
                text: "Setup".into()
            },
            TocEntry {
                level: 2,
                id: "my-id".into(),
                text: "Custom".into()
            },
        ]
    );
    assert_eq!(
        page.headings,
        vec!["Title", "Setup", "Install it", "Deep", "Setup", "Custom"]
    );
    assert_eq!(slugify("Hello, World! (v2)"), "hello-world-v2");
    assert_eq!(slugify("!!!"), "section");
}

#[test]
fn admonitions_and_collapsible_details() {
    let out = html(
        "Intro\n\n!!! warning \"Mind the gap\"\n    Body with **bold**.\n\n    Second paragraph.\n\nAfter.\n\n??? note\n    Hidden.\n\n???+ tip \"Open\"\n    Shown.\n",
    );
    assert!(
        out.contains(
            "<div class=\"admonition warning\"><p class=\"admonition-title\">Mind the gap</p>"
        ),
        "{out}"
    );
    assert!(out.contains("<strong>bold</strong>"), "{out}");
    assert!(out.contains("<p>Second paragraph.</p>\n</div>"), "{out}");
    assert!(out.contains("<p>After.</p>"), "{out}");
    assert!(
        out.contains("<details class=\"admonition note\"><summary class=\"admonition-title\">Note</summary><p>Hidden.</p>"),
        "{out}"
    );
    assert!(
        out.contains("<details class=\"admonition tip\" open>"),
        "{out}"
    );
}

#[test]
fn admonition_markers_inside_code_fences_stay_code() {
    let out = html("```\n!!! note\n    not an admonition\n```\n");
    assert!(!out.contains("class=\"admonition"), "{out}");
    assert!(out.contains("!!! note"), "{out}");
}

#[test]
fn code_is_highlighted_or_escaped_mermaid_included() {
    let out = html(
        "```yaml\nkey: value\n```\n\n```rust\nfn main() { a < b }\n```\n\n```mermaid\ngraph TD; A-->B\n```\n",
    );
    assert!(
        out.contains("<code class=\"language-yaml\"><span class=\"tok-key\">key</span>"),
        "{out}"
    );
    assert!(
        out.contains("<code class=\"language-rust\">fn main() { a &lt; b }"),
        "{out}"
    );
    assert!(
        out.contains("<pre class=\"mermaid\">graph TD; A--&gt;B\n</pre>"),
        "{out}"
    );
}

#[test]
fn raw_html_and_script_links_are_neutralised() {
    let out = html(
        "<script>alert(1)</script>\n\nInline <img src=x onerror=alert(1)> here.\n\n[bad](javascript:alert(1)) [ok](https://example.com) [mail](mailto:a@b.c)\n",
    );
    assert!(!out.contains("<script"), "{out}");
    assert!(!out.contains("<img src=x"), "{out}");
    assert!(out.contains("&lt;script&gt;"), "{out}");
    assert!(out.contains("<a href=\"#\">bad</a>"), "{out}");
    assert!(out.contains("href=\"https://example.com\""), "{out}");
    assert!(out.contains("href=\"mailto:a@b.c\""), "{out}");
}

#[test]
fn relative_links_and_images_point_at_the_portal() {
    let page = render_page(
        "[up](../index.md)\n[sib](other.md#part)\n[dir](sub/)\n[self](#top)\n![logo](../img/logo.png)\n[out](../../x.md)\n",
        "guide/page.md",
        BASE,
    );
    assert!(
        page.html.contains(&format!("href=\"{BASE}\"")),
        "{}",
        page.html
    );
    assert!(
        page.html
            .contains(&format!("href=\"{BASE}/guide/other#part\"")),
        "{}",
        page.html
    );
    assert!(
        page.html.contains(&format!("href=\"{BASE}/guide/sub\"")),
        "{}",
        page.html
    );
    assert!(page.html.contains("href=\"#top\""), "{}", page.html);
    assert!(
        page.html.contains(&format!("src=\"{BASE}/img/logo.png\"")),
        "{}",
        page.html
    );
    let targets: Vec<(usize, LinkTarget)> = page
        .links
        .iter()
        .map(|l| (l.line, l.target.clone()))
        .collect();
    assert_eq!(
        targets,
        vec![
            (
                1,
                LinkTarget::Page {
                    path: "index.md".into(),
                    anchor: None
                }
            ),
            (
                2,
                LinkTarget::Page {
                    path: "guide/other.md".into(),
                    anchor: Some("part".into())
                }
            ),
            (
                3,
                LinkTarget::Page {
                    path: "guide/sub/index.md".into(),
                    anchor: None
                }
            ),
            (
                4,
                LinkTarget::Page {
                    path: "guide/page.md".into(),
                    anchor: Some("top".into())
                }
            ),
            (
                5,
                LinkTarget::File {
                    path: "img/logo.png".into()
                }
            ),
            (6, LinkTarget::Outside),
        ]
    );
    assert_eq!(page_url(BASE, "index.md"), BASE);
    assert_eq!(page_url(BASE, "a/index.md"), format!("{BASE}/a"));
}

#[test]
fn plain_text_for_search_leaves_markup_out() {
    let page = render_page(
        "# Runbook\n\nRestart the **pods** with `kubectl`.\n\n!!! note \"Careful\"\n    Only in business hours.\n",
        "runbook.md",
        BASE,
    );
    assert_eq!(
        page.text,
        "Runbook Restart the pods with kubectl. Careful Only in business hours."
    );
}

#[test]
fn line_numbers_of_links_count_admonition_bodies() {
    let page = render_page(
        "# T\n\n!!! note\n    See [x](missing.md).\n\nAnd [y](gone.md).\n",
        "index.md",
        BASE,
    );
    let lines: Vec<(usize, &str)> = page
        .links
        .iter()
        .map(|l| (l.line, l.link.as_str()))
        .collect();
    assert_eq!(lines, vec![(4, "missing.md"), (6, "gone.md")]);
}
