//! Browser tests for issue 16's web app ("Messages that live"): two users side by side edit,
//! delete, react to and thread their messages, by mouse, keyboard and long-press, and what changed while
//! a page was offline or before a reload is shown exactly once.

use anyhow::{Result, ensure};
use banter_e2e::{Page, run, wait_for};
use fantoccini::Locator;

const KEY_UP: &str = "\u{E013}";
const KEY_ENTER: &str = "\u{E007}";
const KEY_ESC: &str = "\u{E00C}";

/// Two pages in the lobby, ada and bob, both online.
async fn two(ctx: &banter_e2e::Ctx) -> Result<(Page, Page)> {
    let url = format!("{}/", ctx.server.base);
    let ada = ctx.chat_page("ada", &url).await?;
    let bob = ctx.chat_page("bob", &url).await?;
    Ok((ada, bob))
}

/// Runs `script` with `li` bound to the message `seq` in the main list.
async fn on_msg(page: &Page, seq: u64, script: &str) -> Result<serde_json::Value> {
    page.js(&format!(
        "const li = document.querySelector('#messages li.msg[data-seq=\"{seq}\"]'); {script}"
    ))
    .await
}

/// Focuses message `seq` (its actions show, as for a keyboard user) and clicks `action`.
async fn act(page: &Page, seq: u64, action: &str) -> Result<()> {
    on_msg(page, seq, "li.focus();").await?;
    page.click(&format!("#messages li.msg[data-seq=\"{seq}\"] {action}"))
        .await
}

/// Presses Enter on `action` of message `seq` on `page`, as a keyboard user does: the message
/// focused, then the action (what Tab reaches once the message shows its actions), then the
/// key, through WebDriver's key actions (not a click).
async fn key_act(page: &Page, seq: u64, action: &str) -> Result<()> {
    use fantoccini::actions::{InputSource as _, KeyAction, KeyActions};
    on_msg(page, seq, "li.focus();").await?;
    on_msg(page, seq, &format!("li.querySelector('{action}').focus();")).await?;
    let enter = '\u{E007}';
    let keys = KeyActions::new("keyboard".into())
        .then(KeyAction::Down { value: enter })
        .then(KeyAction::Up { value: enter });
    page.client.perform_actions(keys).await?;
    Ok(())
}

/// The text of message `seq` on `page`, once it satisfies `ok`.
async fn wait_text(page: &Page, seq: u64, what: &str, ok: impl Fn(&str) -> bool) -> Result<()> {
    wait_for(&format!("{what} on {}", page.label), || async {
        let t = on_msg(
            page,
            seq,
            "return li ? li.querySelector('.msg-text').textContent : null;",
        )
        .await?;
        Ok(t.as_str().filter(|t| ok(t)).map(|_| ()))
    })
    .await
}

/// The reactions shown under message `seq`: `(emoji, count, who, pressed)`.
async fn reactions(page: &Page, seq: u64) -> Result<Vec<(String, u64, String, bool)>> {
    let v = on_msg(
        page,
        seq,
        "return li ? Array.from(li.querySelectorAll('.reactions .reaction')).map(b =>
            [b.dataset.emoji, Number(b.querySelector('.count').textContent), b.title,
             b.getAttribute('aria-pressed') === 'true']) : [];",
    )
    .await?;
    Ok(v.as_array()
        .cloned()
        .unwrap_or_default()
        .iter()
        .map(|r| {
            (
                r[0].as_str().unwrap_or_default().to_string(),
                r[1].as_u64().unwrap_or(0),
                r[2].as_str().unwrap_or_default().to_string(),
                r[3].as_bool().unwrap_or(false),
            )
        })
        .collect())
}

/// ada fixes a typo in place by keyboard alone (Up arrow, new text, Enter); Esc cancels an
/// edit; bob sees the new text once, marked "(edited)" with its time on hover.
#[tokio::test(flavor = "multi_thread")]
async fn an_edit_in_place_by_keyboard_reaches_the_other_page() {
    run("edit_in_place_by_keyboard", |ctx| async move {
        let (ada, bob) = two(&ctx).await?;
        ada.send("helo wrold").await?;
        let (seq, _) = bob.wait_message("helo wrold").await?;
        ada.wait_message("helo wrold").await?;

        let composer = ada.client.find(Locator::Css("#composer-input")).await?;
        composer.send_keys(KEY_UP).await?;
        let edit = ada
            .client
            .wait()
            .for_element(Locator::Css(&format!("#edit-{seq}")))
            .await?;
        ada.wait_focus(&format!("edit-{seq}")).await?;
        edit.send_keys(KEY_ESC).await?;
        ada.wait_focus("composer-input").await?;
        ensure!(
            ada.client.find(Locator::Css(".edit-box")).await.is_err(),
            "Esc cancels"
        );

        composer.send_keys(KEY_UP).await?;
        let edit = ada
            .client
            .wait()
            .for_element(Locator::Css(&format!("#edit-{seq}")))
            .await?;
        edit.clear().await?;
        edit.send_keys(&format!("hello world{KEY_ENTER}")).await?;
        for page in [&ada, &bob] {
            wait_text(page, seq, "the edited text", |t| t == "hello world").await?;
        }
        let edited = on_msg(
            &bob,
            seq,
            "const e = li.querySelector('.edited'); return e ? e.title : null;",
        )
        .await?;
        ensure!(
            edited.as_str().is_some_and(|t| t.starts_with("Edited ")),
            "(edited) with its time: {edited}"
        );
        let texts: Vec<String> = bob.messages().await?.into_iter().map(|m| m.2).collect();
        ensure!(
            texts == ["hello world"],
            "one message, not a new line: {texts:?}"
        );
        for page in [&ada, &bob] {
            page.assert_clean_console(&[]).await?;
        }
        Ok(())
    })
    .await;
}

/// bob's page is offline (Disconnect) while ada edits: on Connect bob's page resumes and shows
/// the edit, exactly once; after a reload too.
#[tokio::test(flavor = "multi_thread")]
async fn an_edit_made_while_the_other_page_is_offline_arrives_on_resume() {
    run("edit_while_offline", |ctx| async move {
        let (ada, bob) = two(&ctx).await?;
        ada.send("first draft").await?;
        ada.send("unrelated").await?;
        let (seq, _) = bob.wait_message("first draft").await?;
        bob.wait_message("unrelated").await?;

        bob.click("#conn-toggle").await?;
        bob.wait_state("offline").await?;
        act(&ada, seq, ".act-edit").await?;
        let edit = ada
            .client
            .wait()
            .for_element(Locator::Css(&format!("#edit-{seq}")))
            .await?;
        edit.clear().await?;
        edit.send_keys(&format!("final text{KEY_ENTER}")).await?;
        wait_text(&ada, seq, "the edit acked", |t| t == "final text").await?;

        bob.click("#conn-toggle").await?;
        bob.wait_state("online").await?;
        wait_text(&bob, seq, "the edit after resume", |t| t == "final text").await?;
        let texts: Vec<String> = bob.messages().await?.into_iter().map(|m| m.2).collect();
        ensure!(texts == ["final text", "unrelated"], "each once: {texts:?}");

        bob.client.refresh().await?;
        bob.wait_state("online").await?;
        wait_text(&bob, seq, "the edit after a reload", |t| t == "final text").await?;
        Ok(())
    })
    .await;
}

/// Deleting asks first (dismissing keeps the message); confirmed, both pages show "message
/// deleted" in place, with no actions left on it.
#[tokio::test(flavor = "multi_thread")]
async fn a_delete_asks_first_and_leaves_message_deleted_in_place() {
    run("delete_with_confirmation", |ctx| async move {
        let (ada, bob) = two(&ctx).await?;
        ada.send("oops, wrong room").await?;
        let (seq, _) = bob.wait_message("oops, wrong room").await?;
        ada.wait_message("oops, wrong room").await?;

        // By keyboard: the message focused, Enter on Delete; the confirmation is asked first.
        key_act(&ada, seq, ".act-delete").await?;
        ada.client.dismiss_alert().await?;
        act(&ada, seq, ".act-delete").await?;
        ada.client.accept_alert().await?;
        for page in [&ada, &bob] {
            wait_text(page, seq, "message deleted", |t| t == "message deleted").await?;
            let actions = on_msg(
                page,
                seq,
                "return li.querySelectorAll('.msg-actions').length;",
            )
            .await?;
            ensure!(actions == 0, "no actions on a deleted message");
        }
        // bob cannot delete ada's messages: he is not offered to.
        ada.send("stays").await?;
        let (other, _) = bob.wait_message("stays").await?;
        let offered = on_msg(
            &bob,
            other,
            "return li.querySelector('.act-delete').hidden;",
        )
        .await?;
        ensure!(offered == true, "delete is only for the author");
        // After a reload, the tombstone is what the room holds.
        bob.client.refresh().await?;
        bob.wait_state("online").await?;
        wait_text(&bob, seq, "message deleted after a reload", |t| {
            t == "message deleted"
        })
        .await?;
        Ok(())
    })
    .await;
}

/// bob reacts from the picker, ada adds the same emoji from its chip: both see the count and
/// who; ada takes hers back; a reload shows the same.
#[tokio::test(flavor = "multi_thread")]
async fn reactions_show_counts_and_who_on_both_pages() {
    run("reactions_counts_and_who", |ctx| async move {
        let (ada, bob) = two(&ctx).await?;
        ada.send("ship it?").await?;
        let (seq, _) = bob.wait_message("ship it?").await?;
        ada.wait_message("ship it?").await?;

        // By keyboard: Enter on React, then Enter on 👍 in the picker.
        key_act(&bob, seq, ".act-react").await?;
        key_act(&bob, seq, ".picker .pick[data-emoji=\"👍\"]").await?;
        wait_for("bob's 👍 on ada's page", || async {
            let r = reactions(&ada, seq).await?;
            Ok((r.len() == 1 && r[0].1 == 1).then_some(()))
        })
        .await?;
        ada.click(&format!(
            "#messages li.msg[data-seq=\"{seq}\"] .reaction[data-emoji=\"👍\"]"
        ))
        .await?;
        for page in [&ada, &bob] {
            wait_for(&format!("2 👍 on {}", page.label), || async {
                let r = reactions(page, seq).await?;
                Ok((r.len() == 1 && r[0].1 == 2 && r[0].2 == "bob and ada").then_some(()))
            })
            .await?;
        }
        ensure!(reactions(&ada, seq).await?[0].3, "ada's chip is pressed");
        ensure!(!reactions(&bob, seq).await?[0].0.is_empty());

        // The picker offers the emoji bob just used first.
        act(&bob, seq, ".act-react").await?;
        let first = on_msg(
            &bob,
            seq,
            "return li.querySelector('.picker .pick').dataset.emoji;",
        )
        .await?;
        ensure!(first == "👍", "recent first: {first}");
        bob.client
            .active_element()
            .await?
            .send_keys(KEY_ESC)
            .await?;

        ada.click(&format!(
            "#messages li.msg[data-seq=\"{seq}\"] .reaction[data-emoji=\"👍\"]"
        ))
        .await?;
        wait_for("ada's taken back on bob's page", || async {
            let r = reactions(&bob, seq).await?;
            Ok((r.len() == 1 && r[0].1 == 1 && r[0].2 == "bob").then_some(()))
        })
        .await?;
        ada.client.refresh().await?;
        ada.wait_state("online").await?;
        wait_for("the reaction after a reload", || async {
            let r = reactions(&ada, seq).await?;
            Ok((r.len() == 1 && r[0].1 == 1 && !r[0].3).then_some(()))
        })
        .await?;
        Ok(())
    })
    .await;
}

/// ada answers bob's message in a thread pane with its own composer; the reply is not a line
/// of the room; bob sees "1 reply" with "1 new", opens the thread and reads it there, and
/// again after a reload.
#[tokio::test(flavor = "multi_thread")]
async fn replies_go_to_a_thread_in_a_side_pane() {
    run("replies_in_a_thread", |ctx| async move {
        let (ada, bob) = two(&ctx).await?;
        bob.send("who reviews #42?").await?;
        let (seq, _) = ada.wait_message("who reviews #42?").await?;

        // By keyboard: Enter on Reply opens the thread.
        key_act(&ada, seq, ".act-reply").await?;
        ada.wait_focus("thread-input").await?;
        ada.client
            .active_element()
            .await?
            .send_keys(&format!("I will{KEY_ENTER}"))
            .await?;
        wait_for("the reply in ada's pane", || async {
            let v = ada
                .js("return Array.from(document.querySelectorAll('#thread-pane li.msg:not(.pending) .msg-text')).map(e => e.textContent);")
                .await?;
            Ok((v == serde_json::json!(["who reviews #42?", "I will"])).then_some(()))
        })
        .await?;

        let link = format!("#messages li.msg[data-seq=\"{seq}\"] .thread-link");
        let label = bob.wait_visible_text(&link).await?;
        ensure!(label.contains("1 reply") && label.contains("1 new"), "link: {label}");
        let lines: Vec<String> = bob.messages().await?.into_iter().map(|m| m.2).collect();
        ensure!(lines == ["who reviews #42?"], "the reply stays in its thread: {lines:?}");
        bob.click(&link).await?;
        bob.wait_visible_text("#thread-pane").await?;
        wait_for("the reply in bob's pane and the count read", || async {
            let pane = bob.visible_text("#thread-pane .thread-messages").await?.unwrap_or_default();
            let label = bob.visible_text(&link).await?.unwrap_or_default();
            Ok((pane.contains("I will") && !label.contains("new")).then_some(()))
        })
        .await?;
        bob.client
            .active_element()
            .await?
            .send_keys(KEY_ESC)
            .await?;
        wait_for("the pane closed by Esc", || async {
            Ok(bob.visible_text("#thread-pane").await?.is_none().then_some(()))
        })
        .await?;

        // After a reload: the count from the replay's current state, nothing new, the thread
        // read again.
        bob.client.refresh().await?;
        bob.wait_state("online").await?;
        let label = bob.wait_visible_text(&link).await?;
        ensure!(label.contains("1 reply") && !label.contains("new"), "after a reload: {label}");
        bob.click(&link).await?;
        wait_for("the thread after a reload", || async {
            let pane = bob.visible_text("#thread-pane .thread-messages").await?.unwrap_or_default();
            Ok(pane.contains("I will").then_some(()))
        })
        .await?;
        for page in [&ada, &bob] {
            page.assert_clean_console(&[]).await?;
        }
        Ok(())
    })
    .await;
}

/// Puts `kinds` of touch events, one after the other, on the text of message `seq` (one finger).
async fn touch(page: &Page, seq: u64, kinds: &[&str]) -> Result<()> {
    for kind in kinds {
        let lifted = *kind == "touchend";
        on_msg(
            page,
            seq,
            &format!(
                "const el = li.querySelector('.msg-text');
                 const t = new Touch({{identifier: 1, target: el, clientX: 20, clientY: 20}});
                 el.dispatchEvent(new TouchEvent('{kind}', {{bubbles: true, cancelable: true,
                     touches: {lifted} ? [] : [t], changedTouches: [t]}}));"
            ),
        )
        .await?;
    }
    Ok(())
}

/// Whether the actions of message `seq` show.
async fn actions_shown(page: &Page, seq: u64) -> Result<bool> {
    let v = on_msg(
        page,
        seq,
        "return getComputedStyle(li.querySelector('.msg-actions')).visibility === 'visible';",
    )
    .await?;
    Ok(v == true)
}

/// A touch screen that sends no `contextmenu` (iOS Safari): a finger resting on a message
/// opens its actions; a finger that moves (a scroll) opens nothing.
#[tokio::test(flavor = "multi_thread")]
async fn a_long_press_opens_a_messages_actions_and_a_scroll_does_not() {
    run("long_press_actions", |ctx| async move {
        let (ada, _bob) = two(&ctx).await?;
        ada.cdp(
            "Emulation.setTouchEmulationEnabled",
            serde_json::json!({"enabled": true, "maxTouchPoints": 1}),
        )
        .await?;
        ada.send("scrolled past").await?;
        let (moved, _) = ada.wait_message("scrolled past").await?;
        ada.send("held down").await?;
        let (held, _) = ada.wait_message("held down").await?;
        // Pointer away from the list: hover shows no actions.
        ada.click("#composer-input").await?;
        ensure!(
            !actions_shown(&ada, held).await?,
            "no actions before the press"
        );

        touch(&ada, moved, &["touchstart", "touchmove", "touchend"]).await?;
        touch(&ada, held, &["touchstart"]).await?;
        wait_for("the held message's actions", || async {
            Ok(actions_shown(&ada, held).await?.then_some(()))
        })
        .await?;
        touch(&ada, held, &["touchend"]).await?;
        // The moved finger's timer started first: had it not stopped, it would have fired first.
        ensure!(
            !actions_shown(&ada, moved).await?,
            "a finger that moved opens nothing"
        );
        ensure!(actions_shown(&ada, held).await?, "still open once lifted");
        Ok(())
    })
    .await;
}
