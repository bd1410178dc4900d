//! Private rooms and moderation in Chromium (issue 18), an owner and a member side by side on a
//! server with accounts: a private room made in the "New room" dialog is invisible to anyone
//! not in it; its owner adds a member from the settings panel, mutes them (their message is
//! refused with a sentence), removes them (the room leaves their list with a notice), and bans
//! them from a public room (kept out), makes a public room private and public again, and
//! deletes a member's message.
//! Moderation shows as quiet lines in the room. A group conversation of four is started from
//! the people picker (one person picked there is the one-to-one conversation).

use anyhow::{Context, Result, ensure};
use banter_e2e::{Page, wait_for};
use tokio::io::AsyncWriteExt;

const SECRET: &str = "an-e2e-secret-that-is-long-enough-0123456789";
const PASSWORD: &str = "a-long-enough-password";

/// Waits until the text of `css` contains `text`.
async fn wait_text(page: &Page, css: &str, text: &str) -> Result<String> {
    wait_for(
        &format!("{css} to say {text:?} on {}", page.label),
        || async { Ok(page.visible_text(css).await?.filter(|t| t.contains(text))) },
    )
    .await
}

/// Waits until `css` is absent or hidden.
async fn wait_gone(page: &Page, css: &str) -> Result<()> {
    wait_for(&format!("{css} to go on {}", page.label), || async {
        Ok(page.visible_text(css).await?.is_none().then_some(()))
    })
    .await
}

/// `banter user add NAME` on the server's store (password on standard input).
async fn add_user(data: &std::path::Path, name: &str) -> Result<()> {
    let mut child = tokio::process::Command::new(banter_e2e::banter_bin())
        .arg("--data-dir")
        .arg(data)
        .args(["user", "add", name])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()?;
    let mut stdin = child.stdin.take().context("stdin")?;
    stdin.write_all(format!("{PASSWORD}\n").as_bytes()).await?;
    drop(stdin);
    let out = child.wait_with_output().await?;
    ensure!(
        out.status.success(),
        "banter user add {name}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    Ok(())
}

/// A page signed in as `name`, online.
async fn signed_in(ctx: &banter_e2e::Ctx, name: &str) -> Result<Page> {
    let page = ctx.page(name, &format!("{}/", ctx.server.base)).await?;
    page.wait_visible_text("#password-sign-in").await?;
    page.fill("#sign-in-name", name).await?;
    page.fill("#sign-in-password", PASSWORD).await?;
    page.click("#sign-in-submit").await?;
    page.wait_state("online").await?;
    wait_text(&page, "#me-name", name).await?;
    Ok(page)
}

/// Creates the room typed as `typed` in the "New room" dialog; waits until `room` is on screen.
async fn new_room(page: &Page, typed: &str, room: &str, private: bool) -> Result<()> {
    page.click("#new-room").await?;
    page.fill("#new-room-name", typed).await?;
    page.click(if private {
        "#new-room-private"
    } else {
        "#new-room-public"
    })
    .await?;
    page.click("#new-room-create").await?;
    page.wait_room(room).await
}

/// In the open settings panel: does `action` (a button class) to `user`'s row, waits for the
/// panel to say it was done.
async fn act(page: &Page, user: &str, action: &str, said: &str) -> Result<()> {
    page.click(&format!("#room-members li[data-user={user}] .{action}"))
        .await?;
    wait_text(page, "#room-settings-done", said).await?;
    Ok(())
}

/// Adds `user` to the room on screen from its settings panel (left open).
async fn add_member(page: &Page, user: &str) -> Result<()> {
    page.click("#room-settings-open").await?;
    page.fill("#room-add-name", user).await?;
    page.click("#room-add-submit").await?;
    wait_text(
        page,
        "#room-settings-done",
        &format!("{user} is now a member"),
    )
    .await?;
    page.wait_visible_text(&format!("#room-members li[data-user={user}]"))
        .await?;
    Ok(())
}

/// The server flags: accounts with cheap hashes, the key in `dir`.
fn accounts_args(dir: &std::path::Path) -> Vec<String> {
    let secret = dir.join("secret");
    std::fs::write(&secret, SECRET).expect("the secret");
    let mut args: Vec<String> = ["--auth", "accounts", "--argon2-memory-kib", "1024"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    args.extend(["--argon2-iterations".into(), "1".into()]);
    args.extend(["--auth-secret-file".into(), secret.display().to_string()]);
    args
}

/// Runs `body` on an accounts server with the users `names` added.
async fn with_users<F, Fut>(test: &str, names: &'static [&'static str], body: F)
where
    F: FnOnce(std::sync::Arc<banter_e2e::Ctx>) -> Fut,
    Fut: std::future::Future<Output = Result<()>>,
{
    let dir = std::env::temp_dir().join(format!("banter-e2e-{test}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("a scratch directory");
    let args = accounts_args(&dir);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    banter_e2e::run_with(test, &args, |ctx| async move {
        let data = ctx
            .server
            .data_dir()
            .context("a data directory")?
            .to_owned();
        for name in names {
            add_user(&data, name).await?;
        }
        body(ctx).await
    })
    .await;
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_private_room_is_invisible_and_mute_then_kick_take_effect_side_by_side() {
    with_users("private_mute_kick", &["olive", "mia", "nico"], |ctx| async move {
        let olive = signed_in(&ctx, "olive").await?;
        let mia = signed_in(&ctx, "mia").await?;
        new_room(&olive, "Team Room", "team-room", true).await?;

        // Not a member: not listed, and joining is refused with a sentence.
        let nico = signed_in(&ctx, "nico").await?;
        let listed = nico
            .js("return fetch('/api/rooms', {headers: {authorization: 'Bearer ' + localStorage.getItem('banter.token')}}).then(r => r.text());")
            .await?;
        ensure!(
            !listed.to_string().contains("team-room"),
            "a private room listed to a non-member: {listed}"
        );
        nico.fill("#room-input", "team-room\u{E007}").await?;
        nico.wait_visible_text("#server-notice").await?;

        // A member reads and posts.
        add_member(&olive, "mia").await?;
        mia.fill("#room-input", "team-room\u{E007}").await?;
        mia.wait_room("team-room").await?;
        olive.send("welcome mia").await?;
        mia.wait_message("welcome mia").await?;

        // Muted: mia still reads, her message is refused and said.
        act(&olive, "mia", "mute", "mia is muted").await?;
        olive.send("you are muted").await?;
        mia.wait_message("you are muted").await?;
        mia.send("may I speak").await?;
        let refused = mia.wait_visible_text(".msg.pending.failed .msg-status").await?;
        ensure!(!refused.is_empty(), "the refusal is said");

        // Removed: the room leaves mia's list with a notice.
        act(&olive, "mia", "remove", "mia was removed").await?;
        wait_text(&mia, "#removed-notice", "removed from #team-room").await?;
        wait_gone(&mia, "#room-list li[data-room=team-room]").await?;
        olive.send("after mia left").await?;
        olive.wait_message("after mia left").await?;
        let seen = mia.messages().await?;
        ensure!(
            !seen.iter().any(|(_, _, t)| t == "after mia left"),
            "nothing more reaches a removed member"
        );
        Ok(())
    })
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_ban_keeps_a_member_out_of_a_public_room() {
    with_users("ban_public", &["olive", "mia"], |ctx| async move {
        let olive = signed_in(&ctx, "olive").await?;
        let mia = signed_in(&ctx, "mia").await?;
        new_room(&olive, "town-square", "town-square", false).await?;
        mia.fill("#room-input", "town-square\u{E007}").await?;
        mia.wait_room("town-square").await?;
        mia.send("hello square").await?;
        olive.wait_message("hello square").await?;

        olive.click("#room-settings-open").await?;
        olive.fill("#room-add-name", "mia").await?;
        olive.click("#room-ban-typed").await?;
        wait_text(&olive, "#room-settings-done", "mia is banned").await?;
        wait_text(&mia, "#removed-notice", "removed from #town-square").await?;
        wait_gone(&mia, "#room-list li[data-room=town-square]").await?;

        // Kept out: joining again is refused.
        mia.fill("#room-input", "town-square\u{E007}").await?;
        mia.wait_visible_text("#server-notice").await?;
        olive.send("square without mia").await?;
        olive.wait_message("square without mia").await?;
        ensure!(
            !mia.messages()
                .await?
                .iter()
                .any(|(_, _, t)| t == "square without mia"),
            "a banned member reads nothing more"
        );
        Ok(())
    })
    .await;
}

/// An owner makes a public room private while a member without a role is in it: the member
/// stays (and reads that it changed), someone who comes afterwards is refused; made public
/// again, that outsider joins. The panel shows the room's kind as it changes.
#[tokio::test(flavor = "multi_thread")]
async fn a_public_room_made_private_keeps_who_is_in_it_and_public_again_lets_others_in() {
    with_users(
        "private_then_public",
        &["olive", "mia", "nico"],
        |ctx| async move {
            let olive = signed_in(&ctx, "olive").await?;
            let mia = signed_in(&ctx, "mia").await?;
            new_room(&olive, "open-plan", "open-plan", false).await?;
            mia.fill("#room-input", "open-plan\u{E007}").await?;
            mia.wait_room("open-plan").await?;
            olive.wait_visible_text("#people li[data-user=mia]").await?;

            olive.click("#room-settings-open").await?;
            wait_text(&olive, "#room-kind", "Public").await?;
            olive.click("#room-privacy").await?;
            wait_text(&olive, "#room-settings-done", "now private").await?;
            wait_text(&olive, "#room-kind", "Private").await?;
            wait_text(&olive, "#room-privacy", "Make public").await?;
            // Present when it changed: mia is a member now, reads the change and still posts.
            olive
                .wait_visible_text("#room-members li[data-user=mia]")
                .await?;
            wait_text(&mia, "#messages", "olive made this room private").await?;
            mia.send("still here").await?;
            olive.wait_message("still here").await?;

            // Not present: refused.
            let nico = signed_in(&ctx, "nico").await?;
            nico.fill("#room-input", "open-plan\u{E007}").await?;
            nico.wait_visible_text("#server-notice").await?;
            ensure!(
                !nico
                    .messages()
                    .await?
                    .iter()
                    .any(|(_, _, t)| t == "still here"),
                "an outsider reads nothing of a private room"
            );

            // Public again: nico joins and reads.
            olive.click("#room-privacy").await?;
            wait_text(&olive, "#room-settings-done", "now public").await?;
            wait_text(&olive, "#room-kind", "Public").await?;
            wait_text(&mia, "#messages", "olive made this room public").await?;
            nico.fill("#room-input", "open-plan\u{E007}").await?;
            nico.wait_room("open-plan").await?;
            nico.wait_message("still here").await?;
            Ok(())
        },
    )
    .await;
}

/// The bubble of message `seq` in the main list.
fn bubble(seq: u64) -> String {
    format!("#messages li.msg[data-seq=\"{seq}\"]")
}

/// An owner deletes a member's message in a private room from its actions (offered to the
/// owner, not to the member for someone else's message); both pages show "message deleted".
#[tokio::test(flavor = "multi_thread")]
async fn an_owner_deletes_a_members_message() {
    with_users("owner_deletes", &["olive", "mia"], |ctx| async move {
        let olive = signed_in(&ctx, "olive").await?;
        let mia = signed_in(&ctx, "mia").await?;
        new_room(&olive, "back-office", "back-office", true).await?;
        add_member(&olive, "mia").await?;
        olive.click("#room-settings-close").await?;
        mia.fill("#room-input", "back-office\u{E007}").await?;
        mia.wait_room("back-office").await?;
        olive.send("owner's note").await?;
        let (own, _) = mia.wait_message("owner's note").await?;
        mia.send("something to take back").await?;
        let (seq, _) = olive.wait_message("something to take back").await?;

        let hidden = mia
            .js(&format!(
                "return document.querySelector('{} .act-delete').hidden;",
                bubble(own)
            ))
            .await?;
        ensure!(
            hidden == true,
            "a member may not delete the owner's message"
        );

        olive
            .js(&format!(
                "document.querySelector('{}').focus();",
                bubble(seq)
            ))
            .await?;
        olive.click(&format!("{} .act-delete", bubble(seq))).await?;
        olive.client.accept_alert().await?;
        for page in [&olive, &mia] {
            let text = format!("{} .msg-text", bubble(seq));
            wait_text(page, &text, "message deleted").await?;
        }
        Ok(())
    })
    .await;
}

/// One person picked in "New group" is a one-to-one conversation: the existing kind, at its
/// own address, not a group of two.
#[tokio::test(flavor = "multi_thread")]
async fn picking_one_person_opens_the_one_to_one_conversation() {
    with_users("group_of_one", &["ada", "bob"], |ctx| async move {
        let ada = signed_in(&ctx, "ada").await?;
        let bob = signed_in(&ctx, "bob").await?;
        ada.wait_visible_text("#people li[data-user=bob]").await?;
        ada.click("#new-group").await?;
        ada.click("#group-candidates li[data-user=bob] input")
            .await?;
        ada.click("#group-start").await?;
        wait_text(&ada, "#room-name", "bob").await?;
        let hash = ada.js("return location.hash;").await?;
        ensure!(hash == "#/dm/bob", "the conversation's own address: {hash}");
        ada.send("just us").await?;
        ada.wait_message("just us").await?;
        bob.wait_visible_text("#dm-list li[data-peer=ada]").await?;
        let groups = ada
            .js("return document.querySelectorAll('#group-list li').length;")
            .await?;
        ensure!(groups == 0, "no group of two: {groups}");
        Ok(())
    })
    .await;
}

/// Four people: ada picks the other three in the people picker and writes; the others see the
/// group come into their list live (the server's `added` frame: no reload) and everyone's
/// messages reach everyone.
#[tokio::test(flavor = "multi_thread")]
async fn a_group_conversation_of_four() {
    with_users(
        "group_of_four",
        &["ada", "bob", "cy", "dan"],
        |ctx| async move {
            let ada = signed_in(&ctx, "ada").await?;
            let mut others = Vec::new();
            for name in ["bob", "cy", "dan"] {
                others.push(signed_in(&ctx, name).await?);
            }
            for name in ["bob", "cy", "dan"] {
                ada.wait_visible_text(&format!("#people li[data-user={name}]"))
                    .await?;
            }
            ada.click("#new-group").await?;
            for name in ["bob", "cy", "dan"] {
                ada.click(&format!("#group-candidates li[data-user={name}] input"))
                    .await?;
            }
            wait_text(&ada, "#group-picked", "bob, cy, dan").await?;
            ada.click("#group-start").await?;
            wait_text(&ada, "#room-name", "bob, cy, dan").await?;
            ada.send("hello group").await?;
            ada.wait_message("hello group").await?;

            for page in &others {
                wait_text(page, "#group-list li", "ada").await?;
                page.click("#group-list li button").await?;
                wait_text(page, "#room-name", "ada").await?;
                page.wait_message("hello group").await?;
            }
            for (page, name) in others.iter().zip(["bob", "cy", "dan"]) {
                page.send(&format!("{name} here")).await?;
            }
            for page in others.iter().chain([&ada]) {
                for name in ["bob", "cy", "dan"] {
                    page.wait_message(&format!("{name} here")).await?;
                }
            }
            let title = ada.wait_visible_text("#room-name").await?;
            ensure!(title == "bob, cy, dan", "named by its members: {title}");
            Ok(())
        },
    )
    .await;
}
