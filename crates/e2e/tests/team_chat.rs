//! The web app as a team chat (issue 11), with two or three people side by side: rooms kept
//! joined at once with unread and mention badges, people and typing, conversations, readable
//! messages (links, a little markdown, days, groups), and screenshots of the main views.

use std::time::Instant;

use anyhow::ensure;
use banter_e2e::{CutProxy, run, wait_for, workspace_root};
use fantoccini::Locator;

/// `text` as keys for the composer: each line break typed as Shift+Enter (Enter alone sends).
fn lines(text: &str) -> String {
    text.replace('\n', "\u{E008}\u{E007}\u{E008}")
}

/// Whether the sidebar is on screen (on a phone it is a drawer that slides in).
const DRAWER_OPEN: &str = r#"const s = document.getElementById('sidebar'); const r = s.getBoundingClientRect();
    return getComputedStyle(s).visibility === 'visible' && r.right > 10 && r.left >= -1;"#;

const NETWORK_CUT_NOISE: &[&str] = &["WebSocket connection to", "net::ERR_"];

/// Another user posting in a room you are not viewing moves its unread count; a mention raises
/// the mention badge; the title counts; opening the room clears them.
#[tokio::test(flavor = "multi_thread")]
async fn unread_and_mention_badges_follow_other_rooms() {
    run("unread_and_mention_badges", |ctx| async move {
        let url = format!("{}/", ctx.server.base);
        let ada = ctx.chat_page("ada", &url).await?;
        let bob = ctx.chat_page("bob", &url).await?;
        ada.join_room("ops").await?;
        bob.join_room("ops").await?;
        // Ada goes back to the lobby; ops stays joined.
        ada.click("#room-list li[data-room=lobby] a").await?;
        ada.wait_room("lobby").await?;

        bob.send("deploy done").await?;
        wait_for("ops to show 1 unread", || async {
            Ok((ada.badges("ops").await? == (1, 0)).then_some(()))
        })
        .await?;
        ensure!(ada.title().await?.starts_with("(1)"), "title counts unread");

        bob.send("@ada can you check?").await?;
        wait_for("the mention badge", || async {
            Ok((ada.badges("ops").await? == (2, 1)).then_some(()))
        })
        .await?;
        ensure!(ada.badges("lobby").await? == (0, 0));

        ada.click("#room-list li[data-room=ops] a").await?;
        ada.wait_room("ops").await?;
        ada.wait_message("deploy done").await?;
        let mention = ada
            .js("return document.querySelectorAll('#messages li.mentions-me .mention.me').length;")
            .await?;
        ensure!(mention == 1, "the mention is highlighted: {mention}");
        wait_for("badges and title cleared", || async {
            Ok(
                (ada.badges("ops").await? == (0, 0) && ada.title().await? == "Banter")
                    .then_some(()),
            )
        })
        .await?;
        for page in [&ada, &bob] {
            page.assert_clean_console(&[]).await?;
        }
        Ok(())
    })
    .await;
}

/// Who is here by name; "bob is typing…" shows while bob writes and clears a few seconds after
/// he stops, or at once when his message arrives; joins and leaves are quiet lines.
#[tokio::test(flavor = "multi_thread")]
async fn people_typing_and_presence_lines() {
    run("people_typing_and_presence_lines", |ctx| async move {
        let url = format!("{}/", ctx.server.base);
        let ada = ctx.chat_page("ada", &url).await?;
        let bob = ctx.chat_page("bob", &url).await?;
        wait_for("bob among the people", || async {
            let n = ada
                .js("return document.querySelectorAll('#people li[data-user=bob]').length;")
                .await?;
            Ok((n == 1).then_some(()))
        })
        .await?;
        let line = ada.wait_visible_text("#messages .presence-line").await?;
        ensure!(line == "bob joined", "presence line: {line}");

        let composer = bob
            .client
            .find(Locator::Css("#composer-input"))
            .await?;
        composer.send_keys("hel").await?;
        let typing = ada.wait_visible_text("#typing").await?;
        ensure!(typing == "bob is typing…", "typing: {typing}");
        let shown = Instant::now();
        wait_for("the typing line to clear", || async {
            Ok(ada.visible_text("#typing").await?.filter(|t| !t.is_empty()).is_none().then_some(()))
        })
        .await?;
        let after = shown.elapsed();
        ensure!(after.as_secs_f64() > 3.0, "cleared after a quiet while, not at once: {after:?}");

        composer.send_keys("lo").await?;
        ada.wait_visible_text("#typing").await?;
        composer.send_keys("\u{E007}").await?;
        ada.wait_message("hello").await?;
        let arrived = Instant::now();
        wait_for("the typing line to clear with the message", || async {
            Ok(ada.visible_text("#typing").await?.filter(|t| !t.is_empty()).is_none().then_some(()))
        })
        .await?;
        ensure!(arrived.elapsed().as_secs_f64() < 2.0, "cleared by the message");

        // Bob leaves the lobby for ops (his only other room).
        bob.join_room("ops").await?;
        bob.click("#room-list li[data-room=lobby] .leave").await?;
        wait_for("bob left", || async {
            let lines = ada
                .js("return Array.from(document.querySelectorAll('#messages .presence-line')).map(e => e.textContent);")
                .await?;
            Ok(lines.as_array().is_some_and(|l| l.iter().any(|t| t == "bob left")).then_some(()))
        })
        .await?;
        for page in [&ada, &bob] {
            page.assert_clean_console(&[]).await?;
        }
        Ok(())
    })
    .await;
}

/// A token server for a browser test: the secret file's path (under `dir`) and the server flags.
fn token_server(dir: &std::path::Path) -> (String, Vec<String>) {
    std::fs::create_dir_all(dir).expect("a scratch directory");
    let secret = dir.join("secret");
    std::fs::write(&secret, "an-e2e-secret-that-is-long-enough-0123456789").expect("the secret");
    let secret = secret.display().to_string();
    let args = ["--auth", "token", "--auth-secret-file", &secret].map(str::to_string);
    (secret.clone(), args.to_vec())
}

/// A sign-in link for `user` on `base` (`banter invite`).
async fn sign_in_link(secret: &str, user: &str, base: &str) -> anyhow::Result<String> {
    let out = tokio::process::Command::new(banter_e2e::banter_bin())
        .args([
            "invite",
            "--sub",
            user,
            "--auth-secret-file",
            secret,
            "--url",
            base,
        ])
        .output()
        .await?;
    ensure!(
        out.status.success(),
        "banter invite: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    Ok(String::from_utf8(out.stdout)?.trim().to_string())
}

/// A private conversation between two signed-in users, started from a person's name: it works
/// both ways, shows unread on the other side, keeps what was written while one side was cut off
/// (after the reconnect: nothing lost, nothing doubled), and is listed again after a reload
/// (stored by the server, found with `GET /api/conversations`).
#[tokio::test(flavor = "multi_thread")]
async fn a_conversation_works_both_ways_and_survives_a_reconnect() {
    let dir = std::env::temp_dir().join(format!("banter-e2e-dm-{}", std::process::id()));
    let (secret, args) = token_server(&dir);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    banter_e2e::run_with("a_conversation_works_both_ways", &args, |ctx| async move {
        let proxy = CutProxy::start(ctx.server.addr).await;
        let ada = ctx
            .page("ada", &sign_in_link(&secret, "ada", &proxy.base()).await?)
            .await?;
        ada.wait_state("online").await?;
        let bob = ctx
            .page(
                "bob",
                &sign_in_link(&secret, "bob", &ctx.server.base).await?,
            )
            .await?;
        bob.wait_state("online").await?;

        ada.click("#people li[data-user=bob] .dm-start").await?;
        wait_for("the conversation on screen", || async {
            Ok((ada.visible_text("#room-name").await?.as_deref() == Some("@bob")).then_some(()))
        })
        .await?;
        ada.wait_focus("composer-input").await?;
        ada.send("psst, bob").await?;
        ada.wait_message("psst, bob").await?;

        // Bob is in the lobby: the conversation appears with an unread badge.
        let unread = bob
            .wait_visible_text("#dm-list li[data-peer=ada] .badge")
            .await?;
        ensure!(unread == "1", "bob's conversation badge: {unread}");
        ensure!(bob.title().await?.starts_with("(1)"));
        bob.click("#dm-list li[data-peer=ada] button").await?;
        let (_, from) = bob.wait_message("psst, bob").await?;
        ensure!(from == "ada");
        bob.send("hi ada, what's up?").await?;
        ada.wait_message("hi ada, what's up?").await?;

        // Cut off, ada misses nothing: the conversation is stored and resumed like a room.
        proxy.refuse();
        proxy.cut();
        ada.wait_state("reconnecting").await?;
        bob.send("while you were away").await?;
        bob.wait_message("while you were away").await?;
        proxy.restore();
        ada.wait_state("online").await?;
        ada.wait_message("while you were away").await?;
        let held: Vec<String> = ada.messages().await?.into_iter().map(|m| m.2).collect();
        ensure!(
            held == ["psst, bob", "hi ada, what's up?", "while you were away"],
            "nothing lost, nothing doubled: {held:?}"
        );
        ada.send("yes!").await?;
        bob.wait_message("yes!").await?;

        // After a reload the server lists it again, with its whole history.
        bob.client.refresh().await?;
        bob.wait_state("online").await?;
        bob.click("#dm-list li[data-peer=ada] button").await?;
        bob.wait_message("yes!").await?;
        let held: Vec<String> = bob.messages().await?.into_iter().map(|m| m.2).collect();
        ensure!(
            held == [
                "psst, bob",
                "hi ada, what's up?",
                "while you were away",
                "yes!"
            ],
            "the stored conversation: {held:?}"
        );
        ada.assert_clean_console(NETWORK_CUT_NOISE).await?;
        bob.assert_clean_console(&[]).await
    })
    .await;
    let _ = std::fs::remove_dir_all(dir);
}

/// Links open in a new tab with `rel="noopener noreferrer"` (http and https only); bold,
/// italic, code and code blocks are elements built by the app; `<script>` stays text; messages
/// group by author and minute under a day separator, with the full date on hover.
#[tokio::test(flavor = "multi_thread")]
async fn messages_are_readable_and_safe() {
    run("messages_are_readable_and_safe", |ctx| async move {
        let url = format!("{}/", ctx.server.base);
        let ada = ctx.chat_page("ada", &url).await?;
        let bob = ctx.chat_page("bob", &url).await?;
        let text = "see https://example.com/a?b=1 and javascript:alert(1) **bold** *it* `code` <script>alert(2)</script>";
        ada.send(text).await?;
        ada.send(&lines("```\nfn main() {}\n```")).await?;
        let (_, user) = bob.wait_message("fn main() {}").await?;
        ensure!(user == "ada");
        let shape = bob
            .js(r#"const li = document.querySelectorAll('#messages li.msg')[0];
                const a = Array.from(li.querySelectorAll('a'));
                return { links: a.map(x => [x.getAttribute('href'), x.target, x.rel]),
                    strong: li.querySelector('strong') && li.querySelector('strong').textContent,
                    em: li.querySelector('em') && li.querySelector('em').textContent,
                    code: li.querySelector('code') && li.querySelector('code').textContent,
                    scripts: document.querySelectorAll('#messages script').length,
                    text: li.querySelector('.msg-text').textContent,
                    pre: document.querySelectorAll('#messages li.msg')[1].querySelector('pre code').textContent,
                    cont: document.querySelectorAll('#messages li.msg')[1].classList.contains('cont'),
                    day: document.querySelector('#messages li.day-sep').textContent,
                    hover: li.title };"#)
            .await?;
        ensure!(
            shape["links"] == serde_json::json!([["https://example.com/a?b=1", "_blank", "noopener noreferrer"]]),
            "only the https link, opening safely: {shape}"
        );
        ensure!(shape["strong"] == "bold" && shape["em"] == "it" && shape["code"] == "code", "{shape}");
        ensure!(shape["scripts"] == 0, "no script element");
        ensure!(
            shape["text"].as_str().is_some_and(|t| t.contains("<script>alert(2)</script>")),
            "the markup stays text: {shape}"
        );
        ensure!(shape["pre"] == "fn main() {}", "code block: {shape}");
        ensure!(shape["day"] == "Today", "day separator: {shape}");
        ensure!(
            shape["hover"].as_str().is_some_and(|h| h.len() >= 19),
            "full date on hover: {shape}"
        );
        // Both from ada within the same minute (almost always): the second continues the group.
        let same_minute = bob
            .js("const t = Array.from(document.querySelectorAll('#messages li.msg .msg-time')).map(e => e.textContent); return t[0] === t[1];")
            .await?;
        if same_minute == true {
            ensure!(shape["cont"] == true, "grouped by author and minute: {shape}");
        }
        if bob.client.get_alert_text().await.is_ok() {
            anyhow::bail!("an alert is open");
        }
        for page in [&ada, &bob] {
            page.assert_clean_console(&[]).await?;
        }
        Ok(())
    })
    .await;
}

/// Rooms are browsed (`GET /api/rooms`, as suggestions of the room field), joined, remembered
/// across a reload and left.
#[tokio::test(flavor = "multi_thread")]
async fn rooms_are_browsed_joined_remembered_and_left() {
    run("rooms_are_browsed_joined_and_left", |ctx| async move {
        ctx.server.post("design", "grace", "mockups are up").await?;
        let ada = ctx
            .chat_page("ada", &format!("{}/", ctx.server.base))
            .await?;
        // Focusing the room field lists the server's other rooms as suggestions.
        ada.click("#room-input").await?;
        wait_for("design among the suggestions", || async {
            let v = ada
                .js("return Array.from(document.querySelectorAll('#room-options option')).map(o => o.value);")
                .await?;
            Ok(v.as_array()
                .is_some_and(|o| o.iter().any(|r| r == "design") && !o.iter().any(|r| r == "lobby"))
                .then_some(()))
        })
        .await?;
        ada.join_room("design").await?;
        ada.wait_message("mockups are up").await?;
        ada.wait_focus("composer-input").await?;

        ada.client.refresh().await?;
        ada.wait_state("online").await?;
        ada.wait_room("design").await?;
        ensure!(ada.badges("lobby").await? == (0, 0), "lobby still listed");
        ensure!(ada.badges("design").await? == (0, 0), "design remembered");

        ada.click("#room-list li[data-room=design] .leave").await?;
        ada.wait_room("lobby").await?;
        ensure!(ada.badges("design").await.is_err(), "design left");
        ada.assert_clean_console(&[]).await
    })
    .await;
}

/// Screenshots of the main views (desktop and phone, light and dark) for the README, and the
/// phone's drawer: closed at first, opened by its button, closed by Escape.
#[tokio::test(flavor = "multi_thread")]
async fn screenshots_of_the_main_views() {
    run("screenshots_of_the_main_views", |ctx| async move {
        let url = format!("{}/", ctx.server.base);
        ctx.server
            .post(
                "ops",
                "grace",
                "Deploy **v1.4.2** is live: https://example.com/releases/1.4.2",
            )
            .await?;
        let ada = ctx.chat_page("ada", &url).await?;
        let bob = ctx.chat_page("bob", &url).await?;
        ada.join_room("ops").await?;
        ada.click("#room-list li[data-room=lobby] a").await?;
        ada.wait_room("lobby").await?;
        bob.send("Morning! Standup in 5 minutes.").await?;
        ada.send("On my way. @bob can you share the `release notes`?")
            .await?;
        bob.send(&lines(
            "Sure:\n```\ncargo build --release\njust test-e2e\n```",
        ))
        .await?;
        ctx.server
            .post("ops", "grace", "@ada the dashboards look good")
            .await?;
        ada.wait_message("Sure:cargo build --release\njust test-e2e")
            .await?;
        wait_for("ops unread", || async {
            Ok((ada.badges("ops").await?.0 >= 1).then_some(()))
        })
        .await?;
        bob.client
            .find(Locator::Css("#composer-input"))
            .await?
            .send_keys("thanks")
            .await?;
        ada.wait_visible_text("#typing").await?;

        let dir = std::env::var_os("BANTER_SCREENSHOTS")
            .map(std::path::PathBuf::from)
            .unwrap_or_else(|| banter_e2e::artifacts_dir().join("screenshots"));
        let dir = if dir.is_absolute() {
            dir
        } else {
            workspace_root().join(dir)
        };
        ada.client.set_window_size(1100, 720).await?;
        ada.screenshot(&dir.join("desktop-light.png")).await?;
        ada.client.set_window_size(390, 780).await?;
        wait_for("the drawer button", || async {
            Ok(ada.visible_text("#menu-toggle").await?.map(|_| ()))
        })
        .await?;
        wait_for("the drawer closed at phone width", || async {
            Ok((ada.js(DRAWER_OPEN).await? == false).then_some(()))
        })
        .await?;
        ada.screenshot(&dir.join("phone-light.png")).await?;
        ada.click("#menu-toggle").await?;
        wait_for("the drawer to open", || async {
            Ok((ada.js(DRAWER_OPEN).await? == true).then_some(()))
        })
        .await?;
        wait_for("focus inside the drawer", || async {
            let inside = ada
                .js("return document.getElementById('sidebar').contains(document.activeElement);")
                .await?;
            Ok((inside == true).then_some(()))
        })
        .await?;
        ada.emulate_dark().await?;
        wait_for("dark colours", || async {
            Ok((ada
                .js("return matchMedia('(prefers-color-scheme: dark)').matches")
                .await?
                == true)
                .then_some(()))
        })
        .await?;
        ada.screenshot(&dir.join("phone-dark-drawer.png")).await?;
        ada.client
            .active_element()
            .await?
            .send_keys("\u{E00C}")
            .await?;
        wait_for("the drawer to close", || async {
            Ok((ada.js(DRAWER_OPEN).await? == false).then_some(()))
        })
        .await?;
        ada.wait_focus("menu-toggle").await?;
        ada.client.set_window_size(1100, 720).await?;
        ada.screenshot(&dir.join("desktop-dark.png")).await?;
        eprintln!("screenshots in {}", dir.display());
        ada.assert_clean_console(&[]).await
    })
    .await;
}

/// Scrolling back reaches seq 1 of a 5,000-message room whose join replayed only the newest
/// 1,000: older pages load by themselves at the top (`GET ...?before=`).
#[tokio::test(flavor = "multi_thread")]
async fn scrollback_reaches_the_first_message() {
    let args = ["--max-replay", "1000"];
    banter_e2e::run_with(
        "scrollback_reaches_the_first_message",
        &args,
        |ctx| async move {
            ctx.server
                .post_many("lobby", "grace", "backlog", 5_000)
                .await?;
            let page = ctx
                .chat_page("ada", &format!("{}/", ctx.server.base))
                .await?;
            wait_for("seq 5000 on screen", || async {
                Ok(page
                    .messages()
                    .await?
                    .last()
                    .filter(|m| m.0 == 5_000)
                    .map(|_| ()))
            })
            .await?;
            let first = || async { anyhow::Ok(page.messages().await?.first().map_or(0, |m| m.0)) };
            ensure!(first().await? > 1, "the join replayed only the newest");
            let started = Instant::now();
            while first().await? > 1 {
                let before = first().await?;
                // Show what is held first, then the top of the list pages back on its own.
                if page
                    .visible_text("#show-earlier")
                    .await?
                    .is_some_and(|t| t.starts_with("Show"))
                {
                    page.show_earlier().await?;
                } else {
                    page.js("document.querySelector('.scroller').scrollTop = 0;")
                        .await?;
                }
                wait_for("an earlier page", || async {
                    Ok((first().await? < before).then_some(()))
                })
                .await?;
            }
            eprintln!("scrolled back to seq 1 in {:?}", started.elapsed());
            let msgs = page.messages().await?;
            ensure!(
                msgs[0].2 == "backlog 1" || msgs[0].0 == 1,
                "seq 1 on screen: {:?}",
                msgs[0]
            );
            ensure!(msgs.len() <= 1_000, "the DOM stays bounded: {}", msgs.len());
            page.assert_clean_console(&[]).await
        },
    )
    .await;
}

/// On a server that needs tokens: without one, a page explains how to get a sign-in link; the
/// link (`banter invite`) signs in, leaves the address bar clean, and Sign out forgets it.
#[tokio::test(flavor = "multi_thread")]
async fn a_sign_in_link_signs_in_and_sign_out_forgets_it() {
    let dir = std::env::temp_dir().join(format!("banter-e2e-secret-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("a scratch directory");
    let secret = dir.join("secret");
    std::fs::write(&secret, "an-e2e-secret-that-is-long-enough-0123456789").expect("the secret");
    let secret_arg = secret.display().to_string();
    let for_invite = secret_arg.clone();
    let args = ["--auth", "token", "--auth-secret-file", secret_arg.as_str()];
    banter_e2e::run_with("a_sign_in_link_signs_in", &args, |ctx| async move {
        let secret_arg = for_invite;
        let base = ctx.server.base.clone();
        let page = ctx.page("ada", &format!("{base}/")).await?;
        let explained = page.wait_visible_text("#sign-in").await?;
        ensure!(
            explained.contains("banter invite --sub"),
            "the sign-in page: {explained}"
        );

        let out = tokio::process::Command::new(banter_e2e::banter_bin())
            .args([
                "invite",
                "--sub",
                "ada",
                "--auth-secret-file",
                &secret_arg,
                "--url",
                &base,
            ])
            .output()
            .await?;
        ensure!(
            out.status.success(),
            "banter invite: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let link = String::from_utf8(out.stdout)?.trim().to_string();
        ensure!(link.contains("#token="), "a sign-in link: {link}");
        page.client.goto(&link).await?;
        page.wait_state("online").await?;
        let me = page.wait_visible_text("#me-name").await?;
        ensure!(me == "ada", "signed in as the token's user: {me}");
        let address = page.js("return location.href;").await?;
        ensure!(
            address.as_str().is_some_and(|a| !a.contains("token")),
            "the token left the address bar: {address}"
        );
        page.send("signed in").await?;
        let (_, user) = page.wait_message("signed in").await?;
        ensure!(user == "ada");

        // Kept across a reload, forgotten by Sign out.
        page.client.refresh().await?;
        page.wait_state("online").await?;
        page.wait_message("signed in").await?;
        page.click("#sign-out").await?;
        page.wait_visible_text("#sign-in").await?;
        let held = page
            .js("return localStorage.getItem('banter.token');")
            .await?;
        ensure!(held.is_null(), "the token is forgotten: {held}");
        page.assert_clean_console(&[]).await
    })
    .await;
    let _ = std::fs::remove_dir_all(dir);
}
