//! `--auth accounts` in Chromium: an invite link (`banter invite`) opens the sign-up page; the
//! new member chats at once; the session is remembered (the page renews its token from the
//! `HttpOnly` cookie, even with no token kept); Sign out forgets it; a wrong password is told
//! plainly; name and password sign in again.

use anyhow::{Context, Result, ensure};

const SECRET: &str = "an-e2e-secret-that-is-long-enough-0123456789";

/// An invite link from `banter invite` on the server's data directory.
async fn invite_link(data_dir: &std::path::Path, base: &str) -> Result<String> {
    let out = tokio::process::Command::new(banter_e2e::banter_bin())
        .arg("--data-dir")
        .arg(data_dir)
        .args(["invite", "--url", base])
        .output()
        .await?;
    ensure!(
        out.status.success(),
        "banter invite: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    Ok(String::from_utf8(out.stdout)?.trim().to_string())
}

#[tokio::test(flavor = "multi_thread")]
async fn sign_up_from_an_invite_link_then_sign_in_with_a_password() {
    let args = [
        "--auth",
        "accounts",
        "--argon2-memory-kib",
        "1024",
        "--argon2-iterations",
        "1",
    ];
    let dir = std::env::temp_dir().join(format!("banter-e2e-accounts-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("a scratch directory");
    let secret = dir.join("secret");
    std::fs::write(&secret, SECRET).expect("the secret");
    let secret_arg = secret.display().to_string();
    let mut all: Vec<&str> = args.to_vec();
    all.extend(["--auth-secret-file", secret_arg.as_str()]);
    banter_e2e::run_with("sign_up_then_sign_in", &all, |ctx| async move {
        let base = ctx.server.base.clone();
        let data = ctx
            .server
            .data_dir()
            .context("a data directory")?
            .to_owned();
        let link = invite_link(&data, &base).await?;
        ensure!(link.contains("#invite="), "an invite link: {link}");

        let page = ctx.page("ada", &link).await?;
        page.wait_visible_text("#sign-up").await?;
        page.fill("#signup-name", "ada").await?;
        page.fill("#signup-password", "correct horse").await?;
        page.fill("#signup-again", "correct horse").await?;
        page.click("#sign-up-submit").await?;
        page.wait_state("online").await?;
        let me = page.wait_visible_text("#me-name").await?;
        ensure!(me == "ada", "signed up as ada: {me}");
        let address = page.js("return location.href;").await?;
        ensure!(
            address.as_str().is_some_and(|a| !a.contains("invite")),
            "the code left the address bar: {address}"
        );
        page.send("hello from ada").await?;
        page.wait_message("hello from ada").await?;

        // Remembered: with no token kept at all, a reload renews from the cookie.
        page.js("localStorage.removeItem('banter.token');").await?;
        page.client.refresh().await?;
        page.wait_state("online").await?;
        page.wait_message("hello from ada").await?;

        // Sign out forgets the session: the sign-in page stays, with the password form.
        page.click("#sign-out").await?;
        page.wait_visible_text("#password-sign-in").await?;
        page.fill("#sign-in-name", "ada").await?;
        page.fill("#sign-in-password", "wrong horse").await?;
        page.click("#sign-in-submit").await?;
        let told = page.wait_visible_text("#sign-in-error").await?;
        ensure!(told.contains("Wrong name or password"), "{told}");
        page.fill("#sign-in-password", "correct horse").await?;
        page.click("#sign-in-submit").await?;
        page.wait_state("online").await?;
        let me = page.wait_visible_text("#me-name").await?;
        ensure!(me == "ada", "signed in as ada: {me}");
        page.assert_clean_console(&["401", "Unauthorized"]).await
    })
    .await;
    let _ = std::fs::remove_dir_all(dir);
}
