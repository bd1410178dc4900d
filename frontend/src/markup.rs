//! A message's text as a small, safe tree: paragraphs, fenced code blocks, quotes (`> `) and
//! lists (`- `, `* `, `1. `); inside them bold (`**b**`), italic (`*i*`, `_i_`), strikethrough
//! (`~~s~~`), inline code, `http(s)` links and `@name` mentions.
//!
//! Plain Rust, no DOM: the view turns the tree into DOM nodes (text nodes and a fixed set of
//! elements), so a message can never inject HTML. Anything that is not recognised stays text,
//! character for character. Only `http://` and `https://` become links.
//!
//! Invariant: the concatenated text of the tree equals the message minus the markers it
//! consumed (`**`, `*`, `_`, `~~`, backticks, fence lines, quote and list markers); no character
//! is invented.

/// One block of a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Block {
    /// Running text (line breaks kept: the view uses `white-space: pre-wrap`).
    Para(Vec<Span>),
    /// A fenced code block (```` ``` ```` lines), shown monospace as written.
    Code(String),
    /// Consecutive `> ` lines, without their markers.
    Quote(Vec<Span>),
    /// Consecutive list items (`- `, `* `, or `1. ` when `ordered`), one per line.
    List {
        ordered: bool,
        items: Vec<Vec<Span>>,
    },
}

/// A piece of running text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Span {
    Text(String),
    Bold(Vec<Span>),
    Italic(Vec<Span>),
    Strike(Vec<Span>),
    Code(String),
    /// An `http://` or `https://` address, shown as itself.
    Link(String),
    /// `@name` (the name without the `@`).
    Mention(String),
}

/// Parses a message into blocks.
pub fn parse(text: &str) -> Vec<Block> {
    let mut blocks = Vec::new();
    let mut para: Vec<&str> = Vec::new();
    let mut lines = text.split('\n');
    while let Some(line) = lines.next() {
        if line.trim_start().starts_with("```") {
            let mut code: Vec<&str> = Vec::new();
            let mut closed = false;
            for inner in lines.by_ref() {
                if inner.trim_start().starts_with("```") {
                    closed = true;
                    break;
                }
                code.push(inner);
            }
            if !closed && code.is_empty() {
                // A lone fence is just text.
                para.push(line);
                continue;
            }
            flush_para(&mut blocks, &mut para);
            blocks.push(Block::Code(code.join("\n")));
            continue;
        }
        if let Some(kind) = line_kind(line) {
            flush_para(&mut blocks, &mut para);
            add_line(&mut blocks, kind);
            continue;
        }
        para.push(line);
    }
    flush_para(&mut blocks, &mut para);
    blocks
}

/// A quote or list line, without its marker.
enum Line<'a> {
    Quote(&'a str),
    Item(bool, &'a str),
}

fn line_kind(line: &str) -> Option<Line<'_>> {
    if let Some(rest) = line.strip_prefix("> ") {
        return Some(Line::Quote(rest));
    }
    if line == ">" {
        return Some(Line::Quote(""));
    }
    if let Some(rest) = line.strip_prefix("- ").or_else(|| line.strip_prefix("* ")) {
        return (!rest.trim().is_empty()).then_some(Line::Item(false, rest));
    }
    let digits = line.bytes().take_while(u8::is_ascii_digit).count();
    let rest = line[digits..].strip_prefix(". ")?;
    (digits > 0 && digits <= 9 && !rest.trim().is_empty()).then_some(Line::Item(true, rest))
}

/// Adds a quote or list line to the block before it when that is of the same kind.
fn add_line(blocks: &mut Vec<Block>, kind: Line<'_>) {
    match (blocks.last_mut(), kind) {
        (Some(Block::Quote(spans)), Line::Quote(text)) => {
            spans.push(Span::Text("\n".into()));
            spans.extend(inline(text));
        }
        (_, Line::Quote(text)) => blocks.push(Block::Quote(inline(text))),
        (Some(Block::List { ordered, items }), Line::Item(o, text)) if *ordered == o => {
            items.push(inline(text));
        }
        (_, Line::Item(ordered, text)) => blocks.push(Block::List {
            ordered,
            items: vec![inline(text)],
        }),
    }
}

fn flush_para(blocks: &mut Vec<Block>, para: &mut Vec<&str>) {
    if para.is_empty() {
        return;
    }
    let text = para.join("\n");
    para.clear();
    if text.trim().is_empty() && !blocks.is_empty() {
        return;
    }
    blocks.push(Block::Para(inline(&text)));
}

/// Parses running text into spans.
pub fn inline(text: &str) -> Vec<Span> {
    let chars: Vec<char> = text.chars().collect();
    let mut out = Vec::new();
    let mut plain = String::new();
    let mut i = 0;
    while i < chars.len() {
        let prev = if i == 0 { None } else { Some(chars[i - 1]) };
        if let Some((span, next)) = special(&chars, i, prev) {
            if !plain.is_empty() {
                out.push(Span::Text(std::mem::take(&mut plain)));
            }
            out.push(span);
            i = next;
        } else {
            plain.push(chars[i]);
            i += 1;
        }
    }
    if !plain.is_empty() {
        out.push(Span::Text(plain));
    }
    out
}

/// A span starting at `i`, and where the text after it starts.
fn special(c: &[char], i: usize, prev: Option<char>) -> Option<(Span, usize)> {
    let at_word_start = prev.is_none_or(|p| !is_word(p));
    match c[i] {
        '`' => {
            let end = find(c, i + 1, &['`'])?;
            (end > i + 1).then(|| (Span::Code(c[i + 1..end].iter().collect()), end + 1))
        }
        '*' if c.get(i + 1) == Some(&'*') => {
            let end = find(c, i + 2, &['*', '*'])?;
            let inner: String = c[i + 2..end].iter().collect();
            (!inner.trim().is_empty() && !c[i + 2].is_whitespace())
                .then(|| (Span::Bold(inline(&inner)), end + 2))
        }
        '~' if c.get(i + 1) == Some(&'~') => {
            let end = find(c, i + 2, &['~', '~'])?;
            let inner: String = c[i + 2..end].iter().collect();
            (!inner.trim().is_empty() && !c[i + 2].is_whitespace())
                .then(|| (Span::Strike(inline(&inner)), end + 2))
        }
        '*' | '_' if at_word_start => {
            let mark = c[i];
            let first = *c.get(i + 1)?;
            if first.is_whitespace() || first == mark {
                return None;
            }
            let mut end = find(c, i + 1, &[mark])?;
            // `_` must close at a word end (snake_case stays text).
            while mark == '_' && c.get(end + 1).is_some_and(|&n| is_word(n)) {
                end = find(c, end + 1, &[mark])?;
            }
            if c[end - 1].is_whitespace() {
                return None;
            }
            let inner: String = c[i + 1..end].iter().collect();
            Some((Span::Italic(inline(&inner)), end + 1))
        }
        'h' if at_word_start => link(c, i),
        '@' if at_word_start => {
            let mut end = i + 1;
            while end < c.len() && (is_word(c[end]) || c[end] == '.') {
                end += 1;
            }
            while end > i + 1 && c[end - 1] == '.' {
                end -= 1;
            }
            (end > i + 1).then(|| (Span::Mention(c[i + 1..end].iter().collect()), end))
        }
        _ => None,
    }
}

/// An `http://` or `https://` address at `i`, without trailing punctuation.
fn link(c: &[char], i: usize) -> Option<(Span, usize)> {
    let rest: String = c[i..c.len().min(i + 8)].iter().collect();
    let scheme = if rest.starts_with("https://") {
        8
    } else if rest.starts_with("http://") {
        7
    } else {
        return None;
    };
    let mut end = i;
    while end < c.len() && !c[end].is_whitespace() && !matches!(c[end], '<' | '>' | '"' | '`') {
        end += 1;
    }
    // Trailing punctuation belongs to the sentence; a `)` only when it closes nothing inside.
    while end > i + scheme {
        let last = c[end - 1];
        let opens = c[i..end].iter().filter(|&&x| x == '(').count();
        let closes = c[i..end].iter().filter(|&&x| x == ')').count();
        if matches!(last, '.' | ',' | ';' | ':' | '!' | '?' | '\'' | '*' | '_')
            || (last == ')' && closes > opens)
        {
            end -= 1;
        } else {
            break;
        }
    }
    (end > i + scheme).then(|| (Span::Link(c[i..end].iter().collect()), end))
}

/// The index of the first occurrence of `pat` at or after `from`.
fn find(c: &[char], from: usize, pat: &[char]) -> Option<usize> {
    (from..c.len().saturating_sub(pat.len() - 1)).find(|&j| c[j..j + pat.len()] == *pat)
}

/// Part of a word or a name (ASCII letters and digits, `_`, `-`, and any non-ASCII letter: the
/// Unicode tables are left out of the WASM on purpose).
fn is_word(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_' || c == '-' || (!c.is_ascii() && !c.is_whitespace())
}

/// The names that address everyone in the room: they count as a mention of each reader (the
/// badge, the notification and the highlight), as in Slack.
pub const EVERYONE: [&str; 2] = ["here", "everyone"];

/// Whether a mention of `name` (without the `@`) is for the user `me`: their own name, or
/// [`EVERYONE`].
pub fn is_for(name: &str, me: &str) -> bool {
    !me.is_empty()
        && (name.eq_ignore_ascii_case(me) || EVERYONE.iter().any(|e| name.eq_ignore_ascii_case(e)))
}

/// Whether `text` is for the user `me`: it mentions them, `@here` or `@everyone`.
pub fn mentions_me(text: &str, me: &str) -> bool {
    !me.is_empty() && (mentions(text, me) || EVERYONE.iter().any(|e| mentions(text, e)))
}

/// Whether `text` mentions `name` (`@name`, ASCII case ignored, not followed by more of a name).
pub fn mentions(text: &str, name: &str) -> bool {
    if name.is_empty() {
        return false;
    }
    let (t, n) = (text.as_bytes(), name.as_bytes());
    (0..t.len()).any(|at| {
        let end = at + 1 + n.len();
        t[at] == b'@'
            && end <= t.len()
            && t[at + 1..end].eq_ignore_ascii_case(n)
            && text[..at].chars().next_back().is_none_or(|p| !is_word(p))
            && text
                .get(end..)
                .is_some_and(|rest| rest.chars().next().is_none_or(|c| !is_word(c)))
    })
}

#[cfg(test)]
mod tests;
