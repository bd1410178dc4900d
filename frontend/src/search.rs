//! The search box's rules in plain Rust (no DOM): the query sent for what the user typed and
//! the filters chosen, and a result's snippet read into plain text and highlighted parts.
//!
//! The server's `snippet` is HTML-escaped with matches in `<mark>`…`</mark>`; the page never
//! sets it as markup: [`snippet_parts`] turns it back into text, and the view builds `<mark>`
//! elements itself around text nodes.

/// How long typing must pause before a search is sent, in milliseconds.
pub const DEBOUNCE_MS: f64 = 250.0;

/// The fewest characters worth a search.
pub const MIN_CHARS: usize = 2;

/// Results asked for at once.
pub const LIMIT: usize = 20;

/// The `q` for `typed` and a person filter (`from:NAME`), or `None` when there is too little to
/// search for. A room filter goes in `room=`, not in `q`.
pub fn query(typed: &str, person: &str) -> Option<String> {
    let typed = typed.trim();
    let person = person.trim().trim_start_matches('@');
    let mut q = String::new();
    if typed.chars().count() >= MIN_CHARS {
        q.push_str(typed);
    }
    if !person.is_empty() && !person.contains(char::is_whitespace) {
        if !q.is_empty() {
            q.push(' ');
        }
        q.push_str("from:");
        q.push_str(person);
    }
    (!q.is_empty()).then_some(q)
}

/// `snippet` as `(text, highlighted)` parts, entities decoded.
pub fn snippet_parts(snippet: &str) -> Vec<(String, bool)> {
    let mut out = Vec::new();
    let mut rest = snippet;
    let mut marked = false;
    loop {
        let tag = if marked { "</mark>" } else { "<mark>" };
        let (part, next) = match rest.find(tag) {
            Some(at) => (&rest[..at], Some(&rest[at + tag.len()..])),
            None => (rest, None),
        };
        if !part.is_empty() {
            out.push((unescape(part), marked));
        }
        match next {
            Some(next) => {
                rest = next;
                marked = !marked;
            }
            None => return out,
        }
    }
}

/// Decodes the entities an HTML-escaping server writes.
fn unescape(s: &str) -> String {
    if !s.contains('&') {
        return s.to_string();
    }
    s.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&#x27;", "'")
        .replace("&amp;", "&")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    #[test]
    fn the_query_joins_words_and_the_person() {
        assert_eq!(query(" deploy  ", ""), Some("deploy".into()));
        assert_eq!(query("d", ""), None, "one character is too little");
        assert_eq!(query("d", "@grace"), Some("from:grace".into()));
        assert_eq!(query("deploy", "grace"), Some("deploy from:grace".into()));
        assert_eq!(query("", "two words"), None);
    }

    #[test]
    fn a_snippet_becomes_text_and_highlights() {
        assert_eq!(
            snippet_parts("the <mark>deploy</mark> is &lt;b&gt; &amp; <mark>done</mark>"),
            [
                ("the ".to_string(), false),
                ("deploy".to_string(), true),
                (" is <b> & ".to_string(), false),
                ("done".to_string(), true),
            ]
        );
        assert_eq!(snippet_parts("plain"), [("plain".to_string(), false)]);
        assert_eq!(snippet_parts("<mark>x"), [("x".to_string(), true)]);
    }
}
