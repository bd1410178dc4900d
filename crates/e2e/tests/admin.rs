//! The admin page and the account menu of `--auth accounts` in Chromium, with the admin and a
//! member side by side: add a user, disable (their page is signed out at once) and enable,
//! reset a password, make admin; invites created and revoked (a revoked link is refused with a
//! sentence); change your own password (your other sessions end); sign out everywhere.

use anyhow::{Context, Result, ensure};
use banter_e2e::{Page, wait_for};
use tokio::io::AsyncWriteExt;

const SECRET: &str = "an-e2e-secret-that-is-long-enough-0123456789";

/// Signs in with a password on the sign-in page and waits until online.
async fn sign_in(page: &Page, name: &str, password: &str) -> Result<()> {
    page.wait_visible_text("#password-sign-in").await?;
    page.fill("#sign-in-name", name).await?;
    page.fill("#sign-in-password", password).await?;
    page.click("#sign-in-submit").await?;
    page.wait_state("online").await?;
    let me = page.wait_visible_text("#me-name").await?;
    ensure!(me == name, "signed in as {name}: {me}");
    Ok(())
}

/// Waits until the text of `css` contains `text`.
async fn wait_text(page: &Page, css: &str, text: &str) -> Result<String> {
    wait_for(
        &format!("{css} to say {text:?} on {}", page.label),
        || async { Ok(page.visible_text(css).await?.filter(|t| t.contains(text))) },
    )
    .await
}

/// `banter user add NAME --role admin` on the server's store, the password on standard input.
async fn add_admin(data: &std::path::Path, name: &str, password: &str) -> Result<()> {
    let mut child = tokio::process::Command::new(banter_e2e::banter_bin())
        .arg("--data-dir")
        .arg(data)
        .args(["user", "add", name, "--role", "admin"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()?;
    let mut stdin = child.stdin.take().context("stdin")?;
    stdin.write_all(format!("{password}\n").as_bytes()).await?;
    drop(stdin);
    let out = child.wait_with_output().await?;
    ensure!(
        out.status.success(),
        "banter user add: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    Ok(())
}

/// Opens the account menu (shown once the page has read the account).
async fn open_account_menu(page: &Page) -> Result<()> {
    page.wait_visible_text("#account-toggle").await?;
    page.click("#account-toggle").await?;
    page.wait_visible_text("#change-password").await?;
    Ok(())
}

/// Opens the account menu, then the admin page.
async fn open_admin(page: &Page) -> Result<()> {
    open_account_menu(page).await?;
    page.wait_visible_text("#open-admin").await?;
    page.click("#open-admin").await?;
    page.wait_visible_text("#admin-users").await?;
    Ok(())
}

/// The server flags every accounts test uses: cheap hashes, a key file in `dir`.
fn accounts_args(dir: &std::path::Path) -> Vec<String> {
    let secret = dir.join("secret");
    std::fs::write(&secret, SECRET).expect("the secret");
    [
        "--auth",
        "accounts",
        "--argon2-memory-kib",
        "1024",
        "--argon2-iterations",
        "1",
        "--auth-secret-file",
    ]
    .iter()
    .map(|s| s.to_string())
    .chain([secret.display().to_string()])
    .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn admin_manages_users_and_invites_and_members_manage_their_sessions() {
    let dir = std::env::temp_dir().join(format!("banter-e2e-admin-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("a scratch directory");
    let args = accounts_args(&dir);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    banter_e2e::run_with("admin_users_invites_sessions", &args, |ctx| async move {
        let base = format!("{}/", ctx.server.base);
        let data = ctx
            .server
            .data_dir()
            .context("a data directory")?
            .to_owned();
        add_admin(&data, "root", "root-password-1").await?;
        let root = ctx.page("root", &base).await?;
        sign_in(&root, "root", "root-password-1").await?;
        open_admin(&root).await?;

        // Add a user, who signs in.
        root.fill("#admin-add-user input[type=text]", "bob").await?;
        root.fill("#admin-add-user input[type=password]", "bob-password-1")
            .await?;
        root.click("#admin-add-user button[type=submit]").await?;
        wait_text(&root, "#admin-users tr[data-user=bob]", "member").await?;
        let bob = ctx.page("bob", &base).await?;
        sign_in(&bob, "bob", "bob-password-1").await?;

        // Disable: bob's page is signed out at once, and the password no longer works.
        root.click("#admin-users tr[data-user=bob] .toggle-disabled")
            .await?;
        wait_text(&root, "#admin-done", "bob is disabled").await?;
        wait_text(&root, "#admin-users tr[data-user=bob]", "disabled").await?;
        bob.wait_visible_text("#password-sign-in").await?;
        bob.fill("#sign-in-name", "bob").await?;
        bob.fill("#sign-in-password", "bob-password-1").await?;
        bob.click("#sign-in-submit").await?;
        wait_text(&bob, "#sign-in-error", "Wrong name or password").await?;

        // Enable, reset the password: the new one signs in.
        root.click("#admin-users tr[data-user=bob] .toggle-disabled")
            .await?;
        wait_text(&root, "#admin-done", "bob is enabled").await?;
        wait_for("bob's row enabled", || async {
            let row = root.visible_text("#admin-users tr[data-user=bob]").await?;
            Ok(row.filter(|r| !r.contains("disabled")).map(|_| ()))
        })
        .await?;
        root.fill(
            "#admin-users tr[data-user=bob] input[type=password]",
            "bob-password-2",
        )
        .await?;
        root.click("#admin-users tr[data-user=bob] .reset-password")
            .await?;
        wait_text(&root, "#admin-done", "password was reset").await?;
        bob.fill("#sign-in-name", "bob").await?;
        bob.fill("#sign-in-password", "bob-password-2").await?;
        bob.click("#sign-in-submit").await?;
        wait_text(&bob, "#me-name", "bob").await?;
        bob.wait_state("online").await?;

        // Make admin: the row says so, and bob's menu gains "Admin" once it is read again.
        root.click("#admin-users tr[data-user=bob] .toggle-role")
            .await?;
        wait_text(
            &root,
            "#admin-users tr[data-user=bob] .toggle-role",
            "Make member",
        )
        .await?;

        // Invites: create one, revoke it; the revoked link is refused with a sentence.
        root.click("#create-invite").await?;
        let link = wait_text(&root, "#invite-link code", "#invite=").await?;
        root.click("#admin-invites li button").await?;
        wait_text(&root, "#admin-invites li", "revoked").await?;
        let carol = ctx.page("carol", link.trim()).await?;
        carol.wait_visible_text("#sign-up").await?;
        carol.fill("#signup-name", "carol").await?;
        carol.fill("#signup-password", "carol-password").await?;
        carol.fill("#signup-again", "carol-password").await?;
        carol.click("#sign-up-submit").await?;
        let told = wait_text(&carol, "#sign-up-error", "ask for a new one").await?;
        ensure!(told.contains("not valid"), "a revoked invite: {told}");

        // Change password: bob's other session ends, this one goes on.
        let bob2 = ctx.page("bob-laptop", &base).await?;
        sign_in(&bob2, "bob", "bob-password-2").await?;
        open_account_menu(&bob).await?;
        bob.fill("#current-password", "bob-password-2").await?;
        bob.fill("#new-password", "bob-password-3").await?;
        bob.click("#change-password").await?;
        wait_text(&bob, "#account-menu .notice", "Password changed").await?;
        bob2.wait_visible_text("#password-sign-in").await?;
        bob.wait_state("online").await?;

        // Sign out everywhere: both of bob's pages end on the sign-in page.
        sign_in(&bob2, "bob", "bob-password-3").await?;
        bob.wait_visible_text("#sign-out-everywhere").await?;
        bob.click("#sign-out-everywhere").await?;
        bob.wait_visible_text("#password-sign-in").await?;
        bob2.wait_visible_text("#password-sign-in").await?;
        Ok(())
    })
    .await;
    let _ = std::fs::remove_dir_all(dir);
}
