//! A room's settings panel (the header's ⚙): whether it is private or public (kept current by
//! the room's `private`/`public` entries; its owners and server admins change it), its members
//! with their roles (`GET /api/rooms/{room}/members`), and for its owners and moderators (and
//! server admins) adding a member or changing a role, remove, mute and ban, each refusal said
//! in the panel as a sentence with what to do. The list is asked again after every change.

use banter_protocol::RoomRole;
use leptos::prelude::*;

use crate::accounts::{self, field};
use crate::rooms_api::{self, Action, Member, refusal, role_name};
use crate::socket::use_chat;

/// Whether the signed-in user is a server admin (`GET /api/account`; false on open servers).
async fn is_admin(token: Option<String>) -> bool {
    let Some(t) = token else { return false };
    if !accounts::enabled().await {
        return false;
    }
    let v = accounts::call("GET", "/api/account", None, Some(&t)).await;
    v.ok()
        .and_then(|v| field(&v, "role"))
        .and_then(|r| r.as_string())
        .as_deref()
        == Some("admin")
}

/// The header's settings button and the panel it opens (rooms only, not conversations).
#[component]
pub fn RoomSettings() -> impl IntoView {
    let chat = use_chat();
    let open = RwSignal::new(false);
    let in_room = Memo::new(move |_| chat.session.with(|s| s.dm.is_none()));
    let escape = window_event_listener(leptos::ev::keydown, move |ev| {
        if ev.key() == "Escape" && open.get_untracked() {
            open.set(false);
        }
    });
    on_cleanup(move || escape.remove());
    view! {
        <button type="button" id="room-settings-open" class="icon settings"
            aria-label="Room settings" title="Room settings" hidden=move || !in_room.get()
            on:click=move |_| open.update(|o| *o = !*o)>
            <span aria-hidden="true">"⚙"</span>
        </button>
        {move || (open.get() && in_room.get()).then(|| view! { <Panel close=Callback::new(move |()| open.set(false)) /> })}
    }
}

/// The panel itself, for the room on screen when it opened.
#[component]
fn Panel(close: Callback<()>) -> impl IntoView {
    let chat = use_chat();
    let room = StoredValue::new(chat.session.with_untracked(|s| s.room.clone()));
    let role = Memo::new(move |_| chat.session.with(|s| s.current_role()));
    let admin = RwSignal::new(false);
    let members = RwSignal::new(Vec::<Member>::new());
    let banned = RwSignal::new(Vec::<String>::new());
    // Whether the room is private: from `joined` and the `private`/`public` entries (live),
    // and from the members list (for a server admin not in the room), whichever said last.
    let private = RwSignal::new(false);
    let joined_private = Memo::new(move |_| chat.session.with(|s| s.current_private()));
    Effect::new(move |_| private.set(joined_private.get()));
    let error = RwSignal::new(None::<String>);
    let done = RwSignal::new(None::<String>);
    let reload = move || {
        let who = chat.session.with_untracked(|s| s.who());
        leptos::task::spawn_local(async move {
            match rooms_api::members(&who, &room.get_value()).await {
                Ok(list) => {
                    members.set(list.members);
                    banned.set(list.banned);
                    private.set(list.private);
                }
                Err(e) => error.set(Some(refusal(&e))),
            }
        });
    };
    reload();
    let token = chat.session.with_untracked(|s| s.token.clone());
    leptos::task::spawn_local(async move { admin.set(is_admin(token).await) });
    let moderates = move || admin.get() || role.get().is_some_and(|r| r >= RoomRole::Moderator);
    let owns = move || admin.get() || role.get() == Some(RoomRole::Owner);
    // One change, then its outcome said and the list asked again.
    let act = move |user: String, action: Action, said: String| {
        let who = chat.session.with_untracked(|s| s.who());
        leptos::task::spawn_local(async move {
            match rooms_api::act(&who, &room.get_value(), &user, action).await {
                Ok(()) => {
                    error.set(None);
                    done.set(Some(said));
                    reload();
                }
                Err(e) => {
                    done.set(None);
                    error.set(Some(refusal(&e)));
                }
            }
        });
    };
    let add_name = RwSignal::new(String::new());
    let add_role = RwSignal::new(RoomRole::Member);
    let add = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let user = add_name.get_untracked().trim().to_string();
        if user.is_empty() {
            error.set(Some("Type the name of the person to add.".into()));
            return;
        }
        let r = add_role.get_untracked();
        add_name.set(String::new());
        let said = format!("{user} is now a {} of #{}.", role_name(r), room.get_value());
        act(user, Action::Role(r), said);
    };
    let ban_typed = move |_| {
        let user = add_name.get_untracked().trim().to_string();
        if user.is_empty() {
            error.set(Some("Type the name of the person to ban.".into()));
            return;
        }
        add_name.set(String::new());
        let said = format!("{user} is banned from #{}.", room.get_value());
        act(user, Action::Ban, said);
    };

    view! {
        <div class="dialog-backdrop" on:click=move |_| close.run(())></div>
        <section id="room-settings" class="card dialog room-settings" role="dialog" aria-modal="true"
            aria-labelledby="room-settings-title">
            <header>
                <h2 id="room-settings-title">{format!("#{} settings", room.get_value())}</h2>
                <button type="button" id="room-settings-close" class="secondary" on:click=move |_| close.run(())>"Close"</button>
            </header>
            <Privacy room=room.get_value() private owns=Signal::derive(owns) error done reload=Callback::new(move |()| reload()) />
            <p class="hint" id="my-room-role">
                {move || match (role.get(), admin.get()) {
                    (_, true) => "You are a server admin: you may change anything here.".to_string(),
                    (Some(r), _) => format!("You are its {}.", role_name(r)),
                    (None, _) => "You are a member. Only its owners and moderators change members.".to_string(),
                }}
            </p>
            <p class="notice warn" id="room-settings-error" role="alert" hidden=move || error.with(Option::is_none)>
                {move || error.get()}
            </p>
            <p class="notice" id="room-settings-done" role="status" hidden=move || done.with(Option::is_none)>
                {move || done.get()}
            </p>
            <h3>"Members"</h3>
            <ul id="room-members" class="member-list">
                <For each=move || members.get() key=|m| (m.user.clone(), m.role, m.muted) let:m>
                    {member_row(m, moderates, owns, act)}
                </For>
            </ul>
            <h3 hidden=move || banned.with(Vec::is_empty)>"Banned"</h3>
            <ul id="room-banned" class="member-list">
                <For each=move || banned.get() key=|b| b.clone() let:user>
                    {
                        let u = user.clone();
                        view! {
                            <li class="member" data-user=user.clone()>
                                <span class="member-name">{user.clone()}</span>
                                <button type="button" class="small secondary unban" hidden=move || !moderates()
                                    on:click=move |_| act(u.clone(), Action::Unban, format!("{u} may join again."))>
                                    "Lift the ban"
                                </button>
                            </li>
                        }
                    }
                </For>
            </ul>
            <form id="room-add-member" class="add-member" on:submit=add novalidate hidden=move || !moderates()>
                <label for="room-add-name">"Add someone"</label>
                <input id="room-add-name" type="text" autocomplete="off" placeholder="Their name"
                    prop:value=move || add_name.get()
                    on:input=move |ev| add_name.set(event_target_value(&ev)) />
                <select id="room-add-role" aria-label="Their role"
                    on:change=move |ev| add_role.set(match event_target_value(&ev).as_str() {
                        "moderator" => RoomRole::Moderator,
                        "owner" => RoomRole::Owner,
                        _ => RoomRole::Member,
                    })>
                    <option value="member">"member"</option>
                    <option value="moderator" disabled=move || !owns()>"moderator"</option>
                    <option value="owner" disabled=move || !owns()>"owner"</option>
                </select>
                <button type="submit" id="room-add-submit">"Add"</button>
                <button type="button" class="secondary" id="room-ban-typed" on:click=ban_typed>"Ban"</button>
            </form>
        </section>
    }
}

/// The room's kind (private or public, kept current by `private`) and, for its owners and
/// server admins, the button that makes it the other (`PATCH /api/rooms/{room}`).
#[component]
fn Privacy(
    /// The room the panel is about.
    room: String,
    /// Whether it is private now.
    private: RwSignal<bool>,
    /// Whether the user may change it (an owner, or a server admin).
    owns: Signal<bool>,
    /// Where a refusal is said.
    error: RwSignal<Option<String>>,
    /// Where the outcome is said.
    done: RwSignal<Option<String>>,
    /// Asks the members list again (going private makes everyone present a member).
    reload: Callback<()>,
) -> impl IntoView {
    let chat = use_chat();
    let room = StoredValue::new(room);
    let busy = RwSignal::new(false);
    let toggle = move |_| {
        let (who, want) = (
            chat.session.with_untracked(|s| s.who()),
            !private.get_untracked(),
        );
        busy.set(true);
        leptos::task::spawn_local(async move {
            match rooms_api::set_privacy(&who, &room.get_value(), want).await {
                Ok(now) => {
                    private.set(now);
                    error.set(None);
                    done.set(Some(privacy_said(&room.get_value(), now)));
                    reload.run(());
                }
                Err(e) => {
                    done.set(None);
                    error.set(Some(refusal(&e)));
                }
            }
            busy.set(false);
        });
    };
    view! {
        <p id="room-kind" data-private=move || private.get().to_string()>
            {move || if private.get() {
                "Private: only its members can see it, read it or join it."
            } else {
                "Public: anyone on this server can join and read it."
            }}
        </p>
        <button type="button" id="room-privacy" class="small secondary" hidden=move || !owns.get()
            disabled=move || busy.get() on:click=toggle>
            {move || if private.get() { "Make public" } else { "Make private" }}
        </button>
    }
}

/// What the panel says once the room's kind changed.
fn privacy_said(room: &str, private: bool) -> String {
    if private {
        format!("#{room} is now private: everyone in it is a member, nobody else may join.")
    } else {
        format!("#{room} is now public: anyone on this server may join it.")
    }
}

/// One member: name, role (a choice for owners), muted, and the moderators' buttons.
fn member_row(
    m: Member,
    moderates: impl Fn() -> bool + Copy + Send + Sync + 'static,
    owns: impl Fn() -> bool + Copy + Send + Sync + 'static,
    act: impl Fn(String, Action, String) + Copy + Send + Sync + 'static,
) -> impl IntoView {
    let user = m.user.clone();
    let (u1, u2, u3, u4) = (user.clone(), user.clone(), user.clone(), user.clone());
    let muted = m.muted;
    view! {
        <li class="member" data-user=user.clone() data-role=role_name(m.role) data-muted=muted.to_string()>
            <span class="member-name">{user.clone()}</span>
            <select class="member-role" aria-label=format!("Role of {user}") disabled=move || !owns()
                on:change=move |ev| {
                    let r = match event_target_value(&ev).as_str() {
                        "owner" => RoomRole::Owner,
                        "moderator" => RoomRole::Moderator,
                        _ => RoomRole::Member,
                    };
                    act(u1.clone(), Action::Role(r), format!("{u1} is now a {}.", role_name(r)));
                }>
                {[RoomRole::Member, RoomRole::Moderator, RoomRole::Owner].map(|r| view! {
                    <option value=role_name(r) selected=r == m.role>{role_name(r)}</option>
                })}
            </select>
            <span class="badge muted-badge" hidden=!muted>"muted"</span>
            <span class="member-actions" hidden=move || !moderates()>
                <button type="button" class="small secondary mute"
                    on:click=move |_| if muted {
                        act(u2.clone(), Action::Unmute, format!("{u2} may post again."))
                    } else {
                        act(u2.clone(), Action::Mute, format!("{u2} is muted: they can read but not post."))
                    }>
                    {if muted { "Unmute" } else { "Mute" }}
                </button>
                <button type="button" class="small secondary remove"
                    on:click=move |_| act(u3.clone(), Action::Remove, format!("{u3} was removed."))>
                    "Remove"
                </button>
                <button type="button" class="small danger ban"
                    on:click=move |_| act(u4.clone(), Action::Ban, format!("{u4} is banned: removed and kept out."))>
                    "Ban"
                </button>
            </span>
        </li>
    }
}
