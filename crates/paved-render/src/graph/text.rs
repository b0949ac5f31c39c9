//! Text measurement without fonts: node box sizes and label truncation from per-character
//! width estimates, slightly generous so text stays inside its box in common sans-serif fonts.

use std::borrow::Cow;

use super::GraphNode;

pub(super) const LABEL_FONT_SIZE: f64 = 13.0;
pub(super) const DETAIL_FONT_SIZE: f64 = 11.0;
pub(super) const EDGE_LABEL_FONT_SIZE: f64 = 11.0;
/// Labels are drawn semi-bold, wider than regular text (wide fonts such as DejaVu Sans Bold
/// need all of this).
const LABEL_WEIGHT_FACTOR: f64 = 1.18;

pub(super) const NODE_PADDING: f64 = 10.0;
/// Room kept at the right of a critical node's text for its badge.
pub(super) const BADGE_ROOM: f64 = 18.0;
pub(super) const MIN_NODE_WIDTH: f64 = 96.0;
pub(super) const MAX_NODE_WIDTH: f64 = 220.0;
pub(super) const NODE_HEIGHT: f64 = 30.0;
pub(super) const NODE_HEIGHT_WITH_DETAIL: f64 = 44.0;

/// Advance of a character in ems, roughly as in common sans-serif fonts.
fn char_width_em(c: char) -> f64 {
    match c {
        'i' | 'j' | 'l' | '.' | ',' | ':' | ';' | '\'' | '!' | '|' | '`' => 0.3,
        'f' | 't' | 'r' | 'I' | ' ' | '(' | ')' | '[' | ']' | '/' | '\\' | '-' | '"' => 0.4,
        'm' | 'w' | 'M' | 'W' | '@' | '%' | '&' => 0.92,
        'A'..='Z' => 0.7,
        '0'..='9' => 0.6,
        c if c.is_ascii() => 0.58,
        // Combining marks and zero-width characters take no room of their own (so a cut never
        // separates a letter from its accent).
        '\u{0300}'..='\u{036F}' | '\u{200B}'..='\u{200F}' | '\u{FE00}'..='\u{FE0F}' => 0.0,
        c if is_wide(c) => 1.0,
        _ => 0.64,
    }
}

/// East Asian wide characters and emoji take a full em.
fn is_wide(c: char) -> bool {
    matches!(c as u32,
        0x1100..=0x115F
        | 0x2E80..=0xA4CF
        | 0xAC00..=0xD7A3
        | 0xF900..=0xFAFF
        | 0xFE30..=0xFE4F
        | 0xFF00..=0xFF60
        | 0xFFE0..=0xFFE6
        | 0x1F000..=0x1FAFF
        | 0x20000..=0x3FFFD)
}

pub(super) fn text_width(text: &str, font_size: f64) -> f64 {
    text.chars().map(char_width_em).sum::<f64>() * font_size
}

fn label_width(text: &str) -> f64 {
    text_width(text, LABEL_FONT_SIZE) * LABEL_WEIGHT_FACTOR
}

/// Runs of whitespace and control characters become one space: SVG text would collapse them
/// anyway, and measuring must see what is drawn.
pub(super) fn single_line(text: &str) -> Cow<'_, str> {
    let needs_work = text
        .chars()
        .any(|c| (c.is_whitespace() && c != ' ') || c.is_control())
        || text.contains("  ")
        || text.starts_with(' ')
        || text.ends_with(' ');
    if !needs_work {
        return Cow::Borrowed(text);
    }
    let mut line = String::with_capacity(text.len());
    for word in text
        .split(|c: char| c.is_whitespace() || c.is_control())
        .filter(|word| !word.is_empty())
    {
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(word);
    }
    Cow::Owned(line)
}

/// `text` cut to fit `max_width` (as measured by `measure`), ending with an ellipsis when cut.
fn fit_with(text: &str, max_width: f64, measure: impl Fn(&str) -> f64) -> Cow<'_, str> {
    if measure(text) <= max_width {
        return Cow::Borrowed(text);
    }
    let ellipsis = measure("…");
    let mut end = 0;
    let mut width = 0.0;
    for (index, c) in text.char_indices() {
        let mut buffer = [0u8; 4];
        let advance = measure(c.encode_utf8(&mut buffer));
        if width + advance + ellipsis > max_width {
            break;
        }
        width += advance;
        end = index + c.len_utf8();
    }
    let mut cut = text[..end].trim_end().to_owned();
    cut.push('…');
    Cow::Owned(cut)
}

pub(super) fn fit_label(text: &str, max_width: f64) -> Cow<'_, str> {
    fit_with(text, max_width, label_width)
}

pub(super) fn fit_detail(text: &str, max_width: f64) -> Cow<'_, str> {
    fit_with(text, max_width, |part| text_width(part, DETAIL_FONT_SIZE))
}

/// The name shown for a node: its label, or its entity reference when the label is blank.
pub(super) fn display_label(node: &GraphNode) -> &str {
    if node.label.trim().is_empty() {
        &node.id
    } else {
        &node.label
    }
}

/// Width available to the text lines of a node box of `width`.
pub(super) fn text_room(node: &GraphNode, width: f64) -> f64 {
    let badge = if node.critical { BADGE_ROOM } else { 0.0 };
    (width - 2.0 * NODE_PADDING - badge).max(0.0)
}

/// Width and height of a node's box: wide enough for its text up to a maximum, beyond which the
/// text is truncated.
pub(super) fn node_size(node: &GraphNode) -> (f64, f64) {
    let label = single_line(display_label(node));
    let mut text = label_width(&label);
    let detail = node.detail.as_deref().map(single_line);
    if let Some(detail) = detail.as_deref().filter(|detail| !detail.is_empty()) {
        text = text.max(text_width(detail, DETAIL_FONT_SIZE));
    }
    let badge = if node.critical { BADGE_ROOM } else { 0.0 };
    let width = (text + 2.0 * NODE_PADDING + badge)
        .ceil()
        .clamp(MIN_NODE_WIDTH, MAX_NODE_WIDTH);
    let height = if detail.is_some_and(|detail| !detail.is_empty()) {
        NODE_HEIGHT_WITH_DETAIL
    } else {
        NODE_HEIGHT
    };
    (width, height)
}
