//! Browser notifications for mentions and direct messages that arrive while the page is hidden,
//! once the user allowed them (the permission is asked only from a button press).

use wasm_bindgen::JsCast;
use web_sys::{Notification, NotificationOptions, NotificationPermission};

use crate::state::Alert;

/// Whether this browser has notifications at all.
pub fn supported() -> bool {
    js_sys::Reflect::has(&leptos::prelude::window(), &"Notification".into()).unwrap_or(false)
}

/// Whether the user allowed notifications.
pub fn allowed() -> bool {
    supported() && Notification::permission() == NotificationPermission::Granted
}

/// Whether the browser still has to ask the user (neither allowed nor blocked yet).
pub fn undecided() -> bool {
    supported() && Notification::permission() == NotificationPermission::Default
}

/// Whether notifications are blocked for this site (only its site settings can undo that).
pub fn blocked() -> bool {
    supported() && Notification::permission() == NotificationPermission::Denied
}

/// Asks the user (from a click); `done` gets whether they allowed it.
pub fn request(done: impl FnOnce(bool) + 'static) {
    if !supported() {
        return done(false);
    }
    let Ok(promise) = Notification::request_permission() else {
        return done(false);
    };
    leptos::task::spawn_local(async move {
        let answer = wasm_bindgen_futures::JsFuture::from(promise).await;
        done(answer.ok().and_then(|v| v.as_string()).as_deref() == Some("granted"));
    });
}

/// Shows `alert` when allowed; otherwise nothing (the badges and the title still count).
pub fn show(alert: &Alert) {
    if !allowed() {
        return;
    }
    let options = NotificationOptions::new();
    options.set_body(&alert.body);
    if let Ok(n) = Notification::new_with_options(&alert.title, &options) {
        // Clicking the notification brings the page back.
        let focus = wasm_bindgen::closure::Closure::<dyn FnMut()>::new(|| {
            let _ = leptos::prelude::window().focus();
        });
        n.set_onclick(Some(focus.as_ref().unchecked_ref()));
        focus.forget();
    }
}
