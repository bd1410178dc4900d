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
use std::net::{SocketAddr, TcpListener as StdListener};
use std::panic::AssertUnwindSafe;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context as _, Result, anyhow, bail, ensure};
use fantoccini::{Client, ClientBuilder, Locator};
use futures::FutureExt;
use serde_json::{Value, json};
use tokio::net::{TcpListener, TcpStream};
use tokio::process::{Child, Command};
use tokio::task::JoinHandle;

/// How long any single condition may take before the test fails.
pub const TIMEOUT: Duration = Duration::from_secs(15);
const POLL: Duration = Duration::from_millis(40);

/// The workspace root (two levels above this crate).
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .unwrap_or_else(|_| Path::new(env!("CARGO_MANIFEST_DIR")).join("../.."))
}

/// Cargo's target directory: `CARGO_TARGET_DIR` when set, else `<workspace>/target`.
pub fn target_dir() -> PathBuf {
    match std::env::var_os("CARGO_TARGET_DIR") {
        Some(dir) => {
            let dir = PathBuf::from(dir);
            if dir.is_absolute() {
                dir
            } else {
                workspace_root().join(dir)
            }
        }
        None => workspace_root().join("target"),
    }
}

/// The server binary under test: `BANTER_BIN`, else `<target>/release/banter`.
pub fn banter_bin() -> PathBuf {
    std::env::var_os("BANTER_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| target_dir().join("release").join("banter"))
}

/// Where failing tests leave screenshots and logs.
pub fn artifacts_dir() -> PathBuf {
    target_dir().join("e2e-artifacts")
}

/// A port nobody listens on right now.
pub fn free_port() -> Result<u16> {
    let l = StdListener::bind("127.0.0.1:0").context("bind an ephemeral port")?;
    Ok(l.local_addr()?.port())
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

/// The release server on a free port. Killed on drop.
pub struct Server {
    _child: Child,
    /// The server's own durable store, removed with it.
    _data: tempfile::TempDir,
    http: reqwest::Client,
    /// `http://127.0.0.1:PORT`
    pub base: String,
    pub addr: SocketAddr,
    pub log: PathBuf,
}

impl Server {
    /// Starts the binary and waits until `/healthz` answers.
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
        let port = free_port()?;
        let addr: SocketAddr = ([127, 0, 0, 1], port).into();
        std::fs::create_dir_all(artifacts_dir())?;
        let log = artifacts_dir().join(format!("{test}-server.log"));
        let log_file = std::fs::File::create(&log)?;
        let data = tempfile::tempdir()?;
        let child = Command::new(&bin)
            .arg("--listen")
            .arg(addr.to_string())
            .arg("--data-dir")
            .arg(data.path())
            // The tests post backlogs over HTTP as fast as they can, as a bot would: no HTTP rate
            // limit here (the WebSocket limits stay, and a test may set its own).
            .args(["--http-rate-per-sec", "0"])
            .args(args)
            .env("RUST_LOG", "info")
            .stdout(Stdio::from(log_file.try_clone()?))
            .stderr(Stdio::from(log_file))
            .kill_on_drop(true)
            .spawn()
            .with_context(|| format!("start {}", bin.display()))?;
        let base = format!("http://{addr}");
        let http = reqwest::Client::new();
        let health = format!("{base}/healthz");
        wait_for("the server's /healthz", || {
            let http = http.clone();
            let health = health.clone();
            async move {
                Ok(match http.get(&health).send().await {
                    Ok(r) if r.status().is_success() => Some(()),
                    _ => None,
                })
            }
        })
        .await?;
        Ok(Server {
            _child: child,
            _data: data,
            http,
            base,
            addr,
            log,
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
        };
        let resp = self
            .http
            .post(format!("{}/api/rooms/{room}/messages", self.base))
            .json(&body)
            .send()
            .await?;
        let status = resp.status();
        let value: Value = resp.json().await.unwrap_or(Value::Null);
        if status.as_u16() != 201 {
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

impl Page {
    /// Runs a script in the page and returns its value.
    pub async fn js(&self, script: &str) -> Result<Value> {
        Ok(self.client.execute(script, vec![]).await?)
    }

    /// Types `name` into the name prompt and submits it.
    pub async fn choose_name(&self, name: &str) -> Result<()> {
        let input = self
            .client
            .wait()
            .at_most(TIMEOUT)
            .for_element(Locator::Css("#name-input"))
            .await
            .context("the name prompt")?;
        input.clear().await?;
        input.send_keys(name).await?;
        self.client
            .find(Locator::Css("#name-submit"))
            .await?
            .click()
            .await?;
        Ok(())
    }

    /// The connection state shown (`connecting`, `online`, `reconnecting`, `offline`).
    pub async fn state(&self) -> Result<String> {
        let v = self
            .js("const e = document.getElementById('conn-status'); return e ? e.dataset.state : null;")
            .await?;
        Ok(v.as_str().unwrap_or_default().to_string())
    }

    /// Waits until the connection badge shows `state`.
    pub async fn wait_state(&self, state: &str) -> Result<()> {
        wait_for(&format!("{} to be {state}", self.label), || async {
            Ok((self.state().await? == state).then_some(()))
        })
        .await
    }

    /// The text of the connection badge.
    pub async fn state_label(&self) -> Result<String> {
        let v = self
            .js("const e = document.getElementById('conn-status'); return e ? e.textContent : '';")
            .await?;
        Ok(v.as_str().unwrap_or_default().to_string())
    }

    /// Types `text` in the composer and presses Enter.
    pub async fn send(&self, text: &str) -> Result<()> {
        let input = self
            .client
            .wait()
            .at_most(TIMEOUT)
            .for_element(Locator::Css("#composer-input"))
            .await?;
        input.send_keys(text).await?;
        input.send_keys("\u{E007}").await?;
        Ok(())
    }

    /// The stored (acknowledged or received) messages on screen, as `(seq, user, text)`.
    pub async fn messages(&self) -> Result<Vec<(u64, String, String)>> {
        let v = self
            .js(
                r#"return Array.from(document.querySelectorAll('#messages li.msg:not(.pending)'))
                .map(li => [Number(li.dataset.seq),
                            li.querySelector('.msg-user').textContent,
                            li.querySelector('.msg-text').textContent]);"#,
            )
            .await?;
        let rows = v.as_array().cloned().unwrap_or_default();
        Ok(rows
            .iter()
            .map(|r| {
                (
                    r[0].as_u64().unwrap_or(0),
                    r[1].as_str().unwrap_or_default().to_string(),
                    r[2].as_str().unwrap_or_default().to_string(),
                )
            })
            .collect())
    }

    /// How many pending (unacknowledged) messages are shown.
    pub async fn pending_count(&self) -> Result<usize> {
        let v = self
            .js("return document.querySelectorAll('#messages li.msg.pending').length;")
            .await?;
        Ok(v.as_u64().unwrap_or(0) as usize)
    }

    /// Waits until a stored message with exactly `text` is on screen; returns `(seq, user)`.
    pub async fn wait_message(&self, text: &str) -> Result<(u64, String)> {
        wait_for(&format!("{} to show {text:?}", self.label), || async {
            Ok(self
                .messages()
                .await?
                .into_iter()
                .find(|(_, _, t)| t == text)
                .map(|(seq, user, _)| (seq, user)))
        })
        .await
    }

    /// The text of the element matching `css`, or `None` when absent or hidden.
    pub async fn visible_text(&self, css: &str) -> Result<Option<String>> {
        let script = format!(
            "const e = document.querySelector({}); return (e && e.offsetParent !== null) ? e.textContent : null;",
            serde_json::to_string(css)?
        );
        Ok(self.js(&script).await?.as_str().map(str::to_string))
    }

    /// Waits until the element matching `css` is visible with non-empty text; returns it.
    pub async fn wait_visible_text(&self, css: &str) -> Result<String> {
        wait_for(&format!("{css} on {}", self.label), || async {
            Ok(self
                .visible_text(css)
                .await?
                .filter(|t| !t.trim().is_empty()))
        })
        .await
    }

    /// Clicks the element matching `css`.
    pub async fn click(&self, css: &str) -> Result<()> {
        self.client
            .wait()
            .at_most(TIMEOUT)
            .for_element(Locator::Css(css))
            .await?
            .click()
            .await?;
        Ok(())
    }

    /// The browser's console entries at level SEVERE since the last call (chromedriver's log
    /// endpoint).
    pub async fn console_errors(&self) -> Result<Vec<String>> {
        let id = self
            .client
            .session_id()
            .await?
            .ok_or_else(|| anyhow!("no session id"))?;
        let resp: Value = reqwest::Client::new()
            .post(format!("{}/session/{id}/se/log", self.driver_url))
            .json(&json!({"type": "browser"}))
            .send()
            .await?
            .json()
            .await?;
        let entries = resp["value"].as_array().cloned().unwrap_or_default();
        Ok(entries
            .iter()
            .filter(|e| e["level"].as_str() == Some("SEVERE"))
            .map(|e| e["message"].as_str().unwrap_or_default().to_string())
            .collect())
    }

    /// Fails if the console has errors, except those `allowed` (substring match).
    pub async fn assert_clean_console(&self, allowed: &[&str]) -> Result<()> {
        let errors: Vec<String> = self
            .console_errors()
            .await?
            .into_iter()
            .filter(|e| !allowed.iter().any(|a| e.contains(a)))
            .collect();
        if !errors.is_empty() {
            bail!("console errors on {}: {errors:#?}", self.label);
        }
        Ok(())
    }

    /// Emulates `prefers-color-scheme: dark` (Chrome DevTools protocol through chromedriver).
    pub async fn emulate_dark(&self) -> Result<()> {
        let id = self
            .client
            .session_id()
            .await?
            .ok_or_else(|| anyhow!("no session id"))?;
        let body = json!({
            "cmd": "Emulation.setEmulatedMedia",
            "params": {"features": [{"name": "prefers-color-scheme", "value": "dark"}]},
        });
        let resp = reqwest::Client::new()
            .post(format!("{}/session/{id}/goog/cdp/execute", self.driver_url))
            .json(&body)
            .send()
            .await?;
        ensure!(resp.status().is_success(), "CDP: {}", resp.status());
        Ok(())
    }

    /// The id of the focused element (empty when none has one).
    pub async fn focused_id(&self) -> Result<String> {
        let id = self
            .js("return document.activeElement && document.activeElement.id;")
            .await?;
        Ok(id.as_str().unwrap_or_default().to_string())
    }

    /// Waits until the element with `id` has keyboard focus.
    pub async fn wait_focus(&self, id: &str) -> Result<()> {
        wait_for(
            &format!("#{id} to have focus on {}", self.label),
            || async { Ok((self.focused_id().await? == id).then_some(())) },
        )
        .await
    }

    /// Joins (or opens) `room` with the sidebar's room field and waits until it is on screen.
    pub async fn join_room(&self, room: &str) -> Result<()> {
        let input = self
            .client
            .wait()
            .at_most(TIMEOUT)
            .for_element(Locator::Css("#room-input"))
            .await?;
        input.send_keys(&format!("{room}\u{E007}")).await?;
        self.wait_room(room).await
    }

    /// Waits until the title shows `room`.
    pub async fn wait_room(&self, room: &str) -> Result<()> {
        wait_for(&format!("{} to show #{room}", self.label), || async {
            let title = self.visible_text("#room-name").await?.unwrap_or_default();
            Ok((title == format!("#{room}")).then_some(()))
        })
        .await
    }

    /// The sidebar's badges for `room`: (unread, mentions), 0 when hidden.
    pub async fn badges(&self, room: &str) -> Result<(u64, u64)> {
        let script = format!(
            r#"const li = document.querySelector('#room-list li[data-room={}]');
            if (!li) return null;
            const n = sel => {{ const b = li.querySelector(sel);
                return b && b.offsetParent !== null ? Number(b.textContent.replace('@', '')) : 0; }};
            return [n('.badge.unread'), n('.badge.mention')];"#,
            serde_json::to_string(room)?
        );
        let v = self.js(&script).await?;
        let v = v
            .as_array()
            .ok_or_else(|| anyhow!("{room} is not in the room list"))?;
        Ok((
            v[0].as_u64().unwrap_or(0),
            v.get(1).and_then(Value::as_u64).unwrap_or(0),
        ))
    }

    /// The page's title.
    pub async fn title(&self) -> Result<String> {
        Ok(self.client.title().await?)
    }

    /// Saves a screenshot as PNG to `path`.
    pub async fn screenshot(&self, path: &Path) -> Result<()> {
        let png = self.client.screenshot().await?;
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        std::fs::write(path, png)?;
        Ok(())
    }

    /// Milliseconds from page load to the first `online`, as the app measured it.
    pub async fn online_after_ms(&self) -> Result<Option<u64>> {
        let v = self
            .js("const e = document.getElementById('app'); return e ? e.dataset.onlineMs || null : null;")
            .await?;
        Ok(v.as_str().and_then(|s| s.parse().ok()))
    }
}

/// A TCP proxy between the browser and the server that the test can cut, like a network
/// failure: open connections are dropped at once and new ones are refused until
/// [`CutProxy::restore`].
pub struct CutProxy {
    pub port: u16,
    upstream: Arc<Mutex<SocketAddr>>,
    muted: Arc<AtomicBool>,
    cut: Arc<AtomicBool>,
    conns: Arc<Mutex<Vec<JoinHandle<()>>>>,
    accept: JoinHandle<()>,
}

impl CutProxy {
    /// Listens on a free port and forwards to `upstream`.
    pub async fn start(upstream: SocketAddr) -> Result<CutProxy> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let port = listener.local_addr()?.port();
        let cut = Arc::new(AtomicBool::new(false));
        let conns: Arc<Mutex<Vec<JoinHandle<()>>>> = Arc::default();
        let upstream = Arc::new(Mutex::new(upstream));
        let muted = Arc::new(AtomicBool::new(false));
        let accept = {
            let (cut, conns, target) = (cut.clone(), conns.clone(), upstream.clone());
            let muted = muted.clone();
            tokio::spawn(async move {
                while let Ok((inbound, _)) = listener.accept().await {
                    let upstream = match target.lock() {
                        Ok(addr) if !cut.load(Ordering::SeqCst) => *addr,
                        _ => {
                            drop(inbound);
                            continue;
                        }
                    };
                    let muted = muted.clone();
                    let task = tokio::spawn(async move {
                        if let Ok(outbound) = TcpStream::connect(upstream).await {
                            forward(inbound, outbound, muted).await;
                        }
                    });
                    if let Ok(mut c) = conns.lock() {
                        c.retain(|t| !t.is_finished());
                        c.push(task);
                    }
                }
            })
        };
        Ok(CutProxy {
            port,
            upstream,
            muted,
            cut,
            conns,
            accept,
        })
    }

    /// `http://127.0.0.1:PORT`
    pub fn base(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Drops every open connection and refuses new ones.
    pub fn cut(&self) {
        self.cut.store(true, Ordering::SeqCst);
        if let Ok(mut c) = self.conns.lock() {
            for task in c.drain(..) {
                task.abort();
            }
        }
    }

    /// Sends new connections to another server (as if the server had restarted elsewhere).
    pub fn set_upstream(&self, addr: SocketAddr) {
        if let Ok(mut a) = self.upstream.lock() {
            *a = addr;
        }
    }

    /// Lets connections through again (both ways).
    pub fn restore(&self) {
        self.muted.store(false, Ordering::SeqCst);
        self.cut.store(false, Ordering::SeqCst);
    }

    /// Keeps forwarding what the browser sends but drops what the server answers: the server
    /// stores a message, the page never hears the `ack`. Only [`CutProxy::cut`] after this makes
    /// sense (the dropped bytes leave the open streams corrupt).
    pub fn mute_answers(&self) {
        self.muted.store(true, Ordering::SeqCst);
    }
}

/// Copies both ways until either side closes; server-to-browser bytes are dropped while `muted`.
async fn forward(inbound: TcpStream, outbound: TcpStream, muted: Arc<AtomicBool>) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let (mut in_read, mut in_write) = inbound.into_split();
    let (mut out_read, mut out_write) = outbound.into_split();
    let up = async {
        let _ = tokio::io::copy(&mut in_read, &mut out_write).await;
        let _ = out_write.shutdown().await;
    };
    let down = async {
        let mut buf = vec![0u8; 16 * 1024];
        loop {
            let n = match out_read.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => n,
            };
            if muted.load(Ordering::SeqCst) {
                continue;
            }
            if in_write.write_all(&buf[..n]).await.is_err() {
                break;
            }
        }
        let _ = in_write.shutdown().await;
    };
    tokio::join!(up, down);
}

impl Drop for CutProxy {
    fn drop(&mut self) {
        self.accept.abort();
        self.cut();
    }
}
