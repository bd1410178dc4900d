//! Browser tests for the bugs found when the app was tried as a team chat (issue 11): each one
//! failed before its fix.

use anyhow::ensure;
use banter_e2e::{CutProxy, Page, run, run_with, wait_for};

const NETWORK_CUT_NOISE: &[&str] = &["WebSocket connection to", "net::ERR_"];

/// Clicks "Show earlier" until the oldest held message is on screen.
async fn show_all_earlier(page: &Page) -> anyhow::Result<()> {
    for _ in 0..10 {
        if page.visible_text("#show-earlier").await?.is_none() {
            return Ok(());
        }
        let before = page.messages().await?.len();
        page.show_earlier().await?;
        wait_for("more messages in the DOM", || async {
            Ok((page.messages().await?.len() > before).then_some(()))
        })
        .await?;
    }
    anyhow::bail!("\"Show earlier\" never ran out")
}

/// Scrolled back to the oldest message, then 50 new ones arrive: they are new (the pill says
/// so), not "earlier" (the button used to offer "50 more" and do nothing).
#[tokio::test(flavor = "multi_thread")]
async fn show_earlier_never_counts_newer_messages() {
    let args = ["--history", "10000"];
    run_with("show_earlier_never_counts_newer", &args, |ctx| async move {
        ctx.server.post_many("lobby", "grace", "old", 1_000).await?;
        let page = ctx
            .chat_page("ada", &format!("{}/", ctx.server.base))
            .await?;
        wait_for("seq 1000 on screen", || async {
            Ok(page
                .messages()
                .await?
                .last()
                .filter(|m| m.0 == 1_000)
                .map(|_| ()))
        })
        .await?;
        show_all_earlier(&page).await?;
        ensure!(page.messages().await?.first().map(|m| m.0) == Some(1));

        ctx.server.post_many("lobby", "grace", "new", 50).await?;
        let pill = page.wait_visible_text("#new-messages").await?;
        ensure!(pill.contains("50 new messages"), "pill: {pill}");
        let earlier = page.visible_text("#show-earlier").await?;
        ensure!(
            earlier.is_none(),
            "no earlier messages are left: {earlier:?}"
        );
        page.assert_clean_console(&[]).await
    })
    .await;
}

/// The rate-limit refusal says the rate in force, and one "Retry all" sends every refused
/// message again, in the order written (it once stored them as 43, 50, 59, 31…).
#[tokio::test(flavor = "multi_thread")]
async fn rate_limit_says_the_rate_and_retries_all_at_once() {
    let args = ["--rate-per-sec", "1", "--rate-burst", "3"];
    run_with("rate_limit_says_the_rate", &args, |ctx| async move {
        let page = ctx
            .chat_page("ada", &format!("{}/", ctx.server.base))
            .await?;
        for i in 1..=6 {
            page.send(&format!("quick {i}")).await?;
        }
        let failed = "return Array.from(document.querySelectorAll('#messages li.msg.pending.failed .msg-status')).map(e => e.textContent);";
        let reasons = wait_for("two refused sends", || async {
            let v = page.js(failed).await?;
            let v: Vec<String> = v
                .as_array()
                .cloned()
                .unwrap_or_default()
                .iter()
                .filter_map(|s| s.as_str().map(str::to_string))
                .collect();
            Ok((v.len() >= 2).then_some(v))
        })
        .await?;
        ensure!(
            reasons.iter().all(|r| r.contains("1 message per second")),
            "the refusal says the rate: {reasons:?}"
        );
        page.wait_visible_text("#retry-all").await?;
        // One button for all of them (pressed again for what the limit refuses once more).
        wait_for("every message stored", || async {
            if page.visible_text("#retry-all").await?.is_some() {
                page.click("#retry-all").await?;
            } else if page.pending_count().await? > 0 {
                let _ = page
                    .js("const b = document.querySelector('#messages li.failed button'); if (b) b.click();")
                    .await?;
            }
            Ok((page.pending_count().await? == 0 && page.messages().await?.len() == 6)
                .then_some(()))
        })
        .await?;
        let stored: Vec<String> = page.messages().await?.into_iter().map(|m| m.2).collect();
        let written: Vec<String> = (1..=6).map(|i| format!("quick {i}")).collect();
        ensure!(stored == written, "stored in the order written: {stored:?}");
        page.assert_clean_console(&[]).await
    })
    .await;
}

/// A bad room name and the "Connect now" button do not wrap the top bar, and the newest message
/// stays in view.
#[tokio::test(flavor = "multi_thread")]
async fn the_top_bar_stays_one_row() {
    run("the_top_bar_stays_one_row", |ctx| async move {
        let proxy = CutProxy::start(ctx.server.addr).await;
        let page = ctx.chat_page("ada", &format!("{}/", proxy.base())).await?;
        ctx.server.post_many("lobby", "grace", "filler", 40).await?;
        page.send("the newest").await?;
        page.wait_message("the newest").await?;
        let header_height =
            "return document.querySelector('.topbar').getBoundingClientRect().height;";
        let before = page.js(header_height).await?.as_f64().unwrap_or(0.0);

        page.client
            .find(fantoccini::Locator::Css("#room-input"))
            .await?
            .send_keys("Not A Room!\u{E007}")
            .await?;
        page.wait_visible_text("#room-error").await?;
        proxy.refuse();
        proxy.cut();
        page.wait_visible_text("#conn-now").await?;
        let after = page.js(header_height).await?.as_f64().unwrap_or(0.0);
        ensure!(
            (after - before).abs() < 1.0,
            "the top bar kept its height: {before} then {after}"
        );
        let newest_visible = r#"const items = document.querySelectorAll('#messages li.msg');
            const last = items[items.length - 1].getBoundingClientRect();
            const box = document.querySelector('.scroller').getBoundingClientRect();
            return last.bottom <= box.bottom + 1 && last.top >= box.top;"#;
        wait_for("the newest message in view", || async {
            Ok((page.js(newest_visible).await? == true).then_some(()))
        })
        .await?;
        page.assert_clean_console(NETWORK_CUT_NOISE).await
    })
    .await;
}

/// Focus goes where the user will type next: the composer after choosing a name and after
/// opening a room, the name field after "Change name".
#[tokio::test(flavor = "multi_thread")]
async fn focus_follows_the_next_step() {
    run("focus_follows_the_next_step", |ctx| async move {
        let page = ctx.page("ada", &format!("{}/", ctx.server.base)).await?;
        page.wait_focus("name-input").await?;
        page.client
            .active_element()
            .await?
            .send_keys("ada\u{E007}")
            .await?;
        page.wait_state("online").await?;
        page.wait_focus("composer-input").await?;

        page.join_room("ops").await?;
        page.wait_focus("composer-input").await?;

        page.click("#change-name").await?;
        page.wait_focus("name-input").await?;
        page.assert_clean_console(&[]).await
    })
    .await;
}

/// WCAG AA in both themes: own-bubble times and pending text at least 4.5:1, the focus ring at
/// least 3:1 against what is behind it.
#[tokio::test(flavor = "multi_thread")]
async fn contrast_meets_aa_in_both_themes() {
    run("contrast_meets_aa_in_both_themes", |ctx| async move {
        let page = ctx
            .chat_page("ada", &format!("{}/", ctx.server.base))
            .await?;
        page.send("mine").await?;
        page.wait_message("mine").await?;
        page.click("#conn-toggle").await?;
        page.wait_state("offline").await?;
        page.send("pending").await?;
        // Focus a control from the keyboard (so :focus-visible applies).
        page.client
            .find(fantoccini::Locator::Css("#composer-input"))
            .await?
            .send_keys("\u{E004}")
            .await?;
        for theme in ["light", "dark"] {
            if theme == "dark" {
                page.emulate_dark().await?;
            }
            let ratios = wait_for(&format!("{theme} colours applied"), || async {
                let v = page.js(CONTRAST_JS).await?;
                Ok((v["dark"] == (theme == "dark")).then_some(v))
            })
            .await?;
            eprintln!("{theme}: {ratios}");
            for (what, min) in [
                ("own_time", 4.5),
                ("pending_text", 4.5),
                ("pending_status", 4.5),
                ("focus_ring", 3.0),
            ] {
                let r = ratios[what].as_f64().unwrap_or(0.0);
                ensure!(r >= min, "{theme} {what}: {r:.2}:1 < {min}:1 ({ratios})");
            }
        }
        page.assert_clean_console(&[]).await
    })
    .await;
}

/// Contrast ratios (WCAG 2 relative luminance) of what the contrast test checks.
const CONTRAST_JS: &str = r#"
const parse = c => { const m = c && c.match(/rgba?\(([^)]+)\)/); if (!m) return null;
  const p = m[1].split(/[\s,\/]+/).filter(Boolean).map(Number);
  return [p[0], p[1], p[2], p.length > 3 ? p[3] : 1]; };
const over = (top, under) => [0, 1, 2].map(k => top[k] * top[3] + under[k] * (1 - top[3]));
const backdrop = el => { const layers = [];
  for (let e = el; e; e = e.parentElement) { const c = parse(getComputedStyle(e).backgroundColor);
    if (c && c[3] > 0) { layers.push(c); if (c[3] >= 1) break; } }
  let col = [255, 255, 255];
  for (let i = layers.length - 1; i >= 0; i--) col = over(layers[i], col);
  return col; };
const opacity = el => { let o = 1; for (let e = el; e; e = e.parentElement) o *= Number(getComputedStyle(e).opacity); return o; };
const lum = c => { const f = v => { v /= 255; return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4); };
  return 0.2126 * f(c[0]) + 0.7152 * f(c[1]) + 0.0722 * f(c[2]); };
const ratio = (a, b) => { const x = lum(a), y = lum(b); return (Math.max(x, y) + 0.05) / (Math.min(x, y) + 0.05); };
const text = sel => { const el = document.querySelector(sel); if (!el) return 0;
  const bg = backdrop(el); const o = opacity(el); const page = backdrop(document.body);
  const fg = parse(getComputedStyle(el).color);
  const fgc = over([fg[0], fg[1], fg[2], fg[3]], bg);
  const mix = c => over([c[0], c[1], c[2], o], page);
  return ratio(mix(fgc), mix(bg)); };
const ring = () => { const el = document.activeElement; if (!el || el === document.body) return 0;
  const s = getComputedStyle(el); const bg = backdrop(el.parentElement);
  let c = s.outlineStyle !== 'none' && parseFloat(s.outlineWidth) > 0 ? parse(s.outlineColor) : parse(s.boxShadow);
  if (!c) return 0; return ratio(over(c, bg), bg); };
return { dark: matchMedia('(prefers-color-scheme: dark)').matches,
  own_time: text('#messages li.msg.own:not(.pending) .msg-time'),
  pending_text: text('#messages li.msg.pending .msg-text'),
  pending_status: text('#messages li.msg.pending .msg-status'),
  focus_ring: ring(), focused: document.activeElement && document.activeElement.id };
"#;

/// The "history was reset / is incomplete" notice can be dismissed.
#[tokio::test(flavor = "multi_thread")]
async fn the_history_notice_can_be_dismissed() {
    // The join replays at most 10 of the 15: the page says older ones are not shown.
    let args = ["--max-replay", "10"];
    run_with(
        "the_history_notice_can_be_dismissed",
        &args,
        |ctx| async move {
            ctx.server.post_many("lobby", "grace", "old", 15).await?;
            let page = ctx
                .chat_page("ada", &format!("{}/", ctx.server.base))
                .await?;
            page.wait_visible_text("#history-notice").await?;
            page.click("#history-dismiss").await?;
            wait_for("the notice to go", || async {
                Ok(page
                    .visible_text("#history-notice")
                    .await?
                    .is_none()
                    .then_some(()))
            })
            .await?;
            page.assert_clean_console(&[]).await
        },
    )
    .await;
}

/// Written while offline (after Disconnect), a message says it will go when connected, then
/// goes.
#[tokio::test(flavor = "multi_thread")]
async fn offline_sends_say_they_wait_for_the_connection() {
    run("offline_sends_say_they_wait", |ctx| async move {
        let page = ctx
            .chat_page("ada", &format!("{}/", ctx.server.base))
            .await?;
        page.click("#conn-toggle").await?;
        page.wait_state("offline").await?;
        page.send("written offline").await?;
        let status = page
            .wait_visible_text("#messages li.msg.pending .msg-status")
            .await?;
        ensure!(status.contains("when connected"), "status: {status}");
        page.click("#conn-toggle").await?;
        page.wait_message("written offline").await?;
        wait_for("the send to be acked", || async {
            Ok((page.pending_count().await? == 0).then_some(()))
        })
        .await?;
        page.assert_clean_console(&[]).await
    })
    .await;
}
