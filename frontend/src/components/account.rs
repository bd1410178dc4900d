//! The account views of `--auth accounts`: the password form of the sign-in page
//! ([`PasswordSignIn`], which first tries the remembered session), the sign-up page of an
//! invite link ([`SignUp`]), and the signed-in user's menu ([`AccountMenu`]: change password,
//! sign out everywhere, and the admin page for admins; Sign out is the sidebar's).

use leptos::prelude::*;

use crate::accounts::{self, field, keep_renewed, text};
use crate::components::AdminPanel;
use crate::socket::use_chat;

/// An input bound to `value`.
fn input(id: &'static str, kind: &'static str, value: RwSignal<String>) -> impl IntoView {
    let complete = match kind {
        "password" if id.contains("new") || id.starts_with("signup") => "new-password",
        "password" => "current-password",
        _ => "username",
    };
    view! {
        <input id=id type=kind autocomplete=complete
            prop:value=move || value.get()
            on:input=move |ev| value.set(event_target_value(&ev))
        />
    }
}

/// Name and password; on this page's first showing, the remembered session is tried first.
/// Shown only on a server with accounts (the renewal answers `401`, not `404`).
#[component]
pub fn PasswordSignIn() -> impl IntoView {
    let chat = use_chat();
    let (name, password) = (RwSignal::new(String::new()), RwSignal::new(String::new()));
    let error = RwSignal::new(None::<String>);
    let has_accounts = RwSignal::new(false);
    let busy = RwSignal::new(false);
    leptos::task::spawn_local(async move {
        if !accounts::enabled().await {
            return;
        }
        match accounts::renew().await {
            Ok(s) => keep_renewed(chat, s, true),
            Err(_) => has_accounts.set(true),
        }
    });
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let (n, p) = (name.get_untracked(), password.get_untracked());
        if n.trim().is_empty() || p.is_empty() {
            error.set(Some("Type your name and your password.".into()));
            return;
        }
        busy.set(true);
        leptos::task::spawn_local(async move {
            match accounts::login(n.trim(), &p).await {
                Ok(s) => {
                    error.set(None);
                    keep_renewed(chat, s, true);
                }
                Err(e) => error.set(Some(match e.status {
                    401 => "Wrong name or password.".to_string(),
                    429 => format!(
                        "Too many attempts: {}. Wait a little and try again.",
                        e.message
                    ),
                    _ => e.message,
                })),
            }
            busy.set(false);
        });
    };
    view! {
        <form class="card" id="password-sign-in" on:submit=submit novalidate
            hidden=move || !has_accounts.get()>
            <h2>"Sign in"</h2>
            <p class="notice warn" id="sign-in-error" hidden=move || error.with(Option::is_none)>
                {move || error.get()}
            </p>
            <label for="sign-in-name">"Name"</label>
            {input("sign-in-name", "text", name)}
            <label for="sign-in-password">"Password"</label>
            {input("sign-in-password", "password", password)}
            <button type="submit" id="sign-in-submit" disabled=move || busy.get()>"Sign in"</button>
            <p class="hint">"New here? Ask an admin for an invite link."</p>
        </form>
    }
}

/// The page of an invite link (`#invite=CODE`): choose a name and a password.
#[component]
pub fn SignUp(code: String, done: Callback<()>) -> impl IntoView {
    let chat = use_chat();
    let (name, password) = (RwSignal::new(String::new()), RwSignal::new(String::new()));
    let again = RwSignal::new(String::new());
    let error = RwSignal::new(None::<String>);
    let code = StoredValue::new(code);
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let (n, p) = (name.get_untracked(), password.get_untracked());
        if p != again.get_untracked() {
            error.set(Some("The two passwords differ.".into()));
            return;
        }
        let code = code.get_value();
        leptos::task::spawn_local(async move {
            match accounts::signup(&code, n.trim(), &p).await {
                Ok(s) => {
                    keep_renewed(chat, s, true);
                    done.run(());
                }
                Err(e) => error.set(Some(e.message)),
            }
        });
    };
    view! {
        <main class="name-prompt" id="sign-up">
            <form class="card" on:submit=submit novalidate>
                <h2>"Join Banter"</h2>
                <p class="hint">"You were invited. Choose the name others will see, and a password."</p>
                <p class="notice warn" id="sign-up-error" hidden=move || error.with(Option::is_none)>
                    {move || error.get()}
                </p>
                <label for="signup-name">"Name"</label>
                {input("signup-name", "text", name)}
                <label for="signup-password">"Password"</label>
                {input("signup-password", "password", password)}
                <label for="signup-again">"The same password again"</label>
                {input("signup-again", "password", again)}
                <button type="submit" id="sign-up-submit">"Create my account"</button>
                <button type="button" class="link" on:click=move |_| done.run(())>
                    "I have an account: sign in"
                </button>
            </form>
        </main>
    }
}

/// The signed-in user's menu, on a server with accounts (nothing otherwise).
#[component]
pub fn AccountMenu() -> impl IntoView {
    let chat = use_chat();
    let me = RwSignal::new(None::<(String, bool)>);
    let token = Memo::new(move |_| chat.session.with(|s| s.token.clone()));
    Effect::new(move |_| {
        let Some(t) = token.get() else {
            me.set(None);
            return;
        };
        leptos::task::spawn_local(async move {
            if !accounts::enabled().await {
                return;
            }
            let found = accounts::call("GET", "/api/account", None, Some(&t)).await;
            let found = found.ok().and_then(|v| {
                let admin =
                    field(&v, "role").and_then(|r| r.as_string()).as_deref() == Some("admin");
                text(&v, "user").map(|u| (u, admin))
            });
            // The rest of the page asks the session (a moderator's Delete on any message).
            let admin = found.as_ref().is_some_and(|(_, a)| *a);
            chat.session.update(|s| s.admin = admin);
            me.set(found);
        });
    });
    let open = RwSignal::new(false);
    let admin_open = RwSignal::new(false);
    let notice = RwSignal::new(None::<String>);
    let everywhere = move |_| {
        let t = token.get_untracked();
        leptos::task::spawn_local(async move {
            match accounts::sign_out(t.as_deref(), true).await {
                Ok(()) => chat.sign_out(),
                Err(e) => notice.set(Some(e.message)),
            }
        });
    };
    view! {
        <div class="account-menu" id="account-menu" hidden=move || me.with(Option::is_none)>
            <button type="button" id="account-toggle" on:click=move |_| open.update(|o| *o = !*o)>
                {move || me.get().map(|(u, _)| format!("{u} ▾")).unwrap_or_default()}
            </button>
            <div class="account-actions" hidden=move || !open.get()>
                <p class="notice" hidden=move || notice.with(Option::is_none)>{move || notice.get()}</p>
                <ChangePassword notice=notice />
                <button type="button" id="sign-out-everywhere" on:click=everywhere>
                    "Sign out everywhere"
                </button>
                <button type="button" id="open-admin" hidden=move || !me.get().is_some_and(|(_, a)| a)
                    on:click=move |_| admin_open.set(true)>"Admin"</button>
            </div>
            {move || admin_open.get().then(|| view! {
                <AdminPanel token=token.get().unwrap_or_default() close=Callback::new(move |()| admin_open.set(false)) />
            })}
        </div>
    }
}

/// Change your own password: every other session ends, this one goes on with a new token.
#[component]
fn ChangePassword(notice: RwSignal<Option<String>>) -> impl IntoView {
    let chat = use_chat();
    let (old, new) = (RwSignal::new(String::new()), RwSignal::new(String::new()));
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let Some(t) = chat.session.with_untracked(|s| s.token.clone()) else {
            return;
        };
        let (o, n) = (old.get_untracked(), new.get_untracked());
        leptos::task::spawn_local(async move {
            match accounts::change_password(&t, &o, &n).await {
                Ok(s) => {
                    old.set(String::new());
                    new.set(String::new());
                    notice.set(Some(
                        "Password changed: your other sessions have ended.".into(),
                    ));
                    keep_renewed(chat, s, true);
                }
                Err(e) => notice.set(Some(e.message)),
            }
        });
    };
    view! {
        <form class="change-password" on:submit=submit novalidate>
            <label for="current-password">"Current password"</label>
            {input("current-password", "password", old)}
            <label for="new-password">"New password"</label>
            {input("new-password", "password", new)}
            <button type="submit" id="change-password">"Change password"</button>
        </form>
    }
}
