//! Browser tests for issue 16's "Also fix" list (a new user's run of the app in Chromium, with
//! several users side by side): each one failed before its fix.

use anyhow::ensure;
use banter_e2e::{run, wait_for};
use fantoccini::Locator;

const KEY_PAGE_UP: &str = "\u{E00E}";

/// A mention of you stays inline in its line (the sidebar's `.me` bar style once made it a
/// full-width bar); `@here` raises the mention badge like a mention of you.
#[tokio::test(flavor = "multi_thread")]
async fn a_mention_of_you_stays_inline_and_here_counts_as_one() {
    run("mention_inline_here_badge", |ctx| async move {
        let url = format!("{}/", ctx.server.base);
        let ada = ctx.chat_page("ada", &url).await?;
        ctx.server.post("lobby", "grace", "hi @ada, welcome").await?;
        ada.wait_message("hi @ada, welcome").await?;
        let style = ada
            .js("const m = document.querySelector('#messages .mention.me'); const s = getComputedStyle(m);
                 return [s.display, m.getBoundingClientRect().height < 2 * parseFloat(getComputedStyle(m.parentElement).lineHeight)];")
            .await?;
        ensure!(style == serde_json::json!(["inline", true]), "mention style: {style}");

        ada.join_room("ops").await?;
        ctx.server.post("lobby", "grace", "@here standup").await?;
        wait_for("@here's mention badge on lobby", || async {
            Ok((ada.badges("lobby").await? == (1, 1)).then_some(()))
        })
        .await?;
        ada.assert_clean_console(&[]).await
    })
    .await;
}

/// Quotes, lists and strikethrough are shown as such.
#[tokio::test(flavor = "multi_thread")]
async fn markdown_quotes_lists_and_strike_are_shown() {
    run("markdown_quotes_lists_strike", |ctx| async move {
        let url = format!("{}/", ctx.server.base);
        let ada = ctx.chat_page("ada", &url).await?;
        let text = "> the plan\n- one\n- two\n1. first\nwas ~~wrong~~ right";
        ctx.server.post("lobby", "grace", text).await?;
        let shape = wait_for("the message", || async {
            let v = ada
                .js("const t = document.querySelector('#messages li.msg .msg-text'); return t ? [
                    t.querySelector('blockquote')?.textContent, t.querySelectorAll('ul > li').length,
                    t.querySelectorAll('ol > li').length, t.querySelector('del')?.textContent] : null;")
                .await?;
            Ok((!v.is_null()).then_some(v))
        })
        .await?;
        ensure!(shape == serde_json::json!(["the plan", 2, 1, "wrong"]), "{shape}");
        Ok(())
    })
    .await;
}

/// Leaving a room offers Undo and puts focus in the composer (never on the next room's
/// "Leave": Enter twice once left two rooms); Undo joins it again. Reloads add no join/leave
/// lines (a reload's "left" and "joined" cancel out).
#[tokio::test(flavor = "multi_thread")]
async fn leaving_offers_undo_and_reloads_add_no_presence_lines() {
    run("leave_undo_presence", |ctx| async move {
        let url = format!("{}/", ctx.server.base);
        let ada = ctx.chat_page("ada", &url).await?;
        let bob = ctx.chat_page("bob", &url).await?;
        ada.send("before the reloads").await?;
        bob.wait_message("before the reloads").await?;
        ada.wait_visible_text("#messages .presence-line").await?;
        let lines = "return document.querySelectorAll('#messages .presence-line').length;";
        let before = ada.js(lines).await?;
        for _ in 0..2 {
            bob.client.refresh().await?;
            bob.wait_state("online").await?;
        }
        // Presence goes out on the server's tick, joins and leaves before typing: once ada
        // sees bob typing on the reloaded page, every join and leave of the reloads reached her.
        bob.client
            .find(Locator::Css("#composer-input"))
            .await?
            .send_keys("back")
            .await?;
        let typing = ada.wait_visible_text("#typing").await?;
        ensure!(typing == "bob is typing…", "typing: {typing}");
        ensure!(ada.js(lines).await? == before, "reloads add no lines");

        ada.join_room("ops").await?;
        ada.join_room("dev").await?;
        ada.click("#room-list li[data-room=ops] .leave").await?;
        ada.wait_focus("composer-input").await?;
        let undo = ada.wait_visible_text("#left-notice").await?;
        ensure!(undo.contains("You left #ops"), "notice: {undo}");
        ada.click("#undo-leave").await?;
        wait_for("ops back in the list", || async {
            let n = ada
                .js("return document.querySelectorAll('#room-list li[data-room=ops]').length;")
                .await?;
            Ok((n == 1).then_some(()))
        })
        .await?;
        ada.wait_room("ops").await?;
        Ok(())
    })
    .await;
}

/// A skip link leads to the message box; PageUp in the message box scrolls the messages.
#[tokio::test(flavor = "multi_thread")]
async fn skip_link_and_page_up_in_the_composer() {
    run("skip_link_page_up", |ctx| async move {
        let url = format!("{}/", ctx.server.base);
        ctx.server.post_many("lobby", "grace", "line", 80).await?;
        let ada = ctx.chat_page("ada", &url).await?;
        ada.wait_message("line 80").await?;
        ada.js("document.getElementById('skip-link').focus();").await?;
        let shown = ada.js("const r = document.getElementById('skip-link').getBoundingClientRect(); return r.top >= 0 && r.height > 0;").await?;
        ensure!(shown == true, "the skip link shows when focused");
        ada.click("#skip-link").await?;
        ada.wait_focus("composer-input").await?;
        wait_for("following the newest", || async {
            Ok((ada.js("return document.querySelector('.scroller').dataset.follow;").await? == "true").then_some(()))
        })
        .await?;
        let top = "return document.querySelector('.scroller').scrollTop;";
        let before = ada.js(top).await?.as_f64().unwrap_or(0.0);
        ada.client
            .find(Locator::Css("#composer-input"))
            .await?
            .send_keys(KEY_PAGE_UP)
            .await?;
        wait_for("the messages to page up", || async {
            let now = ada.js(top).await?.as_f64().unwrap_or(0.0);
            Ok((now < before - 100.0).then_some(()))
        })
        .await?;
        ada.assert_clean_console(&[]).await
    })
    .await;
}

/// On a phone: tap targets of at least 44 px; the open drawer leaves ☰ in sight and has its
/// own close button; Connect/Disconnect does not take the header.
#[tokio::test(flavor = "multi_thread")]
async fn phone_targets_drawer_and_header() {
    run("phone_targets_drawer_header", |ctx| async move {
        let url = format!("{}/", ctx.server.base);
        let ada = ctx.chat_page("ada", &url).await?;
        let _bob = ctx.chat_page("bob", &url).await?;
        ada.client.set_window_size(390, 844).await?;
        let size = |css: &str| {
            format!("const r = document.querySelector('{css}').getBoundingClientRect(); return [Math.round(r.width), Math.round(r.height)];")
        };
        let menu = ada.js(&size("#menu-toggle")).await?;
        ensure!(menu[0].as_u64() >= Some(44) && menu[1].as_u64() >= Some(44), "☰: {menu}");
        let toggle = ada.js(&size("#conn-toggle")).await?;
        ensure!(toggle[0].as_u64() <= Some(60), "Disconnect is an icon: {toggle}");

        ada.click("#menu-toggle").await?;
        wait_for("bob among the people", || async {
            let n = ada.js("return document.querySelectorAll('#people li[data-user=bob]').length;").await?;
            Ok((n == 1).then_some(()))
        })
        .await?;
        for css in [
            "#room-list li[data-room=lobby] .leave",
            "#room-list li[data-room=lobby] .nav-link",
            "#people li[data-user=bob] .dm-start",
            "#drawer-close",
        ] {
            let s = ada.js(&size(css)).await?;
            ensure!(s[0].as_u64() >= Some(44) && s[1].as_u64() >= Some(44), "{css}: {s}");
        }
        let menu_seen = ada
            .js("const r = document.getElementById('menu-toggle').getBoundingClientRect();
                 const e = document.elementFromPoint(r.left + r.width / 2, r.top + r.height / 2);
                 return !!e && !!e.closest('#menu-toggle');")
            .await?;
        ensure!(menu_seen == true, "the open drawer leaves ☰ in sight");
        ada.click("#drawer-close").await?;
        ada.wait_focus("menu-toggle").await?;
        wait_for("the drawer closed", || async {
            let open = ada.js("return document.getElementById('sidebar').classList.contains('open');").await?;
            Ok((open == false).then_some(()))
        })
        .await?;
        ada.assert_clean_console(&[]).await
    })
    .await;
}
