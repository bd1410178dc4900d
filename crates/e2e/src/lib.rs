//! Harness for Banter's browser tests: the release binary, chromedriver and headless Chromium,
//! driven from Rust with fantoccini.
//!
//! Each test gets its own server on a free port, its own chromedriver on a free port and a fresh
//! browser profile per page, so tests run in parallel without sharing anything. Nothing waits by
//! sleeping: every step polls a condition with a deadline ([`wait_for`]). A failing test saves a
//! screenshot of each of its pages under `<target>/e2e-artifacts/` and the server's log next to
//! it.
//!
//! Needs: `target/release/banter` built with the app embedded (`just release`; or set
//! `BANTER_BIN`), `chromedriver` (or `CHROMEDRIVER`) and Chromium (`/usr/bin/chromium`, or
//! `CHROME_BIN`).

use std::future::Future;
use std::net::SocketAddr;
use std::panic::AssertUnwindSafe;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context as _, Result, anyhow, bail, ensure};
use banter_testkit::{Banter, Endpoint, Launch};
use fantoccini::{Client, ClientBuilder, Locator};
use futures::FutureExt;
use serde_json::{Value, json};
use tokio::process::{Child, Command};

mod page;

pub use banter_testkit::{
    Proxy as CutProxy, free_port, release_bin as banter_bin, target_dir, workspace_root,
};

/// How long any single condition may take before the test fails.
pub const TIMEOUT: Duration = Duration::from_secs(15);
const POLL: Duration = Duration::from_millis(40);

/// Where failing tests leave screenshots and logs.
pub fn artifacts_dir() -> PathBuf {
    target_dir().join("e2e-artifacts")
}

/// Polls `check` until it yields `Some`, failing after [`TIMEOUT`] with `what` in the message.
pub async fn wait_for<T, F, Fut>(what: &str, mut check: F) -> Result<T>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<Option<T>>>,
{
    let deadline = Instant::now() + TIMEOUT;
    let mut last_err = None;
    loop {
        match check().await {
            Ok(Some(v)) => return Ok(v),
            Ok(None) => {}
            Err(e) => last_err = Some(e),
        }
        if Instant::now() > deadline {
            return Err(match last_err {
                Some(e) => e.context(format!("timed out after {TIMEOUT:?} waiting for {what}")),
                None => anyhow!("timed out after {TIMEOUT:?} waiting for {what}"),
            });
        }
        tokio::time::sleep(POLL).await;
    }
}

/// The release server on a free port (through `banter-testkit`), its log in the artifacts
/// directory. Killed on drop.
pub struct Server {
    _banter: Banter,
    /// `http://127.0.0.1:PORT`
    pub base: String,
    pub addr: SocketAddr,
    pub log: PathBuf,
}

impl Server {
    /// The server's data directory (for `banter user ...` beside it).
    pub fn data_dir(&self) -> Option<&std::path::Path> {
        self._banter.data_dir()
    }

    /// Starts the binary and waits until it listens.
    pub async fn start(test: &str) -> Result<Server> {
        Server::start_with(test, &[]).await
    }

    /// Like [`Server::start`], with extra command-line flags.
    pub async fn start_with(test: &str, args: &[&str]) -> Result<Server> {
        let bin = banter_bin();
        if !bin.exists() {
            bail!(
                "{} does not exist: build the release bundle first (`just release`), or set BANTER_BIN",
                bin.display()
            );
        }
        std::fs::create_dir_all(artifacts_dir())?;
        let log = artifacts_dir().join(format!("{test}-server.log"));
        std::fs::File::create(&log)?;
        let banter = Launch::new(bin)
            // The tests post backlogs over HTTP as fast as they can, as a bot would: no HTTP rate
            // limit here (the WebSocket limits stay, and a test may set its own).
            .args(["--http-rate-per-sec", "0"])
            .args(args)
            .env("RUST_LOG", Some("info"))
            .log_to(&log)
            .start()
            .await?;
        Ok(Server {
            base: banter.http(""),
            addr: banter.addr,
            log,
            _banter: banter,
        })
    }

    /// Posts `n` messages (`{prefix} 1` … `{prefix} n`) over HTTP, several at a time.
    pub async fn post_many(&self, room: &str, user: &str, prefix: &str, n: usize) -> Result<()> {
        use futures::StreamExt;
        let results: Vec<Result<Value>> = futures::stream::iter(1..=n)
            .map(|i| async move { self.post(room, user, &format!("{prefix} {i}")).await })
            .buffer_unordered(16)
            .collect()
            .await;
        for r in results {
            r?;
        }
        Ok(())
    }

    /// Posts a message over HTTP, as a bot would. Returns the stored message.
    pub async fn post(&self, room: &str, user: &str, text: &str) -> Result<Value> {
        let body = banter_protocol::http::PostMessage {
            user: user.into(),
            text: text.into(),
            client_id: None,
            reply_to: None,
            files: Vec::new(),
        };
        let (status, value) =
            banter_testkit::post_within(&self.addr, room, serde_json::to_value(&body)?, TIMEOUT)
                .await?;
        if status != 201 {
            bail!("POST answered {status}: {value}");
        }
        Ok(value)
    }
}

/// chromedriver on a free port. Killed on drop.
pub struct Driver {
    _child: Child,
    pub url: String,
}

impl Driver {
    /// Starts chromedriver and waits until it is ready.
    pub async fn start() -> Result<Driver> {
        let bin = std::env::var("CHROMEDRIVER").unwrap_or_else(|_| "chromedriver".into());
        let port = free_port()?;
        let child = Command::new(&bin)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .with_context(|| format!("start {bin} (set CHROMEDRIVER)"))?;
        let url = format!("http://127.0.0.1:{port}");
        let status = format!("{url}/status");
        let http = reqwest::Client::new();
        wait_for("chromedriver to be ready", || {
            let http = http.clone();
            let status = status.clone();
            async move {
                let Ok(resp) = http.get(&status).send().await else {
                    return Ok(None);
                };
                let v: Value = resp.json().await.unwrap_or(Value::Null);
                Ok(v["value"]["ready"].as_bool().unwrap_or(false).then_some(()))
            }
        })
        .await?;
        Ok(Driver { _child: child, url })
    }
}

static PROFILE_SEQ: AtomicU64 = AtomicU64::new(0);

/// One browser page (its own WebDriver session and fresh profile).
#[derive(Clone)]
pub struct Page {
    pub client: Client,
    pub label: String,
    driver_url: String,
}

/// Everything a test has: the server, the driver, and the pages it opened.
pub struct Ctx {
    pub server: Server,
    driver: Driver,
    test: String,
    pages: Mutex<Vec<Page>>,
    profiles: Mutex<Vec<PathBuf>>,
}

impl Ctx {
    /// Opens a new headless Chromium page (fresh profile) on `url`.
    pub async fn page(&self, label: &str, url: &str) -> Result<Page> {
        let n = PROFILE_SEQ.fetch_add(1, Ordering::Relaxed);
        let profile = std::env::temp_dir().join(format!(
            "banter-e2e-{}-{}-{n}",
            std::process::id(),
            self.test
        ));
        std::fs::create_dir_all(&profile)?;
        self.profiles
            .lock()
            .map_err(|_| anyhow!("poisoned"))?
            .push(profile.clone());
        let chrome = std::env::var("CHROME_BIN").unwrap_or_else(|_| "/usr/bin/chromium".into());
        let caps = json!({
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": chrome,
                "args": [
                    "--headless=new",
                    "--no-sandbox",
                    "--disable-gpu",
                    "--disable-dev-shm-usage",
                    "--disable-background-networking",
                    "--no-first-run",
                    "--disable-component-update",
                    "--disable-sync",
                    "--window-size=1100,900",
                    format!("--user-data-dir={}", profile.display()),
                ],
            },
            "goog:loggingPrefs": { "browser": "ALL" },
        });
        let caps = match caps {
            Value::Object(map) => map,
            _ => bail!("capabilities must be an object"),
        };
        let client = ClientBuilder::native()
            .capabilities(caps)
            .connect(&self.driver.url)
            .await
            .context("open a WebDriver session")?;
        let page = Page {
            client,
            label: label.to_string(),
            driver_url: self.driver.url.clone(),
        };
        self.pages
            .lock()
            .map_err(|_| anyhow!("poisoned"))?
            .push(page.clone());
        page.client
            .goto(url)
            .await
            .with_context(|| format!("open {url}"))?;
        Ok(page)
    }

    /// Opens a page on `url` and joins as `name`, waiting until it is online.
    pub async fn chat_page(&self, name: &str, url: &str) -> Result<Page> {
        let page = self.page(name, url).await?;
        page.choose_name(name).await?;
        page.wait_state("online").await?;
        Ok(page)
    }

    async fn save_failure_artifacts(&self) -> Vec<PathBuf> {
        let pages = self.pages.lock().map(|p| p.clone()).unwrap_or_default();
        let mut saved = Vec::new();
        let _ = std::fs::create_dir_all(artifacts_dir());
        for (i, page) in pages.iter().enumerate() {
            let path = artifacts_dir().join(format!("{}-{i}-{}.png", self.test, page.label));
            if let Ok(png) = page.client.screenshot().await
                && std::fs::write(&path, png).is_ok()
            {
                saved.push(path);
            }
            if let Ok(html) = page.client.source().await {
                let path = artifacts_dir().join(format!("{}-{i}-{}.html", self.test, page.label));
                if std::fs::write(&path, html).is_ok() {
                    saved.push(path);
                }
            }
        }
        saved
    }

    async fn close(&self) {
        let pages = self.pages.lock().map(|p| p.clone()).unwrap_or_default();
        for page in pages {
            let _ = page.client.close().await;
        }
        for profile in self.profiles.lock().map(|p| p.clone()).unwrap_or_default() {
            let _ = std::fs::remove_dir_all(profile);
        }
    }
}

/// Runs one browser test: starts its server and driver, runs `body`, and on failure (an error
/// or a panic) saves a screenshot and the HTML of every page before failing the test.
pub async fn run<F, Fut>(test: &str, body: F)
where
    F: FnOnce(Arc<Ctx>) -> Fut,
    Fut: Future<Output = Result<()>>,
{
    run_with(test, &[], body).await;
}

/// Like [`run`], with extra flags for the server.
pub async fn run_with<F, Fut>(test: &str, server_args: &[&str], body: F)
where
    F: FnOnce(Arc<Ctx>) -> Fut,
    Fut: Future<Output = Result<()>>,
{
    let started = Instant::now();
    let setup = async {
        let server = Server::start_with(test, server_args).await?;
        let driver = Driver::start().await?;
        anyhow::Ok(Arc::new(Ctx {
            server,
            driver,
            test: test.to_string(),
            pages: Mutex::new(Vec::new()),
            profiles: Mutex::new(Vec::new()),
        }))
    };
    let ctx = match setup.await {
        Ok(ctx) => ctx,
        Err(e) => panic!("{test}: setup failed: {e:#}"),
    };
    let outcome = AssertUnwindSafe(body(ctx.clone())).catch_unwind().await;
    let failure = match outcome {
        Ok(Ok(())) => None,
        Ok(Err(e)) => Some(format!("{e:#}")),
        Err(panic) => Some(
            panic
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_else(|| "panicked".into()),
        ),
    };
    if let Some(failure) = failure {
        let saved = ctx.save_failure_artifacts().await;
        ctx.close().await;
        let saved: Vec<String> = saved.iter().map(|p| p.display().to_string()).collect();
        panic!(
            "{test} failed: {failure}\nartifacts: {}\nserver log: {}",
            saved.join(", "),
            ctx.server.log.display()
        );
    }
    ctx.close().await;
    eprintln!("{test}: passed in {:.2?}", started.elapsed());
}
