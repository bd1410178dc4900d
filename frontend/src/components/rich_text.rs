//! A message's text as DOM nodes, from the [`crate::markup`] tree: text nodes and a fixed set of
//! elements (`p`, `strong`, `em`, `code`, `pre`, `a`, `span`). Never HTML from text.

use leptos::prelude::*;

use crate::markup::{Block, Span, parse};

/// The blocks of `text`; `@me` mentions are marked.
pub fn rich_text(text: &str, me: &str) -> AnyView {
    parse(text)
        .into_iter()
        .map(|block| match block {
            Block::Para(spans) => view! { <p>{spans_view(spans, me)}</p> }.into_any(),
            Block::Code(code) => view! {
                <pre>
                    <code>{code}</code>
                </pre>
            }
            .into_any(),
        })
        .collect_view()
        .into_any()
}

fn spans_view(spans: Vec<Span>, me: &str) -> Vec<AnyView> {
    spans
        .into_iter()
        .map(|span| match span {
            Span::Text(t) => t.into_any(),
            Span::Bold(inner) => view! { <strong>{spans_view(inner, me)}</strong> }.into_any(),
            Span::Italic(inner) => view! { <em>{spans_view(inner, me)}</em> }.into_any(),
            Span::Code(code) => view! { <code>{code}</code> }.into_any(),
            Span::Link(url) => {
                let shown = url.clone();
                view! {
                    <a href=url target="_blank" rel="noopener noreferrer">
                        {shown}
                    </a>
                }
                .into_any()
            }
            Span::Mention(name) => {
                let is_me = !me.is_empty() && name.eq_ignore_ascii_case(me);
                view! {
                    <span class="mention" class:me=is_me>
                        "@"
                        {name}
                    </span>
                }
                .into_any()
            }
        })
        .collect()
}
