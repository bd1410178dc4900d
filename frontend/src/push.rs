//! Web Push in the browser: once the user allowed notifications (the sidebar's button), the app
//! registers the service worker the server serves at `/push-sw.js`, subscribes with the server's
//! VAPID key (`GET /api/push/key`) and hands the subscription to the server (`POST
//! /api/push/subscriptions`), so mentions and conversation messages reach the user when no tab
//! is open. A click on such a notification makes the worker focus a tab and post it
//! `{banter: "open", room, with}`: [`listen`] opens that room or conversation. Per-room mutes and
//! the previews setting are kept by the server (`/api/push/mutes/{room}`, `/api/push/settings`).
//!
//! The browser's APIs are reached through `js_sys::Reflect` (no extra `web-sys` features: the
//! app has a size budget).

use js_sys::{Array, Function, Object, Promise, Reflect};
use leptos::prelude::{With as _, WithUntracked as _, window};
use wasm_bindgen::closure::Closure;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;

use crate::api::Who;
use crate::socket::Chat;

/// Where the server serves the service worker.
pub const WORKER: &str = "/push-sw.js";

fn get(obj: &JsValue, key: &str) -> Option<JsValue> {
    Reflect::get(obj, &key.into())
        .ok()
        .filter(|v| !v.is_undefined() && !v.is_null())
}

/// Calls `obj.method(args…)`.
fn call(obj: &JsValue, method: &str, args: &[JsValue]) -> Result<JsValue, String> {
    let f: Function = get(obj, method)
        .and_then(|f| f.dyn_into().ok())
        .ok_or_else(|| format!("this browser has no {method}"))?;
    f.apply(obj, &args.iter().collect::<Array>())
        .map_err(|_| format!("{method} failed"))
}

/// Awaits `obj.method(args…)`, a promise.
async fn awaited(obj: &JsValue, method: &str, args: &[JsValue]) -> Result<JsValue, String> {
    let p: Promise = call(obj, method, args)?
        .dyn_into()
        .map_err(|_| format!("{method} gave no promise"))?;
    JsFuture::from(p)
        .await
        .map_err(|e| format!("{method}: {}", describe(&e)))
}

fn describe(e: &JsValue) -> String {
    get(e, "message")
        .and_then(|m| m.as_string())
        .unwrap_or_else(|| "refused".into())
}

fn service_worker() -> Option<JsValue> {
    get(&window(), "navigator").and_then(|n| get(&n, "serviceWorker"))
}

/// Whether this browser can receive pushes.
pub fn supported() -> bool {
    service_worker().is_some() && get(&window(), "PushManager").is_some()
}

/// Sends `method path` with a JSON `body`; the response when it succeeded.
async fn send(
    method: &str,
    path: &str,
    body: Option<&str>,
    who: &Who,
) -> Result<web_sys::Response, String> {
    let init = web_sys::RequestInit::new();
    init.set_method(method);
    let headers = web_sys::Headers::new().map_err(|_| "no headers".to_string())?;
    if let Some(token) = &who.token {
        let _ = headers.set("Authorization", &format!("Bearer {token}"));
    }
    if let Some(body) = body {
        let _ = headers.set("Content-Type", "application/json");
        init.set_body(&JsValue::from_str(body));
    }
    init.set_headers(&headers);
    let resp = JsFuture::from(window().fetch_with_str_and_init(path, &init))
        .await
        .map_err(|_| "the server could not be reached".to_string())?;
    let resp: web_sys::Response = resp.dyn_into().map_err(|_| "no answer".to_string())?;
    if !resp.ok() {
        return Err(format!("the server answered {}", resp.status()));
    }
    Ok(resp)
}

/// `?user=NAME` on an open server (nothing with a token).
fn user_param(who: &Who) -> String {
    match (&who.token, &who.name) {
        (None, Some(name)) => {
            let name: String = js_sys::encode_uri_component(name).into();
            format!("?user={name}")
        }
        _ => String::new(),
    }
}

async fn json(resp: web_sys::Response) -> Result<JsValue, String> {
    let p = resp.json().map_err(|_| "no answer".to_string())?;
    JsFuture::from(p)
        .await
        .map_err(|_| "the answer could not be read".to_string())
}

/// Registers the worker, subscribes this browser and tells the server (again: harmless).
pub async fn enable(who: &Who) -> Result<(), String> {
    let sw = service_worker().ok_or("this browser has no service workers")?;
    let options = Object::new();
    let _ = Reflect::set(&options, &"scope".into(), &"/".into());
    awaited(&sw, "register", &[WORKER.into(), options.into()]).await?;
    let ready: Promise = get(&sw, "ready")
        .and_then(|r| r.dyn_into().ok())
        .ok_or("the service worker is not ready")?;
    let registration = JsFuture::from(ready)
        .await
        .map_err(|_| "the service worker is not ready")?;
    let manager = get(&registration, "pushManager").ok_or("this browser has no push")?;
    let mut sub = awaited(&manager, "getSubscription", &[]).await?;
    if sub.is_null() || sub.is_undefined() {
        let key = json(send("GET", "/api/push/key", None, who).await?).await?;
        let key = get(&key, "key").ok_or("the server has no push key")?;
        let options = Object::new();
        let _ = Reflect::set(&options, &"userVisibleOnly".into(), &true.into());
        let _ = Reflect::set(&options, &"applicationServerKey".into(), &key);
        sub = awaited(&manager, "subscribe", &[options.into()]).await?;
    }
    let body: String = js_sys::JSON::stringify(&sub)
        .map_err(|_| "the subscription could not be read")?
        .into();
    let path = format!("/api/push/subscriptions{}", user_param(who));
    send("POST", &path, Some(&body), who).await.map(drop)
}

/// [`enable`] in the background; a failure is only logged (notifications in an open tab still
/// work).
pub fn enable_later(chat: Chat) {
    if !supported() {
        return;
    }
    let who = chat.session.with_untracked(|s| s.who());
    leptos::task::spawn_local(async move {
        if let Err(e) = enable(&who).await {
            leptos::logging::warn!("push notifications are off: {e}");
        }
    });
}

/// Opens the room or conversation a clicked notification names (the worker's message), and,
/// when notifications are already allowed, subscribes again (the server may have forgotten).
pub fn listen(chat: Chat) {
    let Some(sw) = service_worker() else {
        return;
    };
    let on_message = Closure::<dyn FnMut(JsValue)>::new(move |ev: JsValue| {
        let Some(data) = get(&ev, "data") else {
            return;
        };
        if get(&data, "banter").and_then(|v| v.as_string()).as_deref() != Some("open") {
            return;
        }
        if let Some(with) = get(&data, "with").and_then(|v| v.as_string()) {
            let _ = chat.open_dm(&with);
        } else if let Some(room) = get(&data, "room").and_then(|v| v.as_string()) {
            let _ = window()
                .location()
                .set_hash(&crate::state::hash_for_room(&room));
        }
    });
    let _ = Reflect::set(&sw, &"onmessage".into(), on_message.as_ref());
    on_message.forget();
    // Once the user is known (a name, or a token's), subscribe again if already allowed.
    leptos::prelude::Effect::new(move |_| {
        let known = chat.session.with(|s| s.name.clone());
        if known.is_some() && crate::notify::allowed() {
            enable_later(chat);
        }
    });
}

/// The user's push settings as the browser parsed them (`GET /api/push/settings`).
async fn settings(who: &Who) -> Result<JsValue, String> {
    let path = format!("/api/push/settings{}", user_param(who));
    json(send("GET", &path, None, who).await?).await
}

/// Whether the user's pushes carry previews.
pub async fn previews(who: &Who) -> Result<bool, String> {
    Ok(get(&settings(who).await?, "previews")
        .and_then(|v| v.as_bool())
        .unwrap_or(true))
}

/// Turns the user's previews on or off (`PUT /api/push/settings`).
pub async fn set_previews(on: bool, who: &Who) -> Result<(), String> {
    let path = format!("/api/push/settings{}", user_param(who));
    let body = crate::accounts::body(&[("previews", on.into())]);
    send("PUT", &path, Some(&body), who).await.map(drop)
}

/// The rooms the user muted (`GET /api/push/settings`).
pub async fn muted(who: &Who) -> Result<Vec<String>, String> {
    let settings = settings(who).await?;
    Ok(get(&settings, "muted")
        .map(|a| {
            Array::from(&a)
                .iter()
                .filter_map(|r| r.as_string())
                .collect()
        })
        .unwrap_or_default())
}

/// Mutes or unmutes `room`'s pushes for the user.
pub async fn set_muted(room: &str, muted: bool, who: &Who) -> Result<(), String> {
    let room: String = js_sys::encode_uri_component(room).into();
    let path = format!("/api/push/mutes/{room}{}", user_param(who));
    let method = if muted { "PUT" } else { "DELETE" };
    send(method, &path, None, who).await.map(drop)
}
