//! The web app in a real headless Chromium against the real release binary.
//!
//! Run with `just test-e2e` (it builds the release bundle first). See the crate docs for what
//! the harness needs.

use std::collections::HashSet;

use anyhow::{bail, ensure};
use std::time::Instant;

use banter_e2e::{CutProxy, run, run_with, wait_for};

/// Console errors a page may show while its network is cut on purpose: the browser itself logs
/// each failed WebSocket attempt.
const NETWORK_CUT_NOISE: &[&str] = &["WebSocket connection to", "net::ERR_"];

#[tokio::test(flavor = "multi_thread")]
async fn two_pages_chat_both_ways() {
    run("two_pages_chat_both_ways", |ctx| async move {
        let url = format!("{}/", ctx.server.base);
        let ada = ctx.chat_page("ada", &url).await?;
        let bob = ctx.chat_page("bob", &url).await?;

        ada.send("hello from ada").await?;
        let (_, user) = bob.wait_message("hello from ada").await?;
        ensure!(user == "ada", "bob sees the author: {user}");

        // Shift+Enter makes a new line; Enter sends.
        bob.send("hi ada\u{E008}\u{E007}\u{E008}second line")
            .await?;
        let (_, user) = ada.wait_message("hi ada\nsecond line").await?;
        ensure!(user == "bob");

        // Own messages are set apart, others' are not; each bubble has a local time.
        let sides = ada
            .js(
                r#"return Array.from(document.querySelectorAll('#messages li.msg'))
                .map(li => [li.querySelector('.msg-text').textContent, li.classList.contains('own'),
                            /^\d\d:\d\d$/.test(li.querySelector('.msg-time').textContent)]);"#,
            )
            .await?;
        let sides = sides.as_array().cloned().unwrap_or_default();
        ensure!(sides.len() == 2, "two bubbles: {sides:?}");
        ensure!(
            sides[0][1] == true && sides[1][1] == false,
            "own set apart: {sides:?}"
        );
        ensure!(sides.iter().all(|s| s[2] == true), "local times: {sides:?}");

        // The pending marker goes away once acked.
        wait_for("ada's send to be acked", || async {
            Ok((ada.pending_count().await? == 0).then_some(()))
        })
        .await?;

        for page in [&ada, &bob] {
            if let Some(ms) = page.online_after_ms().await? {
                eprintln!("{}: page load to online in {ms} ms", page.label);
            }
            page.assert_clean_console(&[]).await?;
        }
        Ok(())
    })
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn http_post_appears_in_open_page() {
    run("http_post_appears_in_open_page", |ctx| async move {
        let page = ctx
            .chat_page("ada", &format!("{}/", ctx.server.base))
            .await?;
        let stored = ctx
            .server
            .post("lobby", "deploy-bot", "v1.4.2 is live")
            .await?;
        let (seq, user) = page.wait_message("v1.4.2 is live").await?;
        ensure!(user == "deploy-bot");
        ensure!(Some(seq) == stored["seq"].as_u64(), "seq {seq} vs {stored}");
        page.assert_clean_console(&[]).await
    })
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn markup_is_shown_as_literal_text() {
    run("markup_is_shown_as_literal_text", |ctx| async move {
        let url = format!("{}/", ctx.server.base);
        let ada = ctx.chat_page("ada", &url).await?;
        let bob = ctx.chat_page("bob", &url).await?;
        let evil = "<img src=x onerror=alert(1)>";
        ada.send(evil).await?;
        ctx.server
            .post("lobby", "<b>mallory</b>", "<script>alert(2)</script>")
            .await?;
        for page in [&ada, &bob] {
            page.wait_message(evil).await?;
            let (_, user) = page.wait_message("<script>alert(2)</script>").await?;
            ensure!(user == "<b>mallory</b>", "user name is text too: {user}");
            let injected = page
                .js("return document.querySelectorAll('#messages img, #messages script, #messages b').length;")
                .await?;
            ensure!(injected == 0, "no element was created from user text");
            if page.client.get_alert_text().await.is_ok() {
                bail!("an alert is open on {}", page.label);
            }
            page.assert_clean_console(&[]).await?;
        }
        Ok(())
    })
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn empty_input_is_refused_inline() {
    run("empty_input_is_refused_inline", |ctx| async move {
        let page = ctx.page("ada", &format!("{}/", ctx.server.base)).await?;
        // An empty name is refused next to the field.
        page.choose_name("   ").await?;
        let error = page.wait_visible_text("#name-error").await?;
        ensure!(error.contains("name"), "name error: {error}");
        page.choose_name("ada").await?;
        page.wait_state("online").await?;

        // An empty or blank message is refused next to the composer, nothing is sent.
        page.send("").await?;
        let error = page.wait_visible_text("#composer-error").await?;
        ensure!(!error.is_empty());
        page.send("   ").await?;
        ensure!(page.pending_count().await? == 0 && page.messages().await?.is_empty());

        // Typing clears the error; a real message goes through.
        page.send("now with words").await?;
        page.wait_message("now with words").await?;
        ensure!(page.visible_text("#composer-error").await?.is_none());

        // Near the limit a counter appears; over it, the send is refused inline.
        page.js(
            "const t = document.getElementById('composer-input'); t.value = 'x'.repeat(4001);
             t.dispatchEvent(new Event('input', { bubbles: true }));",
        )
        .await?;
        let counter = page.wait_visible_text("#char-count").await?;
        ensure!(counter.contains("4001"), "counter: {counter}");
        page.send("").await?;
        let error = page.wait_visible_text("#composer-error").await?;
        ensure!(error.contains("4000"), "too long: {error}");
        ensure!(page.messages().await?.len() == 1);
        page.assert_clean_console(&[]).await
    })
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn cut_connection_reconnects_and_resumes_exactly_once() {
    run("cut_connection_reconnects_and_resumes", |ctx| async move {
        let proxy = CutProxy::start(ctx.server.addr).await;
        let page = ctx.chat_page("ada", &format!("{}/", proxy.base())).await?;
        page.send("before the cut").await?;
        page.wait_message("before the cut").await?;

        proxy.refuse();
        proxy.cut();
        page.wait_state("reconnecting").await?;
        let label = page.state_label().await?;
        ensure!(label.starts_with("Reconnecting in"), "label: {label}");

        // Meanwhile others talk, and the user writes too (it waits as pending).
        for i in 1..=3 {
            ctx.server
                .post("lobby", "grace", &format!("while away {i}"))
                .await?;
        }
        page.send("written offline").await?;
        ensure!(page.pending_count().await? == 1, "offline send is pending");

        proxy.restore();
        page.wait_state("online").await?;
        for text in [
            "while away 1",
            "while away 2",
            "while away 3",
            "written offline",
        ] {
            page.wait_message(text).await?;
        }
        wait_for("the offline send to be acked", || async {
            Ok((page.pending_count().await? == 0).then_some(()))
        })
        .await?;

        // Exactly once, in order, no gap.
        let msgs = page.messages().await?;
        let texts: Vec<&str> = msgs.iter().map(|(_, _, t)| t.as_str()).collect();
        ensure!(msgs.len() == 5, "five messages: {texts:?}");
        let seqs: Vec<u64> = msgs.iter().map(|(s, _, _)| *s).collect();
        ensure!(seqs == (1..=5).collect::<Vec<_>>(), "seqs {seqs:?}");
        let unique: HashSet<&str> = texts.iter().copied().collect();
        ensure!(unique.len() == 5, "no duplicates: {texts:?}");

        // The server stored the offline send once.
        let page_json: serde_json::Value = reqwest::get(format!(
            "{}/api/rooms/lobby/messages?since=0",
            ctx.server.base
        ))
        .await?
        .json()
        .await?;
        let stored = page_json["messages"].as_array().map_or(0, Vec::len);
        ensure!(stored == 5, "server holds 5 messages, not {stored}");
        page.assert_clean_console(NETWORK_CUT_NOISE).await
    })
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn disconnect_and_connect_buttons() {
    run("disconnect_and_connect_buttons", |ctx| async move {
        let page = ctx
            .chat_page("ada", &format!("{}/", ctx.server.base))
            .await?;
        page.click("#conn-toggle").await?;
        page.wait_state("offline").await?;
        ctx.server.post("lobby", "grace", "missed it").await?;
        page.click("#conn-toggle").await?;
        page.wait_state("online").await?;
        page.wait_message("missed it").await?;
        ensure!(page.messages().await?.len() == 1);
        page.assert_clean_console(&[]).await
    })
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_room_page_does_not_see_the_lobby() {
    run("a_room_page_does_not_see_the_lobby", |ctx| async move {
        let base = &ctx.server.base;
        let other = ctx.chat_page("ada", &format!("{base}/#/r/other")).await?;
        let lobby = ctx.chat_page("bob", &format!("{base}/")).await?;
        let title = other.wait_visible_text("#room-name").await?;
        ensure!(title.contains("other"), "room title: {title}");

        lobby.send("lobby only").await?;
        lobby.wait_message("lobby only").await?;
        ctx.server.post("lobby", "grace", "also lobby").await?;
        lobby.wait_message("also lobby").await?;
        // A message to `other` posted after the lobby ones: once it is on screen, anything
        // from the lobby would have arrived too.
        ctx.server.post("other", "grace", "in other").await?;
        other.wait_message("in other").await?;
        let texts: Vec<String> = other.messages().await?.into_iter().map(|m| m.2).collect();
        ensure!(texts == ["in other"], "other sees only its room: {texts:?}");
        ensure!(
            !lobby.messages().await?.iter().any(|m| m.2 == "in other"),
            "and the lobby does not see other"
        );

        // Following a room link switches rooms in place and resumes there.
        lobby.js("location.hash = '#/r/other';").await?;
        lobby.wait_message("in other").await?;
        let texts: Vec<String> = lobby.messages().await?.into_iter().map(|m| m.2).collect();
        ensure!(texts == ["in other"], "switched: {texts:?}");
        for page in [&other, &lobby] {
            page.assert_clean_console(&[]).await?;
        }
        Ok(())
    })
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn the_name_is_asked_once() {
    run("the_name_is_asked_once", |ctx| async move {
        let url = format!("{}/", ctx.server.base);
        let page = ctx.chat_page("ada", &url).await?;
        page.client.refresh().await?;
        page.wait_state("online").await?;
        let me = page.wait_visible_text("#me-name").await?;
        ensure!(me == "ada", "remembered name: {me}");
        ensure!(page.visible_text("#name-input").await?.is_none());
        page.send("still ada").await?;
        let (_, user) = page.wait_message("still ada").await?;
        ensure!(user == "ada");
        page.assert_clean_console(&[]).await
    })
    .await;
}

/// The console check above is not vacuous: an error logged by the page is caught.
#[tokio::test(flavor = "multi_thread")]
async fn the_console_check_catches_errors() {
    run("the_console_check_catches_errors", |ctx| async move {
        let page = ctx
            .chat_page("ada", &format!("{}/", ctx.server.base))
            .await?;
        page.assert_clean_console(&[]).await?;
        page.js("console.error('deliberate test error');").await?;
        let caught = page.assert_clean_console(&[]).await;
        ensure!(caught.is_err(), "a console.error must fail the check");
        Ok(())
    })
    .await;
}

/// A room with 5,000 messages loads quickly, keeps a small DOM, autoscrolls only for a reader at
/// the bottom (a reader who scrolled up gets a "new messages" pill) and keeps up with a burst.
#[tokio::test(flavor = "multi_thread")]
async fn five_thousand_messages_stay_smooth() {
    let args = ["--history", "10000"];
    run_with(
        "five_thousand_messages_stay_smooth",
        &args,
        |ctx| async move {
            ctx.server
                .post_many("lobby", "grace", "backlog", 5_000)
                .await?;

            let page = ctx
                .chat_page("ada", &format!("{}/", ctx.server.base))
                .await?;
            let started = Instant::now();
            wait_for("seq 5000 on screen", || async {
                Ok(page
                    .messages()
                    .await?
                    .last()
                    .filter(|m| m.0 == 5_000)
                    .map(|_| ()))
            })
            .await?;
            eprintln!(
                "5,000 messages: online {:?} ms after load, all shown {:?} after online",
                page.online_after_ms().await?,
                started.elapsed()
            );
            let in_dom = page.messages().await?.len();
            ensure!(
                (100..=200).contains(&in_dom),
                "a window of the newest, not {in_dom}"
            );
            let earlier = page.wait_visible_text("#show-earlier").await?;
            ensure!(earlier.contains("4800"), "{earlier}");

            // At the bottom: stays there as messages arrive.
            let at_bottom = r#"const s = document.querySelector('.scroller');
            return s.scrollHeight - s.scrollTop - s.clientHeight < 60;"#;
            ensure!(page.js(at_bottom).await? == true, "starts at the bottom");

            // A burst of 1,000 live messages is shown to the last one, DOM still capped.
            let burst = Instant::now();
            ctx.server
                .post_many("lobby", "grace", "burst", 1_000)
                .await?;
            wait_for("seq 6000 on screen", || async {
                Ok(page
                    .messages()
                    .await?
                    .last()
                    .filter(|m| m.0 == 6_000)
                    .map(|_| ()))
            })
            .await?;
            eprintln!("1,000 live messages: shown in {:?}", burst.elapsed());
            ensure!(page.messages().await?.len() <= 200);
            wait_for("still at the bottom", || async {
                Ok((page.js(at_bottom).await? == true).then_some(()))
            })
            .await?;

            // Scrolled up (not to the top, where older messages come by themselves): no jump, a
            // pill counts what arrived.
            page.js("document.querySelector('.scroller').scrollTop = 400;")
                .await?;
            wait_for("the app to stop following", || async {
                let follow = page
                    .js("return document.querySelector('.scroller').dataset.follow;")
                    .await?;
                Ok((follow == "false").then_some(()))
            })
            .await?;
            let first_before = page.messages().await?.first().map(|m| m.0);
            ctx.server.post("lobby", "grace", "while reading").await?;
            page.wait_message("while reading").await?;
            let held = page.messages().await?;
            ensure!(
                held.first().map(|m| m.0) == first_before && held.len() == 201,
                "the window grew instead of sliding: {} from {:?}",
                held.len(),
                held.first().map(|m| m.0)
            );
            let pill = page.wait_visible_text("#new-messages").await?;
            ensure!(pill.contains("1 new message"), "pill: {pill}");
            let top = page
                .js("return document.querySelector('.scroller').scrollTop;")
                .await?;
            ensure!(
                (top.as_f64().unwrap_or(1e9) - 400.0).abs() < 50.0,
                "did not jump: {top}"
            );
            page.click("#new-messages").await?;
            wait_for("the window back to 200", || async {
                Ok((page.messages().await?.len() == 200).then_some(()))
            })
            .await?;
            wait_for("back at the bottom, pill gone", || async {
                let pill = page.visible_text("#new-messages").await?;
                Ok((pill.is_none() && page.js(at_bottom).await? == true).then_some(()))
            })
            .await?;

            // Older messages come on demand.
            page.show_earlier().await?;
            wait_for("200 more in the DOM", || async {
                Ok((page.messages().await?.len() > 200).then_some(()))
            })
            .await?;
            page.assert_clean_console(&[]).await
        },
    )
    .await;
}

/// Everything works from the keyboard alone, and every control has a label.
#[tokio::test(flavor = "multi_thread")]
async fn usable_with_the_keyboard_alone() {
    run("usable_with_the_keyboard_alone", |ctx| async move {
        let page = ctx.page("ada", &format!("{}/", ctx.server.base)).await?;
        let focused = || async {
            let id = page
                .js("return document.activeElement && document.activeElement.id;")
                .await?;
            anyhow::Ok(id.as_str().unwrap_or_default().to_string())
        };
        // The name field has focus at once; Enter submits it.
        wait_for("the name field to have focus", || async {
            Ok((focused().await? == "name-input").then_some(()))
        })
        .await?;
        page.client
            .active_element()
            .await?
            .send_keys("ada\u{E007}")
            .await?;
        page.wait_state("online").await?;

        // Tab reaches the composer; Enter sends.
        let mut path = Vec::new();
        for _ in 0..12 {
            let id = focused().await?;
            if id == "composer-input" {
                break;
            }
            path.push(id);
            page.client
                .active_element()
                .await?
                .send_keys("\u{E004}")
                .await?;
        }
        ensure!(focused().await? == "composer-input", "tab order: {path:?}");
        page.client
            .active_element()
            .await?
            .send_keys("typed, not clicked\u{E007}")
            .await?;
        page.wait_message("typed, not clicked").await?;

        // Every visible control has an accessible name.
        let unlabelled = page
            .js(
                r#"return Array.from(document.querySelectorAll('input, textarea, button'))
                .filter(e => e.offsetParent !== null)
                .filter(e => !(e.labels && e.labels.length) && !e.getAttribute('aria-label')
                             && !e.textContent.trim())
                .map(e => e.outerHTML);"#,
            )
            .await?;
        ensure!(
            unlabelled.as_array().is_some_and(Vec::is_empty),
            "unlabelled controls: {unlabelled}"
        );
        page.assert_clean_console(&[]).await
    })
    .await;
}

/// At phone width nothing overflows sideways; the colours follow the system's dark setting.
#[tokio::test(flavor = "multi_thread")]
async fn fits_a_phone_and_follows_dark_mode() {
    run("fits_a_phone_and_follows_dark_mode", |ctx| async move {
        let page = ctx
            .chat_page("ada", &format!("{}/", ctx.server.base))
            .await?;
        ctx.server
            .post(
                "lobby",
                "grace",
                &"a-very-long-word-without-spaces-".repeat(8),
            )
            .await?;
        page.send("short").await?;
        page.wait_message("short").await?;
        page.client.set_window_size(390, 844).await?;
        let fits = r#"const send = document.getElementById('send-button').getBoundingClientRect();
            return document.documentElement.scrollWidth <= window.innerWidth
                && send.right <= window.innerWidth && send.bottom <= window.innerHeight;"#;
        wait_for("the layout to fit 390px", || async {
            Ok((page.js(fits).await? == true).then_some(()))
        })
        .await?;

        let background = "return getComputedStyle(document.querySelector('.app')).backgroundColor;";
        let light = page.js(background).await?;
        page.emulate_dark().await?;
        let dark = wait_for("dark colours", || async {
            let now = page.js(background).await?;
            Ok((now != light).then_some(now))
        })
        .await?;
        eprintln!("app background: light {light}, dark {dark}");
        page.assert_clean_console(&[]).await
    })
    .await;
}

/// When history cannot give back everything (`replay.complete == false`), the page says so:
/// on a first visit to a long room, and after an absence longer than the history.
#[tokio::test(flavor = "multi_thread")]
async fn incomplete_history_is_reported() {
    run_with(
        "incomplete_history_is_reported",
        // The durable store replays what the hot window (`--history`) no longer holds, so the
        // replay is cut by `--max-replay` instead (same numbers as before).
        &["--max-replay", "10"],
        |ctx| async move {
            ctx.server.post_many("lobby", "grace", "old", 15).await?;
            let proxy = CutProxy::start(ctx.server.addr).await;
            let page = ctx.chat_page("ada", &format!("{}/", proxy.base())).await?;
            let notice = page.wait_visible_text("#history-notice").await?;
            ensure!(notice.contains("Older messages"), "first visit: {notice}");
            wait_for("the last 10 messages", || async {
                let seqs: Vec<u64> = page.messages().await?.iter().map(|m| m.0).collect();
                Ok((seqs == (6..=15).collect::<Vec<_>>()).then_some(()))
            })
            .await?;

            proxy.refuse();
            proxy.cut();
            page.wait_state("reconnecting").await?;
            ctx.server.post_many("lobby", "grace", "missed", 20).await?;
            proxy.restore();
            page.wait_state("online").await?;
            wait_for("the away notice", || async {
                Ok(page
                    .visible_text("#history-notice")
                    .await?
                    .filter(|t| t.contains("while you were away")))
            })
            .await?;
            // The list shows one stretch, the newest (26..=35: the replay stopped at
            // --max-replay), never what was held (6..=15) joined to it as if nothing were
            // missing. Scrolling up loads what the replay left out (16..=25: the server still
            // has it) and then the older messages, with no hole.
            let contiguous = |seqs: &[u64]| seqs.windows(2).all(|w| w[1] == w[0] + 1);
            wait_for("the newest stretch", || async {
                let seqs: Vec<u64> = page.messages().await?.iter().map(|m| m.0).collect();
                Ok((seqs.last() == Some(&35) && contiguous(&seqs)).then_some(()))
            })
            .await?;
            wait_for("scrolling up to fill what the replay left out", || async {
                page.js(
                    "const s = document.querySelector('.scroller'); s.scrollTop = 0; \
                     const b = document.getElementById('show-earlier'); \
                     if (b && !b.hidden) b.click(); return 0;",
                )
                .await?;
                let seqs: Vec<u64> = page.messages().await?.iter().map(|m| m.0).collect();
                let whole = seqs.first().is_some_and(|s| *s <= 6) && seqs.last() == Some(&35);
                Ok((whole && contiguous(&seqs)).then_some(()))
            })
            .await?;
            page.assert_clean_console(NETWORK_CUT_NOISE).await
        },
    )
    .await;
}

/// A server that restarted and lost its history: the page notices (its resume point is ahead
/// of the room), drops what no longer matches, says so, and chats on.
#[tokio::test(flavor = "multi_thread")]
async fn a_server_restart_resets_the_room_and_says_so() {
    run("a_server_restart_resets_the_room", |ctx| async move {
        let proxy = CutProxy::start(ctx.server.addr).await;
        let page = ctx.chat_page("ada", &format!("{}/", proxy.base())).await?;
        ctx.server.post_many("lobby", "grace", "before", 3).await?;
        page.wait_message("before 3").await?;

        let restarted = banter_e2e::Server::start("a_server_restart_resets_the_room-2").await?;
        proxy.refuse();
        proxy.cut();
        page.wait_state("reconnecting").await?;
        proxy.set_upstream(restarted.addr);
        proxy.restore();
        page.wait_state("online").await?;
        let notice = page.wait_visible_text("#history-notice").await?;
        ensure!(notice.contains("restarted"), "notice: {notice}");

        restarted
            .post("lobby", "grace", "after the restart")
            .await?;
        page.send("me too").await?;
        page.wait_message("after the restart").await?;
        page.wait_message("me too").await?;
        let msgs = page.messages().await?;
        let seqs: Vec<u64> = msgs.iter().map(|m| m.0).collect();
        ensure!(
            seqs == [1, 2],
            "only the new server's messages, in its order: {msgs:?}"
        );
        page.assert_clean_console(NETWORK_CUT_NOISE).await
    })
    .await;
}

/// A send whose `ack` was lost with the connection is re-sent with the same `client_id` after
/// the reconnect: the server stores it once and the page shows it once.
#[tokio::test(flavor = "multi_thread")]
async fn a_send_whose_ack_was_lost_is_stored_once() {
    run(
        "a_send_whose_ack_was_lost_is_stored_once",
        |ctx| async move {
            let proxy = CutProxy::start(ctx.server.addr).await;
            let page = ctx.chat_page("ada", &format!("{}/", proxy.base())).await?;
            let stored = || async {
                let v: serde_json::Value = reqwest::get(format!(
                    "{}/api/rooms/lobby/messages?since=0",
                    ctx.server.base
                ))
                .await?
                .json()
                .await?;
                anyhow::Ok(
                    v["messages"]
                        .as_array()
                        .map(|m| m.iter().filter(|m| m["text"] == "sent blind").count())
                        .unwrap_or(0),
                )
            };

            proxy.mute_answers();
            page.send("sent blind").await?;
            wait_for("the server to store it", || async {
                Ok((stored().await? == 1).then_some(()))
            })
            .await?;
            ensure!(
                page.pending_count().await? == 1,
                "no ack reached the page: still pending"
            );

            proxy.refuse();
            proxy.cut();
            page.wait_state("reconnecting").await?;
            proxy.restore();
            page.wait_state("online").await?;
            page.wait_message("sent blind").await?;
            wait_for("the re-send to be acked", || async {
                Ok((page.pending_count().await? == 0).then_some(()))
            })
            .await?;
            let shown = page.messages().await?;
            ensure!(shown.len() == 1, "shown once: {shown:?}");
            ensure!(stored().await? == 1, "stored once");
            page.assert_clean_console(NETWORK_CUT_NOISE).await
        },
    )
    .await;
}
