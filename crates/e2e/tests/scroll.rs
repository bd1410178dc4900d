//! Browser tests for issue 17's web part: jump to a search result 5,000 messages back in a
//! 6,000-message room and scroll down from it to the newest with no hole (the pages in between
//! are fetched), the "new messages" line after a reload; Ctrl/Cmd+K as a quick switcher; the
//! user's room list kept by the server (a second browser of the same user shows the same rooms);
//! and what opening a 3,000-message room costs the page (long tasks, printed, never asserted).

use std::collections::BTreeSet;

use anyhow::ensure;
use banter_e2e::{Page, TIMEOUT, run, run_with, wait_for};
use fantoccini::Locator;
use serde_json::Value;

/// Opens the Ctrl+K box and types `text` into it.
async fn ctrl_k(page: &Page, text: &str) -> anyhow::Result<()> {
    page.js(
        "document.dispatchEvent(new KeyboardEvent('keydown', {key: 'k', ctrlKey: true, bubbles: true})); return 0;",
    )
    .await?;
    let input = page
        .client
        .wait()
        .at_most(TIMEOUT)
        .for_element(Locator::Css("#search-input"))
        .await?;
    input.send_keys(text).await?;
    Ok(())
}

/// Scrolls the list to its bottom and reads what it shows: the `seq`s of the messages in the
/// DOM and whether it follows the newest.
async fn scroll_down(page: &Page) -> anyhow::Result<(Vec<u64>, bool)> {
    let v = page
        .js(r#"const s = document.querySelector('.scroller');
            s.scrollTop = s.scrollHeight;
            const seqs = Array.from(document.querySelectorAll('#messages li.msg:not(.pending)'))
                .map(li => Number(li.dataset.seq));
            return [seqs, s.dataset.follow === 'true'];"#)
        .await?;
    let seqs = v[0]
        .as_array()
        .map(|a| a.iter().filter_map(Value::as_u64).collect())
        .unwrap_or_default();
    Ok((seqs, v[1].as_bool().unwrap_or(false)))
}

/// 6,000 messages; the join replays only the newest 1,000. A search finds one 5,000 back; the
/// click opens the room there, highlighted; scrolling down shows every following message, each
/// once and in order, up to the newest (the 4,000 in between are fetched as the reader goes).
/// After a reload, what came meanwhile is under the "new messages" line.
#[tokio::test(flavor = "multi_thread")]
async fn a_result_far_back_opens_highlighted_and_scrolls_down_to_the_newest_with_no_hole() {
    let args = ["--max-replay", "1000"];
    run_with("scroll_jump_far_back", &args, |ctx| async move {
        ctx.server.post_many("ops", "bot", "filler", 1_000).await?;
        let target = ctx
            .server
            .post("ops", "grace", "the zeppelin budget is approved")
            .await?;
        let target = target["seq"].as_u64().unwrap_or(0);
        ctx.server.post_many("ops", "bot", "filler", 5_000).await?;
        let newest = target + 5_000;

        let url = format!("{}/", ctx.server.base);
        let ada = ctx.chat_page("ada", &url).await?;
        ctrl_k(&ada, "zeppel").await?;
        ada.wait_visible_text("#search-results .search-hit mark")
            .await?;
        ada.click("#search-results .search-hit button").await?;
        ada.wait_room("ops").await?;
        let shown = wait_for("the result highlighted", || async {
            let v = ada
                .js("const l = document.querySelector('#messages li.msg.jump-target'); \
                     return l ? [Number(l.dataset.seq), l.querySelector('.msg-text').textContent] : null;")
                .await?;
            Ok(v.as_array().map(|a| (a[0].as_u64().unwrap_or(0), a[1].to_string())))
        })
        .await?;
        ensure!(shown.0 == target, "the result is the one highlighted: {shown:?}");
        ensure!(shown.1.contains("zeppelin"), "{shown:?}");

        // Down to the newest: every message in the DOM is the next of the one above it.
        let mut seen = BTreeSet::new();
        let mut last = 0;
        loop {
            let (seqs, follow) = wait_for("more below, or the newest", || async {
                let (seqs, follow) = scroll_down(&ada).await?;
                let end = seqs.last().copied().unwrap_or(0);
                Ok((end > last || follow).then_some((seqs, follow)))
            })
            .await?;
            ensure!(
                seqs.windows(2).all(|w| w[1] == w[0] + 1),
                "a hole in the list: {:?}",
                seqs.windows(2).find(|w| w[1] != w[0] + 1)
            );
            seen.extend(seqs.iter().copied());
            last = seqs.last().copied().unwrap_or(0);
            if follow && last == newest {
                break;
            }
        }
        let missing: Vec<u64> = (target..=newest).filter(|s| !seen.contains(s)).collect();
        ensure!(missing.is_empty(), "never shown: {} seqs, first {:?}", missing.len(), missing.first());

        // Away in the lobby while three more come; after a reload the line is above them.
        ada.click("#room-list li[data-room=lobby] a").await?;
        ada.wait_room("lobby").await?;
        for i in 1..=3 {
            ctx.server.post("ops", "grace", &format!("after {i}")).await?;
        }
        ada.client.refresh().await?;
        ada.wait_state("online").await?;
        ada.click("#room-list li[data-room=ops] a").await?;
        ada.wait_room("ops").await?;
        ada.wait_message("after 3").await?;
        let next = ada
            .js("const l = document.querySelector('#messages li.unread-line'); \
                 const m = l && l.nextElementSibling; \
                 return m ? m.querySelector('.msg-text').textContent : null;")
            .await?;
        ensure!(next == "after 1", "the new-messages line is above them: {next}");
        ada.assert_clean_console(&[]).await
    })
    .await;
}

/// Ctrl+K lists rooms and people matching a name before messages; Enter opens the first.
#[tokio::test(flavor = "multi_thread")]
async fn ctrl_k_switches_to_a_room_or_a_person_by_name() {
    run("scroll_quick_switcher", |ctx| async move {
        ctx.server.post("design", "grace", "mockups").await?;
        let url = format!("{}/", ctx.server.base);
        let ada = ctx.chat_page("ada", &url).await?;
        let bob = ctx.chat_page("bob", &url).await?;
        bob.wait_state("online").await?;
        ctrl_k(&ada, "desi").await?;
        ada.wait_visible_text("#quick-results li[data-target='#design']")
            .await?;
        ada.client
            .find(Locator::Css("#search-input"))
            .await?
            .send_keys("\u{E007}")
            .await?;
        ada.wait_room("design").await?;
        ada.wait_message("mockups").await?;
        ensure!(
            ada.visible_text("#search").await?.is_none(),
            "the box closed"
        );

        // People too: bob is in the lobby with ada.
        ctrl_k(&ada, "@bo").await?;
        ada.wait_visible_text("#quick-results li[data-target='@bob']")
            .await?;
        ada.click("#quick-results li[data-target='@bob'] button")
            .await?;
        wait_for("the conversation with bob on screen", || async {
            let title = ada.visible_text("#room-name").await?.unwrap_or_default();
            Ok(title.contains("bob").then_some(()))
        })
        .await?;
        ada.assert_clean_console(&[]).await
    })
    .await;
}

/// Two browsers of one user: a room joined in one is on the other's list after a reload (the
/// server keeps the list); one left is gone from it.
#[tokio::test(flavor = "multi_thread")]
async fn a_room_joined_in_one_browser_is_in_the_other_after_a_reload() {
    run("scroll_room_list", |ctx| async move {
        let url = format!("{}/", ctx.server.base);
        let laptop = ctx.chat_page("ada", &url).await?;
        let phone = ctx.chat_page("ada", &url).await?;
        laptop.join_room("design").await?;
        laptop.join_room("ops").await?;
        let stored = |want: &'static [&'static str]| {
            let base = ctx.server.base.clone();
            async move {
                wait_for(&format!("the server to list {want:?}"), || async {
                    let list: Value = reqwest::get(format!("{base}/api/me/rooms?user=ada"))
                        .await?
                        .json()
                        .await?;
                    let rooms: Vec<&str> = list["rooms"]
                        .as_array()
                        .map(|a| a.iter().filter_map(Value::as_str).collect())
                        .unwrap_or_default();
                    Ok(want.iter().all(|w| rooms.contains(w)).then_some(()))
                })
                .await
            }
        };
        stored(&["lobby", "design", "ops"]).await?;
        phone.client.refresh().await?;
        phone.wait_state("online").await?;
        for room in ["design", "ops"] {
            wait_for(&format!("#{room} on the phone's list"), || async {
                let v = phone
                    .js(&format!(
                        "return !!document.querySelector('#room-list li[data-room={room}]');"
                    ))
                    .await?;
                Ok((v == true).then_some(()))
            })
            .await?;
        }
        phone.click("#room-list li[data-room=design] a").await?;
        phone.wait_room("design").await?;
        Ok(())
    })
    .await;
}

/// Not a check: what opening a 3,000-message room costs the page, as the browser's Long Tasks
/// API reports it (tasks over 50 ms from navigation until the newest message is on screen,
/// observed from the document's start).
#[tokio::test(flavor = "multi_thread")]
async fn opening_a_3000_message_room_long_tasks_are_printed() {
    run("scroll_open_big_room", |ctx| async move {
        ctx.server.post_many("big", "bot", "backlog", 3_000).await?;
        let url = format!("{}/", ctx.server.base);
        let ada = ctx.chat_page("ada", &url).await?;
        let observe = "window.__longtasks = []; \
            new PerformanceObserver(l => l.getEntries().forEach(e => \
              window.__longtasks.push(Math.round(e.duration)))).observe({entryTypes: ['longtask']});";
        ada.cdp(
            "Page.addScriptToEvaluateOnNewDocument",
            serde_json::json!({ "source": observe }),
        )
        .await?;
        ada.client
            .goto(&format!("{}/#/r/big", ctx.server.base))
            .await?;
        ada.client.refresh().await?;
        ada.wait_room("big").await?;
        // A page this busy may not even answer a script for a while: wait longer than usual.
        let mut shown = Err(anyhow::anyhow!("not yet"));
        for _ in 0..6 {
            shown = wait_for("the newest on screen", || async {
                let msgs = ada.messages().await?;
                Ok(msgs.iter().any(|m| m.0 == 3_000).then_some(()))
            })
            .await;
            if shown.is_ok() {
                break;
            }
        }
        shown?;
        let tasks = ada.js("return window.__longtasks || null;").await?;
        let total: u64 = tasks
            .as_array()
            .map(|a| a.iter().filter_map(Value::as_u64).sum())
            .unwrap_or(0);
        let in_dom = ada.messages().await?.len();
        eprintln!(
            "opening a 3,000-message room: long tasks (ms) {tasks}, {total} ms in all, {in_dom} messages in the DOM"
        );
        Ok(())
    })
    .await;
}
