//! "Skip to the message box": the first thing a keyboard user reaches, shown only when focused.
//! It moves focus itself (the address's fragment names the room, so no `#id` link).

use leptos::prelude::*;

/// The skip link at the top of the page.
#[component]
pub fn SkipLink() -> impl IntoView {
    let skip = move |ev: leptos::ev::MouseEvent| {
        ev.prevent_default();
        if let Ok(Some(el)) = document().query_selector("#composer-input")
            && let Ok(el) = wasm_bindgen::JsCast::dyn_into::<web_sys::HtmlElement>(el)
        {
            let _ = el.focus();
        }
    };
    view! {
        <a class="skip-link" id="skip-link" href="#composer-input" on:click=skip>
            "Skip to the message box"
        </a>
    }
}
