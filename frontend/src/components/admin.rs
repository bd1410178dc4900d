//! The admin page of `--auth accounts` (server admins only): users (add, disable or enable,
//! reset a password, make admin or member) and invites (create a link, revoke). Every refusal
//! is shown as the server worded it.

use leptos::prelude::*;
use wasm_bindgen::JsValue;

use crate::accounts::{body, call, field, text};

#[derive(Debug, Clone, PartialEq)]
struct User {
    name: String,
    admin: bool,
    disabled: bool,
}

#[derive(Debug, Clone, PartialEq)]
struct Invite {
    id: String,
    expires: u64,
    used_by: Option<String>,
    revoked: bool,
}

fn list<T>(v: &JsValue, f: impl Fn(&JsValue) -> Option<T>) -> Vec<T> {
    js_sys::Array::from(v)
        .iter()
        .filter_map(|e| f(&e))
        .collect()
}

fn user(v: &JsValue) -> Option<User> {
    Some(User {
        name: text(v, "name")?,
        admin: text(v, "role").as_deref() == Some("admin"),
        disabled: field(v, "disabled")
            .and_then(|d| d.as_bool())
            .unwrap_or(false),
    })
}

fn invite(v: &JsValue) -> Option<Invite> {
    Some(Invite {
        id: text(v, "id")?,
        expires: field(v, "expires")?.as_f64()? as u64,
        used_by: text(v, "used_by"),
        revoked: field(v, "revoked")
            .and_then(|d| d.as_bool())
            .unwrap_or(false),
    })
}

/// See the module docs.
#[component]
pub fn AdminPanel(token: String, close: Callback<()>) -> impl IntoView {
    let token = StoredValue::new(token);
    let users = RwSignal::new(Vec::<User>::new());
    let invites = RwSignal::new(Vec::<Invite>::new());
    let notice = RwSignal::new(None::<String>);
    let link = RwSignal::new(None::<String>);
    let reload = move || {
        let t = token.get_value();
        leptos::task::spawn_local(async move {
            match call("GET", "/api/users", None, Some(&t)).await {
                Ok(v) => users.set(list(&v, user)),
                Err(e) => notice.set(Some(e.message)),
            }
            if let Ok(v) = call("GET", "/api/invites", None, Some(&t)).await {
                invites.set(list(&v, invite));
            }
        });
    };
    reload();
    // Runs one admin call, then shows its refusal or reloads the lists.
    // What the last change did, said once it is done.
    let done = RwSignal::new(None::<String>);
    let act = move |method: &'static str, path: String, json: Option<String>, said: String| {
        let t = token.get_value();
        leptos::task::spawn_local(async move {
            match call(method, &path, json, Some(&t)).await {
                Ok(v) => {
                    if let Some(code) = text(&v, "code") {
                        let origin = window().location().origin().unwrap_or_default();
                        link.set(Some(format!("{origin}/#invite={code}")));
                    }
                    notice.set(None);
                    done.set(Some(said));
                    reload();
                }
                Err(e) => {
                    done.set(None);
                    notice.set(Some(e.message));
                }
            }
        });
    };
    let patch = move |name: &str, fields: &[(&str, JsValue)], said: String| {
        let path = format!(
            "/api/users/{}",
            String::from(js_sys::encode_uri_component(name))
        );
        act("PATCH", path, Some(body(fields)), said);
    };
    let (new_name, new_password) = (RwSignal::new(String::new()), RwSignal::new(String::new()));
    let add = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let b = body(&[
            ("name", new_name.get_untracked().trim().into()),
            ("password", new_password.get_untracked().into()),
        ]);
        new_password.set(String::new());
        let said = format!("{} was added.", new_name.get_untracked().trim());
        act("POST", "/api/users".into(), Some(b), said);
    };
    let now = (js_sys::Date::now() / 1000.0) as u64;
    view! {
        <div class="admin-panel card" id="admin-panel" role="dialog" aria-label="Admin">
            <header>
                <h2>"Admin"</h2>
                <button type="button" id="admin-close" on:click=move |_| close.run(())>"Close"</button>
            </header>
            <p class="notice warn" id="admin-error" hidden=move || notice.with(Option::is_none)>
                {move || notice.get()}
            </p>
            <p class="notice" id="admin-done" role="status" hidden=move || done.with(Option::is_none)>
                {move || done.get()}
            </p>
            <h3>"Users"</h3>
            <table id="admin-users">
                <For each=move || users.get() key=|u| (u.name.clone(), u.admin, u.disabled) let:u>
                    {
                        let (n1, n2, n3) = (u.name.clone(), u.name.clone(), u.name.clone());
                        let reset = RwSignal::new(String::new());
                        view! {
                            <tr data-user=u.name.clone()>
                                <td>{u.name.clone()}</td>
                                <td>{if u.admin { "admin" } else { "member" }}</td>
                                <td>{if u.disabled { "disabled" } else { "" }}</td>
                                <td>
                                    <button type="button" class="toggle-disabled"
                                        on:click=move |_| {
                                            let said = format!("{n1} is {}.", if u.disabled { "enabled" } else { "disabled: every session ended" });
                                            patch(&n1, &[("disabled", (!u.disabled).into())], said)
                                        }>
                                        {if u.disabled { "Enable" } else { "Disable" }}
                                    </button>
                                    <button type="button" class="toggle-role"
                                        on:click=move |_| {
                                            let role = if u.admin { "member" } else { "admin" };
                                            patch(&n2, &[("role", role.into())], format!("{n2} is now {role}."))
                                        }>
                                        {if u.admin { "Make member" } else { "Make admin" }}
                                    </button>
                                    <input type="password" placeholder="New password" autocomplete="new-password"
                                        prop:value=move || reset.get()
                                        on:input=move |ev| reset.set(event_target_value(&ev)) />
                                    <button type="button" class="reset-password" on:click=move |_| {
                                        let said = format!("{n3}'s password was reset: their sessions ended.");
                                        patch(&n3, &[("password", reset.get_untracked().into())], said);
                                        reset.set(String::new());
                                    }>"Reset password"</button>
                                </td>
                            </tr>
                        }
                    }
                </For>
            </table>
            <form id="admin-add-user" on:submit=add novalidate>
                <input type="text" placeholder="Name" prop:value=move || new_name.get()
                    on:input=move |ev| new_name.set(event_target_value(&ev)) />
                <input type="password" placeholder="Password" autocomplete="new-password"
                    prop:value=move || new_password.get()
                    on:input=move |ev| new_password.set(event_target_value(&ev)) />
                <button type="submit">"Add user"</button>
            </form>
            <h3>"Invites"</h3>
            <button type="button" id="create-invite"
                on:click=move |_| act("POST", "/api/invites".into(), Some("{}".into()), "Invite link created.".into())>
                "Create an invite link"
            </button>
            <p class="hint" id="invite-link" hidden=move || link.with(Option::is_none)>
                "Send this link (it works once): " <code>{move || link.get()}</code>
            </p>
            <ul id="admin-invites">
                <For each=move || invites.get() key=|i| (i.id.clone(), i.revoked, i.used_by.clone()) let:i>
                    {
                        let id = i.id.clone();
                        let state = match (&i.used_by, i.revoked, i.expires <= now) {
                            (Some(u), _, _) => format!("used by {u}"),
                            (None, true, _) => "revoked".into(),
                            (None, false, true) => "expired".into(),
                            (None, false, false) => "open".into(),
                        };
                        let live = state == "open";
                        view! {
                            <li>
                                <code>{i.id[..8.min(i.id.len())].to_string()}</code>" "{state}" "
                                <button type="button" hidden=!live
                                    on:click=move |_| act("DELETE", format!("/api/invites/{id}"), None, "Invite revoked.".into())>
                                    "Revoke"
                                </button>
                            </li>
                        }
                    }
                </For>
            </ul>
        </div>
    }
}
