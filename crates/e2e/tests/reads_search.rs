//! Browser tests for issue 17's web app: unread counts that come from the server's read
//! positions (two browsers of one user agree, and a reload keeps them), and the search box
//! (Ctrl+K, results as you type with the match highlighted, a click opens the room at that
//! message far back in its history).

use anyhow::ensure;
use banter_e2e::{Page, run, wait_for};
use fantoccini::Locator;

/// Waits until `page` shows `want` as the (unread, mentions) badges of `room`.
async fn wait_badges(page: &Page, room: &str, want: (u64, u64)) -> anyhow::Result<()> {
    wait_for(
        &format!("{} to show {want:?} on #{room}", page.label),
        || async { Ok((page.badges(room).await? == want).then_some(())) },
    )
    .await
}

/// Two browsers of the same user: reading a room in one clears its unread count in the other;
/// a reload keeps the position, what came after it is still unread, and opening the room shows
/// the "new messages" line above it (and clears it in the other browser).
#[tokio::test(flavor = "multi_thread")]
async fn reading_in_one_browser_clears_unread_in_the_other_and_a_reload_keeps_it() {
    run("reads_across_browsers", |ctx| async move {
        let url = format!("{}/", ctx.server.base);
        let laptop = ctx.chat_page("ada", &url).await?;
        let phone = ctx.chat_page("ada", &url).await?;
        for page in [&laptop, &phone] {
            page.join_room("ops").await?;
            page.click("#room-list li[data-room=lobby] a").await?;
            page.wait_room("lobby").await?;
        }
        ctx.server.post("ops", "grace", "deploy starts").await?;
        ctx.server
            .post("ops", "grace", "@ada can you check?")
            .await?;
        ctx.server.post("ops", "grace", "deploy done").await?;
        wait_badges(&laptop, "ops", (3, 1)).await?;
        wait_badges(&phone, "ops", (3, 1)).await?;

        laptop.click("#room-list li[data-room=ops] a").await?;
        laptop.wait_room("ops").await?;
        laptop.wait_message("deploy done").await?;
        wait_badges(&phone, "ops", (0, 0)).await?;
        laptop.click("#room-list li[data-room=lobby] a").await?;
        laptop.wait_room("lobby").await?;

        ctx.server.post("ops", "grace", "one more thing").await?;
        wait_badges(&laptop, "ops", (1, 0)).await?;
        wait_badges(&phone, "ops", (1, 0)).await?;
        phone.client.refresh().await?;
        phone.wait_state("online").await?;
        wait_badges(&phone, "ops", (1, 0)).await?;
        ensure!(
            phone.title().await?.starts_with("(1)"),
            "the title counts it"
        );
        // Opening the room shows where the new messages start: just above the unread one.
        phone.click("#room-list li[data-room=ops] a").await?;
        phone.wait_room("ops").await?;
        phone.wait_message("one more thing").await?;
        let next = phone
            .js(
                "const l = document.querySelector('#messages li.unread-line'); \
                 const m = l && l.nextElementSibling; \
                 return m ? m.querySelector('.msg-text').textContent : null;",
            )
            .await?;
        ensure!(
            next == "one more thing",
            "the new-messages line is above it: {next}"
        );
        wait_badges(&laptop, "ops", (0, 0)).await?;
        Ok(())
    })
    .await;
}

/// Ctrl+K, a word: results as you type with the match highlighted; a click opens the room at a
/// message hundreds back, shown on screen.
#[tokio::test(flavor = "multi_thread")]
async fn search_finds_a_message_far_back_and_opens_the_room_at_it() {
    run("search_box", |ctx| async move {
        ctx.server
            .post("ops", "grace", "we decided the kubernetes rollout waits")
            .await?;
        ctx.server.post_many("ops", "bot", "filler", 600).await?;
        let url = format!("{}/", ctx.server.base);
        let ada = ctx.chat_page("ada", &url).await?;
        ada.js(
            "document.dispatchEvent(new KeyboardEvent('keydown', {key: 'k', ctrlKey: true, bubbles: true})); return 0;",
        )
        .await?;
        let input = ada
            .client
            .wait()
            .at_most(banter_e2e::TIMEOUT)
            .for_element(Locator::Css("#search-input"))
            .await?;
        input.send_keys("kuberne").await?;
        let mark = ada
            .wait_visible_text("#search-results .search-hit mark")
            .await?;
        ensure!(
            mark.to_lowercase().contains("kuberne"),
            "the match is highlighted: {mark:?}"
        );
        ada.click("#search-results .search-hit button").await?;
        ada.wait_room("ops").await?;
        let (seq, user) = ada
            .wait_message("we decided the kubernetes rollout waits")
            .await?;
        ensure!((seq, user.as_str()) == (1, "grace"), "{seq} {user}");
        ensure!(
            ada.visible_text("#search").await?.is_none(),
            "the search box closed"
        );
        Ok(())
    })
    .await;
}
