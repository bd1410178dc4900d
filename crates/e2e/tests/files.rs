//! Browser tests for issue 19's web app (files): ada pastes a screenshot and bob sees it inline
//! in a box of its proportions, opens it full size and closes it with Esc (the focus back on
//! the preview); ada attaches a file with the file picker and sends it without text, and bob
//! sees its card with its name, size and a download link.

use anyhow::{Context, Result, ensure};
use banter_e2e::{Page, run, run_with, wait_for};
use fantoccini::Locator;

const KEY_ESC: &str = "\u{E00C}";

/// Two pages in the lobby, ada and bob, both online.
async fn two(ctx: &banter_e2e::Ctx) -> Result<(Page, Page)> {
    let url = format!("{}/", ctx.server.base);
    let ada = ctx.chat_page("ada", &url).await?;
    let bob = ctx.chat_page("bob", &url).await?;
    Ok((ada, bob))
}

/// Pastes a 64×48 PNG named `name` into the composer, as a screenshot pasted from the
/// clipboard arrives (a `paste` event whose `clipboardData` holds the file).
async fn paste_png(page: &Page, name: &str) -> Result<()> {
    let script = format!(
        r#"const c = document.createElement('canvas');
        c.width = 64; c.height = 48;
        const g = c.getContext('2d');
        g.fillStyle = '#e11d48'; g.fillRect(0, 0, 64, 48);
        g.fillStyle = '#1d4ed8'; g.fillRect(16, 12, 32, 24);
        const b64 = c.toDataURL('image/png').split(',')[1];
        const bytes = Uint8Array.from(atob(b64), ch => ch.charCodeAt(0));
        const file = new File([bytes], {name}, {{ type: 'image/png' }});
        const dt = new DataTransfer();
        dt.items.add(file);
        const input = document.getElementById('composer-input');
        input.focus();
        const ev = new ClipboardEvent('paste', {{ clipboardData: dt, bubbles: true, cancelable: true }});
        input.dispatchEvent(ev);
        return ev.defaultPrevented;"#,
        name = serde_json::to_string(name)?
    );
    let taken = page.js(&script).await?;
    ensure!(taken == true, "the app did not take the pasted file");
    Ok(())
}

/// Waits until every file attached on `page` is uploaded (and at least `n` are listed).
async fn wait_uploaded(page: &Page, n: u64) -> Result<()> {
    wait_for(&format!("{n} uploads on {}", page.label), || async {
        let v = page
            .js(
                "const items = Array.from(document.querySelectorAll('#attachments li.attachment'));
                 return items.every(li => li.dataset.state === 'done') ? items.length : -1;",
            )
            .await?;
        Ok((v.as_i64() == Some(n as i64)).then_some(()))
    })
    .await
}

/// The message whose text is `text` on `page`: its `seq` once it shows a loaded image preview,
/// with the preview's size on screen and the image's own size.
async fn wait_preview(page: &Page, text: &str) -> Result<(u64, f64, f64, u64, u64)> {
    let script = format!(
        "const li = Array.from(document.querySelectorAll('#messages li.msg:not(.pending)'))
            .find(li => li.querySelector('.msg-text').textContent === {});
         const img = li && li.querySelector('.msg-files .file-image img');
         if (!img || !img.complete || img.naturalWidth === 0) return null;
         const r = li.querySelector('.file-image').getBoundingClientRect();
         return [Number(li.dataset.seq), r.width, r.height, img.naturalWidth, img.naturalHeight];",
        serde_json::to_string(text)?
    );
    wait_for(
        &format!("{} to show the image of {text:?}", page.label),
        || async {
            let v = page.js(&script).await?;
            Ok(v.as_array().map(|a| {
                (
                    a[0].as_u64().unwrap_or(0),
                    a[1].as_f64().unwrap_or(0.0),
                    a[2].as_f64().unwrap_or(0.0),
                    a[3].as_u64().unwrap_or(0),
                    a[4].as_u64().unwrap_or(0),
                )
            }))
        },
    )
    .await
}

/// ada pastes a screenshot and sends it with a line of text; bob sees the image inline (its
/// box the image's proportions), opens the full-size view, and Esc closes it with the focus
/// back on the preview.
#[tokio::test(flavor = "multi_thread")]
async fn a_pasted_image_shows_inline_on_the_other_page_and_opens_full_size() {
    run("pasted_image_preview", |ctx| async move {
        let (ada, bob) = two(&ctx).await?;
        paste_png(&ada, "screenshot.png").await?;
        wait_uploaded(&ada, 1).await?;
        ada.send("the error I get").await?;

        let (seq, w, h, _, _) = wait_preview(&bob, "the error I get").await?;
        // 64×48 fits the preview box: shown at its own size, space reserved from the upload's
        // width and height.
        ensure!(
            (w - 64.0).abs() < 1.5 && (h - 48.0).abs() < 1.5,
            "preview box {w}×{h}, expected 64×48"
        );
        // ada's own copy shows it too, and her composer is empty again.
        wait_preview(&ada, "the error I get").await?;
        let left = ada
            .js("return document.querySelectorAll('#attachments li').length;")
            .await?;
        ensure!(left == 0, "attachments left after sending: {left}");

        bob.click(&format!("#messages li.msg[data-seq=\"{seq}\"] .file-image"))
            .await?;
        wait_for("the full-size view on bob", || async {
            let v = bob
                .js("const d = document.getElementById('lightbox');
                     const img = d && d.open && d.querySelector('.lightbox-image');
                     return img && img.complete ? img.naturalWidth : 0;")
                .await?;
            Ok((v.as_u64() == Some(64)).then_some(()))
        })
        .await?;
        let name = bob.visible_text("#lightbox .file-name").await?;
        ensure!(
            name.as_deref() == Some("screenshot.png"),
            "caption {name:?}"
        );

        bob.client
            .active_element()
            .await?
            .send_keys(KEY_ESC)
            .await?;
        wait_for(
            "Esc to close the full-size view and focus the preview",
            || async {
                let v = bob
                    .js(&format!(
                        "const d = document.getElementById('lightbox');
                     const a = document.activeElement;
                     return !d && a && a.classList.contains('file-image')
                         && a.closest('li.msg').dataset.seq === '{seq}';"
                    ))
                    .await?;
                Ok((v == true).then_some(()))
            },
        )
        .await?;
        Ok(())
    })
    .await;
}

/// ada picks a text file with the Attach button's file picker and sends it with no text; bob
/// sees a card with its name, its size in words and a download link for it. Then ada drops a
/// file on the messages and sends it with a line; bob sees its card too.
#[tokio::test(flavor = "multi_thread")]
async fn a_file_from_the_picker_shows_as_a_card_on_the_other_page() {
    run("file_card", |ctx| async move {
        let (ada, bob) = two(&ctx).await?;
        let dir = banter_e2e::artifacts_dir().join("file_card-upload");
        std::fs::create_dir_all(&dir)?;
        let path = dir.join("notes.txt");
        std::fs::write(&path, "x".repeat(1536))?;
        let path = path.canonicalize()?;
        let input = ada
            .client
            .find(Locator::Css("#file-input"))
            .await
            .context("the file input")?;
        input
            .send_keys(path.to_str().context("a UTF-8 path")?)
            .await?;
        wait_uploaded(&ada, 1).await?;
        ada.click("#send-button").await?;

        let card = wait_for("bob to show the file's card", || async {
            let v = bob
                .js("const c = document.querySelector('#messages li.msg:not(.pending) .file-card');
                     if (!c) return null;
                     const a = c.querySelector('a.file-download');
                     return [c.querySelector('.file-name').textContent,
                             c.querySelector('.file-size').textContent,
                             a ? a.getAttribute('href') : '', a ? a.getAttribute('download') : ''];")
                .await?;
            Ok(v.as_array().cloned())
        })
        .await?;
        let card: Vec<&str> = card.iter().map(|v| v.as_str().unwrap_or_default()).collect();
        ensure!(card[0] == "notes.txt", "card name {card:?}");
        ensure!(card[1] == "1.5 KB", "card size {card:?}");
        ensure!(card[2].starts_with("/api/files/"), "download link {card:?}");
        ensure!(card[3] == "notes.txt", "download name {card:?}");

        // The link serves the file's bytes to a reader of the room.
        let url = format!("{}{}", ctx.server.base, card[2]);
        let body = reqwest::get(&url).await?.error_for_status()?.bytes().await?;
        ensure!(body.len() == 1536, "downloaded {} bytes", body.len());

        // A file dragged onto the messages is attached too (the page says where to drop it).
        let hint = ada
            .js(r#"const dt = new DataTransfer();
                dt.items.add(new File(['a,b;1,2'], 'table.csv', { type: 'text/csv' }));
                const list = document.getElementById('messages');
                const ev = type => new DragEvent(type, { dataTransfer: dt, bubbles: true, cancelable: true });
                list.dispatchEvent(ev('dragover'));
                return new Promise(done => requestAnimationFrame(() => {
                    const shown = !document.querySelector('.drop-hint').hidden;
                    list.dispatchEvent(ev('drop'));
                    done(shown);
                }));"#)
            .await?;
        ensure!(hint == true, "no drop hint while dragging files");
        wait_uploaded(&ada, 1).await?;
        ada.send("the numbers").await?;
        wait_for("bob to show the dropped file's card", || async {
            let v = bob
                .js("return Array.from(document.querySelectorAll('#messages li.msg .file-card .file-name'))
                        .some(n => n.textContent === 'table.csv');")
                .await?;
            Ok((v == true).then_some(()))
        })
        .await?;
        Ok(())
    })
    .await;
}

/// A file over the server's limit is refused in plain words in the composer, and the message
/// cannot go with it until it is removed.
#[tokio::test(flavor = "multi_thread")]
async fn a_file_over_the_limit_is_refused_in_plain_words() {
    run_with(
        "file_too_large",
        &["--max-file-bytes", "1000"],
        |ctx| async move {
            let url = format!("{}/", ctx.server.base);
            let ada = ctx.chat_page("ada", &url).await?;
            let dir = banter_e2e::artifacts_dir().join("file_too_large-upload");
            std::fs::create_dir_all(&dir)?;
            let path = dir.join("big.log");
            std::fs::write(&path, "y".repeat(4096))?;
            let path = path.canonicalize()?;
            ada.client
                .find(Locator::Css("#file-input"))
                .await?
                .send_keys(path.to_str().context("a UTF-8 path")?)
                .await?;
            let said = ada.wait_visible_text("#attachments .upload-error").await?;
            ensure!(
                said == "big.log is too large to upload here.",
                "refusal said as {said:?}"
            );
            ada.send("with the log").await?;
            wait_for(
                "the composer to ask for the refused file's removal",
                || async {
                    let error = ada
                        .visible_text("#composer-error")
                        .await?
                        .unwrap_or_default();
                    Ok((error == "big.log could not be uploaded: remove it first.").then_some(()))
                },
            )
            .await?;
            ensure!(ada.pending_count().await? == 0, "nothing was sent with it");
            ada.click("#attachments .attachment-remove").await?;
            // The text is still in the box: Enter sends it alone.
            ada.send("").await?;
            ada.wait_message("with the log").await.map(|_| ())
        },
    )
    .await;
}
