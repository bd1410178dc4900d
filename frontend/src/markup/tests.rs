//! The markup subset, checked on plain strings (natively and under wasm-bindgen-test).

use super::*;

#[cfg(target_arch = "wasm32")]
use wasm_bindgen_test::wasm_bindgen_test as test;

fn t(s: &str) -> Span {
    Span::Text(s.into())
}

fn para(text: &str) -> Vec<Span> {
    match parse(text).as_slice() {
        [Block::Para(spans)] => spans.clone(),
        other => panic!("one paragraph expected: {other:?}"),
    }
}

#[test]
fn plain_text_stays_one_text_span() {
    assert_eq!(para("hello, world"), [t("hello, world")]);
    assert_eq!(para("hi ada\nsecond line"), [t("hi ada\nsecond line")]);
}

#[test]
fn markup_is_never_html() {
    let evil = "<script>alert(1)</script> <img src=x onerror=alert(2)>";
    assert_eq!(para(evil), [t(evil)]);
}

#[test]
fn bold_italic_and_code() {
    assert_eq!(
        para("a **bold** b"),
        [t("a "), Span::Bold(vec![t("bold")]), t(" b")]
    );
    assert_eq!(
        para("*it* and _it_"),
        [
            Span::Italic(vec![t("it")]),
            t(" and "),
            Span::Italic(vec![t("it")])
        ]
    );
    assert_eq!(
        para("run `cargo test` now"),
        [t("run "), Span::Code("cargo test".into()), t(" now")]
    );
    // Code keeps its markers literally.
    assert_eq!(para("`**x**`"), [Span::Code("**x**".into())]);
    assert_eq!(
        para("**bold _and italic_**"),
        [Span::Bold(vec![
            t("bold "),
            Span::Italic(vec![t("and italic")])
        ])]
    );
}

#[test]
fn lone_markers_stay_text() {
    for s in [
        "2*3*4",
        "snake_case_name",
        "a * b * c",
        "**",
        "``",
        "an `unclosed code",
        "**unclosed bold",
        "_ spaced _",
    ] {
        let joined: String = para(s)
            .iter()
            .map(|sp| match sp {
                Span::Text(x) => x.clone(),
                other => panic!("{s:?} made {other:?}"),
            })
            .collect();
        assert_eq!(joined, s);
    }
}

#[test]
fn links_are_http_and_https_only() {
    assert_eq!(
        para("see https://example.com/a?b=c#d."),
        [
            t("see "),
            Span::Link("https://example.com/a?b=c#d".into()),
            t(".")
        ]
    );
    assert_eq!(
        para("(http://x.org/wiki/A_(b))"),
        [t("("), Span::Link("http://x.org/wiki/A_(b)".into()), t(")")]
    );
    for s in [
        "javascript:alert(1)",
        "data:text/html,hi",
        "ftp://x.org",
        "xhttps://a.b",
        "https://",
    ] {
        assert!(
            !para(s).iter().any(|sp| matches!(sp, Span::Link(_))),
            "{s} is no link"
        );
    }
}

#[test]
fn mentions_are_found() {
    assert_eq!(
        para("hi @ada."),
        [t("hi "), Span::Mention("ada".into()), t(".")]
    );
    assert_eq!(para("mail ada@example.com"), [t("mail ada@example.com")]);
    assert!(mentions("ping @Ada, please", "ada"));
    assert!(mentions("@ada", "ada"));
    assert!(!mentions("@adam is here", "ada"));
    assert!(!mentions("ada@example.com", "ada"));
    assert!(!mentions("hello ada", "ada"));
    assert!(mentions("cc @grace hopper", "grace hopper"));
}

/// `@here` and `@everyone` are for every reader: highlighted and counted like a mention.
#[test]
fn here_and_everyone_are_for_everyone() {
    assert!(mentions_me("@here standup in 5", "ada"));
    assert!(mentions_me("ping @Everyone.", "ada"));
    assert!(!mentions_me("@hereafter", "ada"));
    assert!(!mentions_me("@here", ""));
    assert!(is_for("HERE", "ada") && is_for("Ada", "ada") && !is_for("bob", "ada"));
}

#[test]
fn fenced_code_blocks() {
    let text = "look:\n```\nfn main() {\n    **not bold**\n}\n```\nneat";
    assert_eq!(
        parse(text),
        [
            Block::Para(vec![t("look:")]),
            Block::Code("fn main() {\n    **not bold**\n}".into()),
            Block::Para(vec![t("neat")]),
        ]
    );
    // An unclosed fence runs to the end; a lone fence is text.
    assert_eq!(
        parse("```rust\nlet x = 1;"),
        [Block::Code("let x = 1;".into())]
    );
    assert_eq!(parse("```"), [Block::Para(vec![t("```")])]);
}

/// Quotes, lists and strikethrough are blocks and spans, not plain text.
#[test]
fn quotes_lists_and_strike() {
    assert_eq!(
        parse("> said\n> twice\nthen"),
        [
            Block::Quote(vec![t("said"), t("\n"), t("twice")]),
            Block::Para(vec![t("then")])
        ]
    );
    assert_eq!(
        parse("- one\n* **two**\n1. first\n2. second"),
        [
            Block::List {
                ordered: false,
                items: vec![vec![t("one")], vec![Span::Bold(vec![t("two")])]]
            },
            Block::List {
                ordered: true,
                items: vec![vec![t("first")], vec![t("second")]]
            }
        ]
    );
    assert_eq!(
        para("was ~~wrong~~ right"),
        [t("was "), Span::Strike(vec![t("wrong")]), t(" right")]
    );
    // Not markers: no space after them, a lone `~`, an empty item.
    assert_eq!(para(">quote"), [t(">quote")]);
    assert_eq!(para("~5 km, ~~ ~~"), [t("~5 km, ~~ ~~")]);
    assert_eq!(para("- "), [t("- ")]);
}
