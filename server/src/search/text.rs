//! Text as the index sees it, and snippets as a client sees them.
//!
//! - [`prepare`]: a message's text for the index. CJK characters (Han, kana, Hangul) get a
//!   zero-width space between them, which `unicode61` takes as a separator: each is one token,
//!   and a CJK query becomes the phrase of its characters (found at any length, where trigrams
//!   need three). The two private-use characters that mark matches ([`OPEN`], [`CLOSE`]) are
//!   replaced in what is indexed, so no text can forge a mark.
//! - [`snippet`]: FTS5's `highlight()` output (matches between [`OPEN`] and [`CLOSE`]) cut to a
//!   window around the first match, every character HTML-escaped and the marks turned into
//!   `<mark>`/`</mark>`.

/// Where `highlight()` opens and closes a match (private-use characters).
pub const OPEN: char = '\u{E000}';
pub const CLOSE: char = '\u{E001}';
/// Put between CJK characters in the `words` body; taken out again in what is shown.
const ZWSP: char = '\u{200B}';

/// Characters of a snippet around its first match, at most (then `…` at a cut end).
const SNIPPET_CHARS: usize = 160;
/// Characters kept before the first match when the text is cut.
const SNIPPET_LEAD: usize = 40;

/// One message to index.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Doc {
    pub room: String,
    pub seq: u64,
    pub user: String,
    pub ts: u64,
    pub text: String,
    /// A conversation's two members.
    pub members: Option<(String, String)>,
}

/// Whether `c` is written without spaces between words (Han, kana, Hangul, CJK punctuation
/// excluded).
pub fn is_cjk(c: char) -> bool {
    matches!(c as u32,
        0x3040..=0x30FF        // Hiragana, Katakana
        | 0x3400..=0x4DBF      // CJK Extension A
        | 0x4E00..=0x9FFF      // CJK Unified Ideographs
        | 0xAC00..=0xD7AF      // Hangul syllables
        | 0xF900..=0xFAFF      // CJK Compatibility Ideographs
        | 0x20000..=0x2FA1F) // CJK Extensions B..
}

/// The text kept (marks replaced) and, when it holds CJK, the body the `words` index reads.
pub fn prepare(text: &str) -> (String, Option<String>) {
    let clean: String = text
        .chars()
        .map(|c| match c {
            OPEN | CLOSE => '\u{FFFD}',
            c => c,
        })
        .collect();
    let body = spaced(&clean.replace(ZWSP, ""));
    let body = (body != clean).then_some(body);
    (clean, body)
}

/// `text` with a zero-width space on each side of every CJK character.
pub fn spaced(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if is_cjk(c) {
            out.push(ZWSP);
            out.push(c);
            out.push(ZWSP);
        } else {
            out.push(c);
        }
    }
    out
}

/// `text` with every occurrence of each term marked (ASCII case folded), as `highlight()` would
/// mark a match: for substring matches, which the `grams` index cannot highlight.
pub fn mark(text: &str, terms: &[String]) -> String {
    let lower = text.to_ascii_lowercase();
    let mut marked = vec![false; text.len()];
    for t in terms {
        let t = t.to_ascii_lowercase();
        if t.is_empty() {
            continue;
        }
        for (at, _) in lower.match_indices(&t) {
            marked[at..at + t.len()].iter_mut().for_each(|m| *m = true);
        }
    }
    let mut out = String::with_capacity(text.len() + 8);
    let mut open = false;
    for (i, c) in text.char_indices() {
        if marked[i] != open {
            out.push(if open { CLOSE } else { OPEN });
            open = marked[i];
        }
        out.push(c);
    }
    if open {
        out.push(CLOSE);
    }
    out
}

/// A snippet from `highlight()` output; see the module docs.
pub fn snippet(highlighted: &str) -> String {
    let chars: Vec<char> = highlighted.chars().filter(|&c| c != ZWSP).collect();
    let first = chars.iter().position(|&c| c == OPEN).unwrap_or(0);
    let visible = chars.iter().filter(|&&c| c != OPEN && c != CLOSE).count();
    let (start, end) = if visible <= SNIPPET_CHARS {
        (0, chars.len())
    } else {
        let start = first.saturating_sub(SNIPPET_LEAD);
        (start, (start + SNIPPET_CHARS).min(chars.len()))
    };
    let mut out = String::with_capacity((end - start) * 2);
    if start > 0 {
        out.push('…');
    }
    let mut open = false;
    for &c in &chars[start..end] {
        match c {
            OPEN => {
                open = true;
                out.push_str("<mark>");
            }
            CLOSE => {
                open = false;
                out.push_str("</mark>");
            }
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    if open {
        out.push_str("</mark>");
    }
    if end < chars.len() {
        out.push('…');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cjk_is_spaced_and_marks_cannot_be_forged() {
        let (text, body) = prepare("deploy 東京 \u{E000}x");
        assert_eq!(text, "deploy 東京 \u{FFFD}x");
        assert_eq!(
            body.as_deref(),
            Some("deploy \u{200B}東\u{200B}\u{200B}京\u{200B} \u{FFFD}x")
        );
        assert_eq!(prepare("plain").1, None);
    }

    #[test]
    fn snippets_escape_everything_but_the_marks() {
        let h = "a <b>&\"' \u{E000}deploy\u{E001} \u{200B}東\u{200B}";
        assert_eq!(
            snippet(h),
            "a &lt;b&gt;&amp;&quot;&#39; <mark>deploy</mark> 東"
        );
    }

    #[test]
    fn substrings_are_marked_case_folded() {
        let terms = ["PLOY".to_owned(), "東京".to_owned()];
        assert_eq!(
            snippet(&mark("Deploy to 東京, deploy", &terms)),
            "De<mark>ploy</mark> to <mark>東京</mark>, de<mark>ploy</mark>"
        );
    }

    #[test]
    fn long_texts_are_cut_around_the_first_match() {
        let h = format!(
            "{} \u{E000}needle\u{E001} {}",
            "x".repeat(300),
            "y".repeat(300)
        );
        let s = snippet(&h);
        assert!(s.starts_with('…') && s.ends_with('…'), "{s}");
        assert!(s.contains("<mark>needle</mark>"), "{s}");
        assert!(s.chars().count() <= SNIPPET_CHARS + 2 + 13, "{s}");
    }
}
