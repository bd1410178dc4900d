//! What a test does with a [`Page`]: run scripts, find, click and type, read what the user
//! sees, and wait for it to change.

use super::*;

impl Page {
    /// Types `text` into the input `css` (cleared first).
    pub async fn fill(&self, css: &str, text: &str) -> Result<()> {
        use anyhow::Context as _;
        let input = self
            .client
            .wait()
            .at_most(TIMEOUT)
            .for_element(Locator::Css(css))
            .await
            .with_context(|| format!("the input {css}"))?;
        input.clear().await?;
        input.send_keys(text).await?;
        Ok(())
    }

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

    /// Scrolls up to "Show earlier messages" and presses it, as a keyboard user does (the top
    /// of the list also loads older messages by itself, which moves the button away before a
    /// pointer click could land on it).
    pub async fn show_earlier(&self) -> Result<()> {
        self.js("document.querySelector('.scroller').scrollTop = 0; \
             document.getElementById('show-earlier').click(); return 0;")
            .await?;
        Ok(())
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

    /// Runs a Chrome DevTools protocol command (through chromedriver) and returns its answer.
    pub async fn cdp(&self, cmd: &str, params: Value) -> Result<Value> {
        let id = self
            .client
            .session_id()
            .await?
            .ok_or_else(|| anyhow!("no session id"))?;
        let resp = reqwest::Client::new()
            .post(format!("{}/session/{id}/goog/cdp/execute", self.driver_url))
            .json(&json!({"cmd": cmd, "params": params}))
            .send()
            .await?;
        ensure!(resp.status().is_success(), "CDP {cmd}: {}", resp.status());
        Ok(resp.json::<Value>().await?["value"].clone())
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
