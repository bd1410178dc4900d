//! `--auth accounts` from the browser: sign-in, sign-up, the remembered session and the admin's
//! calls (docs/protocol.md, "Accounts"). The remembered session is an `HttpOnly` cookie the
//! page never sees: [`renew`] trades it for a fresh short-lived token, and [`keep_renewed`]
//! does so a minute before each token expires, handing the new one to the open socket (an
//! `auth` frame, no reconnect). Answers are read field by field from the browser's
//! `JSON.parse` (no serde decoders: the app has a size budget).

use leptos::prelude::*;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;

use crate::socket::Chat;

/// A token and when it expires (seconds since the Unix epoch).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Signed {
    pub user: String,
    pub token: String,
    pub exp: u64,
}

/// Why a call failed: the HTTP status (0: no answer) and a sentence for the user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failed {
    pub status: u16,
    pub message: String,
}

fn failed(message: &str) -> Failed {
    Failed {
        status: 0,
        message: message.to_string(),
    }
}

/// A JSON object of string fields (and the odd boolean or number, given as JSON already).
pub fn body(fields: &[(&str, JsValue)]) -> String {
    let obj = js_sys::Object::new();
    for (k, v) in fields {
        let _ = js_sys::Reflect::set(&obj, &(*k).into(), v);
    }
    js_sys::JSON::stringify(&obj)
        .ok()
        .and_then(|s| s.as_string())
        .unwrap_or_default()
}

/// The field `key` of `v`, when present.
pub fn field(v: &JsValue, key: &str) -> Option<JsValue> {
    js_sys::Reflect::get(v, &key.into())
        .ok()
        .filter(|f| !f.is_undefined() && !f.is_null())
}

pub fn text(v: &JsValue, key: &str) -> Option<String> {
    field(v, key)?.as_string()
}

/// `METHOD path` with an optional JSON body and bearer token: the answer's JSON (`null` when it
/// has none), or why not.
pub async fn call(
    method: &str,
    path: &str,
    json: Option<String>,
    token: Option<&str>,
) -> Result<JsValue, Failed> {
    let init = web_sys::RequestInit::new();
    init.set_method(method);
    let headers = web_sys::Headers::new().map_err(|_| failed("no headers"))?;
    if let Some(json) = json {
        let _ = headers.set("Content-Type", "application/json");
        init.set_body(&JsValue::from_str(&json));
    }
    if let Some(token) = token {
        let _ = headers.set("Authorization", &format!("Bearer {token}"));
    }
    init.set_headers(&headers);
    let resp = JsFuture::from(window().fetch_with_str_and_init(path, &init))
        .await
        .map_err(|_| failed("the server could not be reached"))?;
    let resp: web_sys::Response = resp.dyn_into().map_err(|_| failed("no answer"))?;
    let json = match resp.json() {
        Ok(p) => JsFuture::from(p).await.unwrap_or(JsValue::NULL),
        Err(_) => JsValue::NULL,
    };
    if resp.ok() {
        return Ok(json);
    }
    let message =
        text(&json, "message").unwrap_or_else(|| format!("the server answered {}", resp.status()));
    Err(Failed {
        status: resp.status(),
        message,
    })
}

fn signed(v: &JsValue) -> Result<Signed, Failed> {
    Ok(Signed {
        user: text(v, "user").ok_or_else(|| failed("no user in the answer"))?,
        token: text(v, "token").ok_or_else(|| failed("no token in the answer"))?,
        exp: field(v, "exp").and_then(|e| e.as_f64()).unwrap_or(0.0) as u64,
    })
}

/// `POST /api/login`.
pub async fn login(name: &str, password: &str) -> Result<Signed, Failed> {
    let b = body(&[("name", name.into()), ("password", password.into())]);
    signed(&call("POST", "/api/login", Some(b), None).await?)
}

/// `POST /api/signup` with an invite code.
pub async fn signup(invite: &str, name: &str, password: &str) -> Result<Signed, Failed> {
    let b = body(&[
        ("invite", invite.into()),
        ("name", name.into()),
        ("password", password.into()),
    ]);
    signed(&call("POST", "/api/signup", Some(b), None).await?)
}

thread_local! {
    static ENABLED: std::cell::Cell<Option<bool>> = const { std::cell::Cell::new(None) };
}

/// Whether the server has accounts (`GET /api/session`, asked once): the other calls are made
/// only where it has.
pub async fn enabled() -> bool {
    if let Some(known) = ENABLED.with(std::cell::Cell::get) {
        return known;
    }
    let answer = call("GET", "/api/session", None, None).await;
    let on = answer
        .ok()
        .and_then(|v| field(&v, "accounts"))
        .and_then(|a| a.as_bool())
        .unwrap_or(false);
    ENABLED.with(|e| e.set(Some(on)));
    on
}

/// `POST /api/session/renew`: a fresh token for the remembered session (`401`: none on this
/// device, or it ended).
pub async fn renew() -> Result<Signed, Failed> {
    let v = call("POST", "/api/session/renew", None, None).await?;
    if v.is_null() {
        return Err(Failed {
            status: 401,
            message: "no remembered session".into(),
        });
    }
    signed(&v)
}

/// `POST /api/password`: a new session for this device (the others end).
pub async fn change_password(token: &str, old: &str, new: &str) -> Result<Signed, Failed> {
    let b = body(&[("old", old.into()), ("new", new.into())]);
    signed(&call("POST", "/api/password", Some(b), Some(token)).await?)
}

/// Signs this device out (forgets the cookie) or, `everywhere`, every session of the user.
pub async fn sign_out(token: Option<&str>, everywhere: bool) -> Result<(), Failed> {
    if !enabled().await {
        return Ok(());
    }
    match (everywhere, token) {
        (true, Some(t)) => call("POST", "/api/session/everywhere", None, Some(t)).await?,
        _ => call("POST", "/api/session/logout", None, None).await?,
    };
    Ok(())
}

/// Seconds since the Unix epoch.
fn now_secs() -> u64 {
    (js_sys::Date::now() / 1000.0) as u64
}

/// Takes a token from login, sign-up or renewal: the socket gets it, and it is renewed a minute
/// before it expires (or halfway, for short ones), for as long as the session lasts.
pub fn keep_renewed(chat: Chat, first: Signed, fresh: bool) {
    if fresh {
        chat.sign_in(first.token.clone());
    } else {
        chat.renew_token(first.token.clone());
    }
    let left = first.exp.saturating_sub(now_secs());
    let wait = left.saturating_sub(60).max(left / 2).max(5);
    set_timeout(
        move || {
            leptos::task::spawn_local(async move {
                match renew().await {
                    Ok(next) if next.user == first.user => keep_renewed(chat, next, false),
                    // Ended elsewhere (signed out everywhere, disabled): sign in again.
                    Ok(_) | Err(Failed { status: 401, .. }) => chat.sign_out(),
                    // Unreachable for now: try again shortly, the token may still be valid.
                    Err(_) => keep_renewed(chat, first, false),
                }
            });
        },
        std::time::Duration::from_secs(wait),
    );
}
