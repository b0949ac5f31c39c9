//! Highlighted snippets: the words of a text that matched the query (exactly, as the prefix
//! being typed, or within one typo) wrapped in `<mark>`, everything HTML-escaped.
//!
//! tantivy's own snippet generator only knows exact terms; prefix and typo matches would go
//! unmarked, so the matching rules of the query are applied here once more.

use tantivy::tokenizer::TextAnalyzer;

pub const PRE_TAG: &str = "<mark>";
pub const POST_TAG: &str = "</mark>";

/// The query's terms as the highlighter matches them.
#[derive(Clone, Debug, Default)]
pub(crate) struct Highlighter {
    /// Lower-cased query terms.
    pub terms: Vec<String>,
    /// The last term when it is matched as a prefix.
    pub prefix: Option<String>,
    /// Minimum length of a term matched within one edit.
    pub fuzzy_min_chars: usize,
}

impl Highlighter {
    fn matches(&self, token: &str) -> bool {
        if let Some(prefix) = &self.prefix
            && token.starts_with(prefix.as_str())
        {
            return true;
        }
        self.terms.iter().any(|term| {
            term == token
                || (term.chars().count() >= self.fuzzy_min_chars && within_one_edit(term, token))
        })
    }

    /// The fragment of `text` (at most about `max_chars` bytes) around the first match, with
    /// every match marked. `None` when nothing matches.
    pub(crate) fn highlight(
        &self,
        analyzer: &mut TextAnalyzer,
        text: &str,
        max_chars: usize,
    ) -> Option<String> {
        if self.terms.is_empty() || text.is_empty() {
            return None;
        }
        let mut ranges = Vec::new();
        let mut stream = analyzer.token_stream(text);
        while let Some(token) = stream.next() {
            if self.matches(&token.text) {
                ranges.push(token.offset_from..token.offset_to);
            }
        }
        let first = ranges.first()?.start;
        let (start, end) = fragment_bounds(text, first, max_chars);
        let mut out = String::with_capacity(end - start + 32);
        if start > 0 {
            out.push('…');
        }
        let mut at = start;
        for range in &ranges {
            if range.start < start || range.end > end || range.start < at {
                continue;
            }
            escape_into(&mut out, &text[at..range.start]);
            out.push_str(PRE_TAG);
            escape_into(&mut out, &text[range.clone()]);
            out.push_str(POST_TAG);
            at = range.end;
        }
        escape_into(&mut out, &text[at..end]);
        if end < text.len() {
            out.push('…');
        }
        Some(out)
    }
}

/// A window of about `max_chars` bytes starting a little before `first`, cut at char
/// boundaries and, where possible, at spaces.
fn fragment_bounds(text: &str, first: usize, max_chars: usize) -> (usize, usize) {
    if text.len() <= max_chars {
        return (0, text.len());
    }
    let mut start = first.saturating_sub(max_chars / 4);
    while !text.is_char_boundary(start) {
        start -= 1;
    }
    if start > 0
        && let Some(space) = text[start..first].find(char::is_whitespace)
    {
        start += space + 1;
    }
    let mut end = (start + max_chars).min(text.len());
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    if end < text.len()
        && let Some(space) = text[first..end].rfind(char::is_whitespace)
    {
        end = first + space;
    }
    (start, end)
}

pub(crate) fn escape_into(out: &mut String, text: &str) {
    for c in text.chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#x27;"),
            c => out.push(c),
        }
    }
}

/// Levenshtein distance ≤ 1, a transposition of neighbours counting as one edit (what
/// `FuzzyTermQuery` with distance 1 and `transposition_cost_one` matches).
pub(crate) fn within_one_edit(a: &str, b: &str) -> bool {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    if a == b {
        return true;
    }
    let (short, long) = if a.len() <= b.len() {
        (&a, &b)
    } else {
        (&b, &a)
    };
    if long.len() - short.len() > 1 {
        return false;
    }
    let prefix = short
        .iter()
        .zip(long.iter())
        .take_while(|(x, y)| x == y)
        .count();
    if short.len() == long.len() {
        // One substitution, or one transposition of neighbours.
        let rest = prefix + 1;
        if short[rest..] == long[rest..] {
            return true;
        }
        prefix + 1 < short.len()
            && short[prefix] == long[prefix + 1]
            && short[prefix + 1] == long[prefix]
            && short[prefix + 2..] == long[prefix + 2..]
    } else {
        // One insertion.
        short[prefix..] == long[prefix + 1..]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn analyzer() -> TextAnalyzer {
        tantivy::tokenizer::TokenizerManager::default()
            .get("default")
            .expect("default tokenizer")
    }

    #[test]
    fn edits() {
        assert!(within_one_edit("checkout", "checkout"));
        assert!(within_one_edit("checkout", "chekout"));
        assert!(within_one_edit("checkout", "checkuot"));
        assert!(within_one_edit("checkout", "checkouts"));
        assert!(within_one_edit("checkout", "chxckout"));
        assert!(!within_one_edit("checkout", "chxckoux"));
        assert!(!within_one_edit("checkout", "check"));
    }

    #[test]
    fn marks_exact_prefix_and_typo_matches_and_escapes_the_rest() {
        let highlighter = Highlighter {
            terms: vec!["payment".into(), "ord".into()],
            prefix: Some("ord".into()),
            fuzzy_min_chars: 4,
        };
        let html = highlighter
            .highlight(&mut analyzer(), "<b>Paymnet</b> & orders service", 200)
            .expect("a match");
        assert_eq!(
            html,
            "&lt;b&gt;<mark>Paymnet</mark>&lt;/b&gt; &amp; <mark>orders</mark> service"
        );
        assert!(
            highlighter
                .highlight(&mut analyzer(), "nothing here", 200)
                .is_none()
        );
    }

    #[test]
    fn long_texts_are_cut_around_the_first_match() {
        let highlighter = Highlighter {
            terms: vec!["needle".into()],
            prefix: None,
            fuzzy_min_chars: 4,
        };
        let text = format!("{} needle {}", "hay ".repeat(100), "straw ".repeat(100));
        let html = highlighter
            .highlight(&mut analyzer(), &text, 80)
            .expect("a match");
        assert!(html.starts_with('…') && html.ends_with('…'), "{html}");
        assert!(html.contains("<mark>needle</mark>"));
        assert!(html.len() < 120);
    }
}
