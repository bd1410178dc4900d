//! Browser tests for issue 18's "Also fix" list (a new user's run of the app in Chromium, with
//! several users side by side): an open server says nothing on it is private; a conversation
//! has its own address, the other person's status and the people list beside it; "Change name"
//! has Cancel and Escape and leaves no wrong notice; typed room names are tidied or explained;
//! the name and sign-in pages show no chat behind them; a refused sign-in link says what to do;
//! a refused notification permission is said.

use anyhow::{Result, ensure};
use banter_e2e::{Page, run, run_with, wait_for};

const KEY_ESC: &str = "\u{E00C}";
const SECRET: &str = "an-e2e-secret-that-is-long-enough-0123456789";

/// Whether the page's visible text contains `text` anywhere.
async fn shows(page: &Page, text: &str) -> Result<bool> {
    let body = page.js("return document.body.innerText;").await?;
    Ok(body.as_str().unwrap_or_default().contains(text))
}

/// Waits until the title shows `title` (a room `#x` or a conversation `@x`).
async fn wait_title(page: &Page, title: &str) -> Result<()> {
    wait_for(&format!("{} to show {title}", page.label), || async {
        let shown = page.visible_text("#room-name").await?.unwrap_or_default();
        Ok((shown == title).then_some(()))
    })
    .await
}

/// The open server's warning; a conversation with its own address (a reload stays in it), the
/// other person's status in the header, and the room's people still listed beside it.
#[tokio::test(flavor = "multi_thread")]
async fn open_server_warns_and_a_conversation_has_an_address() {
    run("open_server_warns_conversation_address", |ctx| async move {
        let url = format!("{}/", ctx.server.base);
        let ada = ctx.chat_page("ada", &url).await?;
        let warning = ada.wait_visible_text("#open-warning").await?;
        ensure!(
            warning.contains("not verified") && warning.contains("Nothing here is private"),
            "the open-server warning: {warning}"
        );
        let hint = ada.wait_visible_text("#dm-heading + .side-hint").await?;
        ensure!(
            !hint.contains("alone") && hint.contains("open server"),
            "the conversations hint promises no privacy: {hint}"
        );
        let bob = ctx.chat_page("bob", &url).await?;
        ada.wait_visible_text("#people li[data-user=bob]").await?;

        ada.click("#people li[data-user=bob] .dm-start").await?;
        wait_title(&ada, "@bob").await?;
        let address = ada.js("return location.hash;").await?;
        ensure!(
            address == "#/dm/bob",
            "the conversation's address: {address}"
        );
        let status = ada.wait_visible_text("#user-count").await?;
        ensure!(status == "online", "bob's status: {status}");
        ada.wait_visible_text("#people li[data-user=bob]").await?;
        ada.send("hello bob").await?;
        ada.wait_message("hello bob").await?;

        ada.client.refresh().await?;
        ada.wait_state("online").await?;
        wait_title(&ada, "@bob").await?;
        ada.wait_message("hello bob").await?;
        ada.wait_visible_text("#people li[data-user=bob]").await?;

        // bob goes away: the header says so.
        bob.client.close_window().await.ok();
        wait_for("bob shown as not connected", || async {
            let s = ada.visible_text("#user-count").await?.unwrap_or_default();
            Ok((s == "not connected").then_some(()))
        })
        .await?;
        ada.assert_clean_console(&[]).await
    })
    .await;
}

/// "Change name": Cancel and Escape go back unchanged; a new name drops the old one's
/// conversations and no "Older messages are no longer kept" notice appears.
#[tokio::test(flavor = "multi_thread")]
async fn change_name_cancels_and_leaves_no_wrong_notice() {
    run("change_name_cancel_no_notice", |ctx| async move {
        let url = format!("{}/", ctx.server.base);
        let ada = ctx.chat_page("ada", &url).await?;
        let _bob = ctx.chat_page("bob", &url).await?;
        ada.wait_visible_text("#people li[data-user=bob]").await?;
        ada.click("#people li[data-user=bob] .dm-start").await?;
        wait_title(&ada, "@bob").await?;
        ada.send("before the new name").await?;
        ada.wait_message("before the new name").await?;

        ada.click("#change-name").await?;
        ada.wait_visible_text("#name-cancel").await?;
        ensure!(
            ada.visible_text("#room-name").await?.is_none(),
            "no chat behind the name prompt"
        );
        ada.click("#name-cancel").await?;
        wait_title(&ada, "@bob").await?;
        ensure!(ada.wait_visible_text("#me-name").await? == "ada");

        ada.click("#change-name").await?;
        ada.wait_focus("name-input").await?;
        ada.client
            .active_element()
            .await?
            .send_keys(KEY_ESC)
            .await?;
        wait_title(&ada, "@bob").await?;

        ada.click("#change-name").await?;
        ada.wait_focus("name-input").await?;
        ada.fill("#name-input", "ada2").await?;
        ada.click("#name-submit").await?;
        wait_for("the new name", || async {
            Ok((ada.visible_text("#me-name").await?.as_deref() == Some("ada2")).then_some(()))
        })
        .await?;
        ada.wait_state("online").await?;
        ada.wait_room("lobby").await?;
        ada.send("now ada2").await?;
        ada.wait_message("now ada2").await?;
        // The new name's conversation with bob starts empty, with no notice about history.
        ada.click("#people li[data-user=bob] .dm-start").await?;
        wait_title(&ada, "@bob").await?;
        ada.send("hello as ada2").await?;
        ada.wait_message("hello as ada2").await?;
        ensure!(
            ada.visible_text("#history-notice").await?.is_none(),
            "no notice: {:?}",
            ada.visible_text("#history-notice").await?
        );
        let dms = ada
            .js("return [...document.querySelectorAll('#dm-list li')].map(l => l.dataset.peer);")
            .await?;
        ensure!(dms == serde_json::json!(["bob"]), "one conversation: {dms}");
        ada.assert_clean_console(&[]).await
    })
    .await;
}

/// "#general" and "Dev Team" become `general` and `dev-team`; a name that cannot be one says
/// how to write it; the name page shows nothing of the chat behind it; a refused notification
/// permission is said.
#[tokio::test(flavor = "multi_thread")]
async fn room_names_are_tidied_and_the_name_page_stands_alone() {
    run("room_names_tidied_name_page_alone", |ctx| async move {
        let url = format!("{}/", ctx.server.base);
        let page = ctx.page("ada", &url).await?;
        page.wait_visible_text("#name-form").await?;
        for behind in ["#lobby", "Online", "Disconnect"] {
            ensure!(
                !shows(&page, behind).await?,
                "the name page shows {behind:?}"
            );
        }
        page.choose_name("ada").await?;
        page.wait_state("online").await?;

        page.fill("#room-input", "#general\u{E007}").await?;
        page.wait_room("general").await?;
        page.fill("#room-input", "Dev Team\u{E007}").await?;
        page.wait_room("dev-team").await?;
        page.fill("#room-input", "Café!\u{E007}").await?;
        let told = page.wait_visible_text("#room-error").await?;
        ensure!(
            told.contains("a–z") && told.contains("dev-team"),
            "how to write a room name: {told}"
        );

        // The browser says no, at the button's click or already at load (headless Chromium
        // may): the page says so where the button was.
        page.js("Notification.requestPermission = () => Promise.resolve('denied');")
            .await?;
        if page.visible_text("#notify-toggle").await?.is_some() {
            page.click("#notify-toggle").await?;
        }
        let said = page.wait_visible_text("#notify-denied").await?;
        ensure!(said.contains("blocked"), "{said}");
        page.assert_clean_console(&[]).await
    })
    .await;
}

/// A sign-in link the server refuses (signed with another key, as an expired one is refused)
/// says what happened and what to do, on a page with no chat behind it.
#[tokio::test(flavor = "multi_thread")]
async fn a_refused_sign_in_link_says_what_to_do() {
    let dir = std::env::temp_dir().join(format!("banter-e2e-refused-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("a scratch directory");
    let (ours, other) = (dir.join("secret"), dir.join("other"));
    std::fs::write(&ours, SECRET).expect("the secret");
    std::fs::write(&other, "another-secret-that-is-long-enough-9876543210").expect("the other");
    let ours_arg = ours.display().to_string();
    let other_arg = other.display().to_string();
    let args = ["--auth", "token", "--auth-secret-file", ours_arg.as_str()];
    run_with("a_refused_sign_in_link", &args, |ctx| async move {
        let base = ctx.server.base.clone();
        let out = tokio::process::Command::new(banter_e2e::banter_bin())
            .args(["invite", "--sub", "ada", "--auth-secret-file", &other_arg])
            .args(["--url", &base])
            .output()
            .await?;
        ensure!(out.status.success(), "banter invite: {out:?}");
        let link = String::from_utf8(out.stdout)?.trim().to_string();
        let page = ctx.page("ada", &link).await?;
        let told = page.wait_visible_text("#auth-error").await?;
        ensure!(
            told.contains("no longer works") && told.contains("ask whoever runs this server"),
            "what happened and what to do: {told}"
        );
        for behind in ["#lobby", "Online", "Disconnect", "Offline"] {
            ensure!(
                !shows(&page, behind).await?,
                "the sign-in page shows {behind:?}"
            );
        }
        ensure!(
            page.visible_text("#name-input").await?.is_none(),
            "no open-mode name prompt on a token server"
        );
        page.assert_clean_console(&["401", "Unauthorized"]).await
    })
    .await;
    let _ = std::fs::remove_dir_all(dir);
}
