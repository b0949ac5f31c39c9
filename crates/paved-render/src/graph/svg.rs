//! SVG drawing of a finished layout, XML escaping of everything that comes from input, and the
//! message drawings shown instead of an empty or oversized graph.

use std::fmt::Write;

use super::routing::{EDGE_LABEL_HEIGHT, EDGE_LABEL_PADDING};
use super::text::{
    DETAIL_FONT_SIZE, EDGE_LABEL_FONT_SIZE, LABEL_FONT_SIZE, NODE_PADDING, display_label,
    fit_detail, fit_label, single_line, text_room, text_width,
};
use super::{Direction, Graph, Layout, LayoutOptions, Point, Segment};

/// A light and dark theme for the class vocabulary described in the module documentation. The
/// portal can serve it with its pages, or set [`LayoutOptions::embed_stylesheet`] to carry it
/// inside the SVG.
pub const DEFAULT_STYLESHEET: &str = r#"
.paved-graph { color: #8c959f; font-family: system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; }
.paved-graph .edge { fill: none; stroke: #8c959f; stroke-width: 1.4; }
.paved-graph .edge.reversed { stroke-dasharray: 6 3; }
.paved-graph .edge-arrow { fill: #8c959f; }
.paved-graph .edge-label text { fill: #59636e; }
.paved-graph .edge-label-bg { fill: #ffffff; fill-opacity: 0.9; }
.paved-graph .node-box { fill: #ffffff; stroke: #8c959f; stroke-width: 1.2; }
.paved-graph .kind-component .node-box { fill: #ddf4ff; stroke: #54aeff; }
.paved-graph .kind-api .node-box { fill: #dafbe1; stroke: #4ac26b; }
.paved-graph .kind-resource .node-box { fill: #fff1e5; stroke: #fb8f44; }
.paved-graph .kind-system .node-box { fill: #fbefff; stroke: #c297ff; }
.paved-graph .kind-domain .node-box { fill: #ffeff7; stroke: #ff80c8; }
.paved-graph .kind-group .node-box, .paved-graph .kind-user .node-box { fill: #f6f8fa; stroke: #afb8c1; }
.paved-graph .node-label { fill: #1f2328; font-weight: 600; }
.paved-graph .node-detail { fill: #59636e; }
.paved-graph .node.critical .node-box { stroke: #cf222e; stroke-width: 2; }
.paved-graph .critical-badge circle { fill: #cf222e; }
.paved-graph .critical-badge text { fill: #ffffff; font-weight: 700; }
.paved-graph .node.focus .node-box { stroke: #0969da; stroke-width: 3; }
.paved-graph .node-link:hover .node-box, .paved-graph .node-link:focus-visible .node-box { stroke-width: 3; }
.paved-graph .node-link:focus-visible { outline: 2px solid #0969da; outline-offset: 2px; }
.paved-graph .message { fill: #59636e; }
@media (prefers-color-scheme: dark) {
  .paved-graph { color: #6e7681; }
  .paved-graph .edge { stroke: #6e7681; }
  .paved-graph .edge-arrow { fill: #6e7681; }
  .paved-graph .edge-label text { fill: #9198a1; }
  .paved-graph .edge-label-bg { fill: #0d1117; }
  .paved-graph .node-box { fill: #151b23; stroke: #3d444d; }
  .paved-graph .kind-component .node-box { fill: #0c2d4f; stroke: #1f6feb; }
  .paved-graph .kind-api .node-box { fill: #0f2f1a; stroke: #2ea043; }
  .paved-graph .kind-resource .node-box { fill: #3a1d0b; stroke: #db6d28; }
  .paved-graph .kind-system .node-box { fill: #2c1a4a; stroke: #a371f7; }
  .paved-graph .kind-domain .node-box { fill: #3b1028; stroke: #db61a2; }
  .paved-graph .kind-group .node-box, .paved-graph .kind-user .node-box { fill: #151b23; stroke: #656c76; }
  .paved-graph .node-label { fill: #f0f6fc; }
  .paved-graph .node-detail { fill: #9198a1; }
  .paved-graph .node.critical .node-box { stroke: #f85149; }
  .paved-graph .critical-badge circle { fill: #da3633; }
  .paved-graph .node.focus .node-box { stroke: #4493f8; }
  .paved-graph .node-link:focus-visible { outline-color: #4493f8; }
  .paved-graph .message { fill: #9198a1; }
}
"#;

/// Draws a layout made by [`super::layout`] from the same `graph` and `options`.
pub fn render_layout(graph: &Graph, layout: &Layout, options: &LayoutOptions) -> String {
    let prefix = id_token(&options.id_prefix);
    let mut out = String::with_capacity(1024 + layout.nodes.len() * 700 + layout.edges.len() * 300);
    let direction = match layout.direction {
        Direction::LeftToRight => "direction-lr",
        Direction::TopToBottom => "direction-tb",
    };
    let _ = writeln!(
        out,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"paved-graph {direction}\" \
         viewBox=\"0 0 {w} {h}\" width=\"{w}\" height=\"{h}\" role=\"group\" \
         aria-labelledby=\"{prefix}-title\" aria-describedby=\"{prefix}-desc\">",
        w = number(layout.width),
        h = number(layout.height),
    );
    let _ = write!(out, "<title id=\"{prefix}-title\">");
    escape_into(&mut out, &options.title);
    let _ = writeln!(
        out,
        "</title>\n<desc id=\"{prefix}-desc\">{}, {}.</desc>",
        counted(layout.nodes.len(), "entity", "entities"),
        counted(layout.edges.len(), "relation", "relations"),
    );
    if options.embed_stylesheet {
        let _ = writeln!(out, "<style>{DEFAULT_STYLESHEET}</style>");
    }
    // One marker serves both ends: `auto-start-reverse` turns it around at a path's start.
    let _ = writeln!(
        out,
        "<defs><marker id=\"{prefix}-arrow\" viewBox=\"0 0 10 10\" refX=\"10\" refY=\"5\" \
         markerWidth=\"9\" markerHeight=\"9\" markerUnits=\"userSpaceOnUse\" \
         orient=\"auto-start-reverse\"><path class=\"edge-arrow\" d=\"M0,0L10,5L0,10z\" \
         fill=\"currentColor\"/></marker></defs>"
    );

    let name_of = |index: usize| graph.nodes.get(index).map_or("", display_label);

    out.push_str("<g class=\"edges\">\n");
    for edge in &layout.edges {
        out.push_str("<path class=\"edge");
        for relation in &edge.relations {
            out.push_str(" rel-");
            out.push_str(&class_token(relation, false));
        }
        if edge.reversed {
            out.push_str(" reversed");
        }
        if edge.both_directions {
            out.push_str(" both-directions");
        }
        if edge.self_loop {
            out.push_str(" self-loop");
        }
        out.push_str("\" d=\"");
        path_data(&mut out, edge.start, &edge.segments);
        let _ = write!(
            out,
            "\" fill=\"none\" stroke=\"currentColor\" marker-end=\"url(#{prefix}-arrow)\""
        );
        if edge.both_directions {
            let _ = write!(out, " marker-start=\"url(#{prefix}-arrow)\"");
        }
        out.push_str("><title>");
        escape_into(&mut out, name_of(edge.from));
        let verb = if edge.relations.is_empty() {
            "→".to_owned()
        } else {
            edge.relations.join(", ")
        };
        out.push(' ');
        escape_into(&mut out, &verb);
        out.push(' ');
        escape_into(&mut out, name_of(edge.to));
        out.push_str("</title></path>\n");
    }
    out.push_str("</g>\n");

    let labelled: Vec<_> = layout
        .edges
        .iter()
        .filter_map(|edge| edge.label_at.map(|at| (edge, at)))
        .filter(|(edge, _)| !edge.relations.is_empty())
        .collect();
    if !labelled.is_empty() {
        out.push_str("<g class=\"edge-labels\">\n");
        for (edge, at) in labelled {
            let text = single_line(&edge.relations.join(", ")).into_owned();
            let width = text_width(&text, EDGE_LABEL_FONT_SIZE) + 2.0 * EDGE_LABEL_PADDING;
            out.push_str("<g class=\"edge-label");
            for relation in &edge.relations {
                out.push_str(" rel-");
                out.push_str(&class_token(relation, false));
            }
            let _ = write!(
                out,
                "\"><rect class=\"edge-label-bg\" x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" \
                 rx=\"3\" fill=\"none\"/><text x=\"{}\" y=\"{}\" font-size=\"{}\" \
                 text-anchor=\"middle\">",
                number(at.x - width / 2.0),
                number(at.y - EDGE_LABEL_HEIGHT / 2.0),
                number(width),
                number(EDGE_LABEL_HEIGHT),
                number(at.x),
                number(at.y + EDGE_LABEL_FONT_SIZE * 0.35),
                number(EDGE_LABEL_FONT_SIZE),
            );
            escape_into(&mut out, &text);
            out.push_str("</text></g>\n");
        }
        out.push_str("</g>\n");
    }

    out.push_str("<g class=\"nodes\">\n");
    for placed in &layout.nodes {
        let Some(node) = graph.nodes.get(placed.node) else {
            continue;
        };
        let href = safe_href(&node.href);
        if let Some(href) = href {
            out.push_str("<a class=\"node-link\" href=\"");
            escape_into(&mut out, href);
            out.push('"');
            if node.focus {
                out.push_str(" aria-current=\"page\"");
            }
            out.push('>');
        }
        out.push_str("<g class=\"node kind-");
        out.push_str(&class_token(&node.kind, true));
        if node.critical {
            out.push_str(" critical");
        }
        if node.focus {
            out.push_str(" focus");
        }
        out.push_str("\">");

        out.push_str("<title>");
        escape_into(&mut out, display_label(node));
        if let Some(detail) = node.detail.as_deref().filter(|d| !d.trim().is_empty()) {
            out.push('\n');
            escape_into(&mut out, detail);
        }
        if node.critical {
            out.push_str("\nCritical tier");
        }
        out.push_str("</title>");

        let _ = write!(
            out,
            "<rect class=\"node-box\" x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" rx=\"6\" \
             fill=\"none\" stroke=\"currentColor\"/>",
            number(placed.x),
            number(placed.y),
            number(placed.width),
            number(placed.height),
        );
        let room = text_room(node, placed.width);
        let text_x = placed.x + NODE_PADDING;
        let detail = node
            .detail
            .as_deref()
            .map(single_line)
            .filter(|detail| !detail.is_empty());
        let label_baseline = if detail.is_some() {
            placed.y + 19.0
        } else {
            placed.y + placed.height / 2.0 + LABEL_FONT_SIZE * 0.35
        };
        let label = single_line(display_label(node));
        let _ = write!(
            out,
            "<text class=\"node-label\" x=\"{}\" y=\"{}\" font-size=\"{}\">",
            number(text_x),
            number(label_baseline),
            number(LABEL_FONT_SIZE),
        );
        escape_into(&mut out, &fit_label(&label, room));
        out.push_str("</text>");
        if let Some(detail) = detail {
            let _ = write!(
                out,
                "<text class=\"node-detail\" x=\"{}\" y=\"{}\" font-size=\"{}\">",
                number(text_x),
                number(placed.y + 34.0),
                number(DETAIL_FONT_SIZE),
            );
            escape_into(&mut out, &fit_detail(&detail, room));
            out.push_str("</text>");
        }
        if node.critical {
            let centre = Point {
                x: placed.x + placed.width - NODE_PADDING - 6.0,
                y: label_baseline - LABEL_FONT_SIZE * 0.35,
            };
            let _ = write!(
                out,
                "<g class=\"critical-badge\"><circle cx=\"{}\" cy=\"{}\" r=\"7\" \
                 fill=\"currentColor\"/><text x=\"{}\" y=\"{}\" font-size=\"11\" \
                 text-anchor=\"middle\">!</text></g>",
                number(centre.x),
                number(centre.y),
                number(centre.x),
                number(centre.y + 4.0),
            );
        }
        out.push_str("</g>");
        if href.is_some() {
            out.push_str("</a>");
        }
        out.push('\n');
    }
    out.push_str("</g>\n</svg>\n");
    out
}

/// A small drawing holding only `message`, for graphs that are not drawn.
pub(super) fn message_svg(options: &LayoutOptions, message: &str, class: &str) -> String {
    let prefix = id_token(&options.id_prefix);
    let width = (text_width(message, LABEL_FONT_SIZE) + 40.0)
        .max(240.0)
        .ceil();
    let mut out = String::new();
    let _ = write!(
        out,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"paved-graph {class}\" \
         viewBox=\"0 0 {w} 56\" width=\"{w}\" height=\"56\" role=\"img\" \
         aria-labelledby=\"{prefix}-title\" aria-describedby=\"{prefix}-message\">\n<title id=\"{prefix}-title\">",
        w = number(width),
    );
    escape_into(&mut out, &options.title);
    out.push_str("</title>\n");
    if options.embed_stylesheet {
        let _ = writeln!(out, "<style>{DEFAULT_STYLESHEET}</style>");
    }
    let _ = write!(
        out,
        "<text id=\"{prefix}-message\" class=\"message\" x=\"20\" y=\"32\" font-size=\"{}\" \
         fill=\"currentColor\">",
        number(LABEL_FONT_SIZE)
    );
    escape_into(&mut out, message);
    out.push_str("</text>\n</svg>\n");
    out
}

fn counted(count: usize, one: &str, many: &str) -> String {
    format!("{count} {}", if count == 1 { one } else { many })
}

fn path_data(out: &mut String, start: Point, segments: &[Segment]) {
    let _ = write!(out, "M{},{}", number(start.x), number(start.y));
    for segment in segments {
        match *segment {
            Segment::Line { to } => {
                let _ = write!(out, "L{},{}", number(to.x), number(to.y));
            }
            Segment::Cubic {
                control1,
                control2,
                to,
            } => {
                let _ = write!(
                    out,
                    "C{},{} {},{} {},{}",
                    number(control1.x),
                    number(control1.y),
                    number(control2.x),
                    number(control2.y),
                    number(to.x),
                    number(to.y),
                );
            }
        }
    }
}

/// Coordinates to a tenth of a unit, without a trailing `.0`: shorter output, same picture.
fn number(value: f64) -> String {
    let tenths = (value * 10.0).round();
    if !tenths.is_finite() {
        return "0".to_owned();
    }
    if tenths % 10.0 == 0.0 {
        format!("{}", (tenths / 10.0) as i64)
    } else {
        format!("{:.1}", tenths / 10.0)
    }
}

/// Characters XML 1.0 cannot carry at all.
fn is_xml_char(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..)
}

/// Escapes text for element content and double- or single-quoted attributes; characters XML
/// cannot carry become U+FFFD.
pub(super) fn escape_into(out: &mut String, text: &str) {
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c if is_xml_char(c) => out.push(c),
            _ => out.push('\u{FFFD}'),
        }
    }
}

/// A CSS class token from input: ASCII letters, digits, `-` and `_` kept, anything else `-`.
fn class_token(text: &str, lower_case: bool) -> String {
    let token: String = text
        .trim()
        .chars()
        .take(64)
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                if lower_case {
                    c.to_ascii_lowercase()
                } else {
                    c
                }
            } else {
                '-'
            }
        })
        .collect();
    if token.is_empty() {
        "unknown".to_owned()
    } else {
        token
    }
}

/// An id prefix that is a valid XML name and safe inside `url(#…)`.
fn id_token(text: &str) -> String {
    let token = class_token(text, false);
    if token.starts_with(|c: char| c.is_ascii_alphabetic()) {
        token
    } else {
        format!("g-{token}")
    }
}

/// The link target, unless it names a scheme that runs code (`javascript:`, `data:`, …): only
/// relative references and http, https and mailto links are kept. Browsers ignore tabs, line
/// breaks and leading spaces in a scheme, so those are ignored when reading it.
pub(super) fn safe_href(href: &str) -> Option<&str> {
    let href = href.trim();
    if href.is_empty() {
        return None;
    }
    let significant: String = href
        .chars()
        .filter(|c| !c.is_ascii_control() && !c.is_whitespace())
        .take_while(|&c| c != '/' && c != '?' && c != '#')
        .collect();
    match significant.split_once(':') {
        None => Some(href),
        Some((scheme, _)) => {
            let scheme = scheme.to_ascii_lowercase();
            matches!(scheme.as_str(), "http" | "https" | "mailto").then_some(href)
        }
    }
}
