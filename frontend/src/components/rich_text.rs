//! A message's text as DOM nodes, from the [`crate::markup`] tree: text nodes and a fixed set of
//! elements (`p`, `strong`, `em`, `del`, `code`, `pre`, `blockquote`, `ul`, `ol`, `li`, `a`,
//! `span`). Never HTML from text.
//!
//! Built with plain DOM calls rather than `view!`: one small function instead of a generic view
//! type per kind of span keeps the WASM light.

use leptos::prelude::document;
use web_sys::{Element, Node};

use crate::markup::{Block, Span, parse};

/// Fills `into` with the blocks of `text` (replacing what it held: a view rebuilt in place may
/// hand the same element again); `@me` mentions are marked.
pub fn fill(into: &Element, text: &str, me: &str) {
    into.set_text_content(None);
    for block in parse(text) {
        match block {
            Block::Para(spans) => {
                if let Some(p) = child(into, "p") {
                    add_spans(&p, spans, me);
                }
            }
            Block::Code(code) => {
                if let Some(code_el) = child(into, "pre").and_then(|pre| child(&pre, "code")) {
                    add_text(&code_el, &code);
                }
            }
            Block::Quote(spans) => {
                if let Some(q) = child(into, "blockquote") {
                    add_spans(&q, spans, me);
                }
            }
            Block::List { ordered, items } => {
                if let Some(list) = child(into, if ordered { "ol" } else { "ul" }) {
                    for item in items {
                        if let Some(li) = child(&list, "li") {
                            add_spans(&li, item, me);
                        }
                    }
                }
            }
        }
    }
}

fn add_spans(into: &Element, spans: Vec<Span>, me: &str) {
    for span in spans {
        match span {
            Span::Text(t) => add_text(into, &t),
            Span::Bold(inner) => {
                if let Some(el) = child(into, "strong") {
                    add_spans(&el, inner, me);
                }
            }
            Span::Italic(inner) => {
                if let Some(el) = child(into, "em") {
                    add_spans(&el, inner, me);
                }
            }
            Span::Strike(inner) => {
                if let Some(el) = child(into, "del") {
                    add_spans(&el, inner, me);
                }
            }
            Span::Code(code) => {
                if let Some(el) = child(into, "code") {
                    add_text(&el, &code);
                }
            }
            Span::Link(url) => {
                if let Some(a) = child(into, "a") {
                    let _ = a.set_attribute("href", &url);
                    let _ = a.set_attribute("target", "_blank");
                    let _ = a.set_attribute("rel", "noopener noreferrer");
                    add_text(&a, &url);
                }
            }
            Span::Mention(name) => {
                if let Some(el) = child(into, "span") {
                    let is_me = crate::markup::is_for(&name, me);
                    el.set_class_name(if is_me { "mention me" } else { "mention" });
                    add_text(&el, &format!("@{name}"));
                }
            }
        }
    }
}

/// Appends a new `tag` element to `parent`.
fn child(parent: &Element, tag: &str) -> Option<Element> {
    let el = document().create_element(tag).ok()?;
    parent.append_child(&el).ok()?;
    Some(el)
}

/// Appends `text` as a text node (never parsed as HTML).
fn add_text(parent: &Element, text: &str) {
    let node: Node = document().create_text_node(text).into();
    let _ = parent.append_child(&node);
}
