//! `just bench-ui`: how smoothly the web app scrolls a room with 1,000 messages in the DOM.
//!
//! Starts the release server (the app embedded) and headless Chromium as the browser tests do,
//! posts a backlog of varied messages (several authors, links, bold, code, long and short lines),
//! opens the room, shows earlier messages until `--in-view` of them are in the DOM, then scrolls
//! the list programmatically for `--seconds`, one step per frame, down and up (never to the
//! bottom, which would shrink the list back to the newest 200). Every `requestAnimationFrame`
//! callback records its timestamp; the figures are the frames per second over the run and the
//! distribution of frame times (a frame over 16.7 ms is a dropped frame at 60 Hz), plus the long
//! tasks (over 50 ms) the browser reported. It measures and prints; it asserts nothing about
//! speed. Headless Chromium here renders without a GPU (software raster), like CI.
//!
//! Options: `--messages N` (backlog, default 1,200), `--in-view N` (default 1,000),
//! `--rounds N` (scroll runs on the same page, default 5; the median is the figure: the
//! machine's other load shows as outliers), `--seconds S` (default 5), `--step PX` (pixels per frame, default 40), `--json PATH` (also
//! write the figures as JSON), `--css RULES` (add a style sheet first: to try a CSS change
//! without rebuilding the app).

use std::time::Instant;

use anyhow::{Context as _, Result, bail, ensure};
use banter_e2e::{Ctx, Page, Server, run_with, wait_for};
use futures::StreamExt;
use serde_json::{Value, json};

/// What to measure, from the command line.
struct Options {
    messages: usize,
    in_view: usize,
    seconds: f64,
    step: u32,
    json: Option<String>,
    css: Option<String>,
    rounds: usize,
}

fn options() -> Result<Options> {
    let mut o = Options {
        messages: 1_200,
        in_view: 1_000,
        seconds: 5.0,
        step: 40,
        json: None,
        css: None,
        rounds: 5,
    };
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        let mut value = || args.next().with_context(|| format!("{flag} needs a value"));
        match flag.as_str() {
            "--messages" => o.messages = value()?.parse()?,
            "--in-view" => o.in_view = value()?.parse()?,
            "--seconds" => o.seconds = value()?.parse()?,
            "--step" => o.step = value()?.parse()?,
            "--json" => o.json = Some(value()?),
            "--css" => o.css = Some(value()?),
            "--rounds" => o.rounds = value()?.parse()?,
            other => bail!("unknown option {other} (see the file's header)"),
        }
    }
    ensure!(
        o.in_view <= o.messages,
        "--in-view must not exceed --messages"
    );
    Ok(o)
}

/// The `i`-th backlog message: a mix of what a team writes.
fn text_of(i: usize) -> String {
    match i % 7 {
        0 => format!("message {i}: see https://example.com/issues/{i} for the details"),
        1 => format!("message {i}: **done** with the _review_, merging `feature-{i}` now"),
        2 => format!("message {i}: ok"),
        3 => format!(
            "message {i}: a longer one that wraps over a few lines in the bubble, as people \
             explain what they found, what they tried and what they will try next, with @ada \
             mentioned so the highlight shows too"
        ),
        4 => format!("message {i}:\n```\nfn main() {{\n    println!(\"{i}\");\n}}\n```"),
        5 => format!("message {i}: lunch?"),
        _ => format!("message {i}: thanks, looks good to me"),
    }
}

/// Posts the backlog over HTTP from a few authors (runs of 1–3 messages each, so some bubbles
/// group and some do not), in order.
async fn post_backlog(server: &Server, n: usize) -> Result<()> {
    const AUTHORS: [&str; 4] = ["grace", "linus", "barbara", "ken"];
    let results: Vec<Result<Value>> = futures::stream::iter(1..=n)
        .map(|i| async move {
            let user = AUTHORS[(i / 2 + i / 5) % AUTHORS.len()];
            server.post("lobby", user, &text_of(i)).await
        })
        .buffered(16)
        .collect()
        .await;
    for r in results {
        r?;
    }
    Ok(())
}

/// How many stored messages are in the DOM.
async fn in_dom(page: &Page) -> Result<usize> {
    let v = page
        .js("return document.querySelectorAll('#messages li.msg:not(.pending)').length;")
        .await?;
    Ok(v.as_u64().unwrap_or(0) as usize)
}

/// Clicks "Show earlier" until at least `want` messages are in the DOM.
async fn fill_dom(page: &Page, want: usize) -> Result<usize> {
    loop {
        let now = in_dom(page).await?;
        if now >= want {
            return Ok(now);
        }
        page.click("#show-earlier").await?;
        wait_for("more messages in the DOM", || async {
            Ok((in_dom(page).await? > now).then_some(()))
        })
        .await?;
    }
}

/// Scrolls for `seconds` in a `requestAnimationFrame` loop and returns what it recorded.
const SCROLL_SCRIPT: &str = r#"
const [seconds, step, done] = arguments;
const s = document.querySelector('.scroller');
const long = [];
let observer = null;
try {
  observer = new PerformanceObserver(list => {
    for (const e of list.getEntries()) long.push(e.duration);
  });
  observer.observe({ entryTypes: ['longtask'] });
} catch (e) {}
// Never within 100 px of either end: the bottom would shrink the list to the newest 200.
const lo = 100, hi = () => s.scrollHeight - s.clientHeight - 100;
s.scrollTop = lo;
let dir = 1;
const stamps = [];
const start = performance.now();
function frame(t) {
  stamps.push(t);
  if (t - start >= seconds * 1000) {
    if (observer) observer.disconnect();
    done({ stamps, long, height: s.scrollHeight, client: s.clientHeight,
           nodes: document.getElementsByTagName('*').length });
    return;
  }
  let next = s.scrollTop + dir * step;
  if (next >= hi()) { next = hi(); dir = -1; }
  if (next <= lo) { next = lo; dir = 1; }
  s.scrollTop = next;
  requestAnimationFrame(frame);
}
requestAnimationFrame(frame);
"#;

/// The figures of one run.
struct Figures {
    frames: usize,
    fps: f64,
    p50: f64,
    p99: f64,
    max: f64,
    over_budget: usize,
    long_tasks: usize,
}

fn figures(stamps: &[f64], long_tasks: usize) -> Result<Figures> {
    ensure!(stamps.len() > 10, "only {} frames recorded", stamps.len());
    let mut deltas: Vec<f64> = stamps.windows(2).map(|w| w[1] - w[0]).collect();
    let span = stamps[stamps.len() - 1] - stamps[0];
    deltas.sort_by(f64::total_cmp);
    let pct = |p: f64| deltas[((deltas.len() as f64 - 1.0) * p).round() as usize];
    Ok(Figures {
        frames: deltas.len(),
        fps: deltas.len() as f64 * 1000.0 / span,
        p50: pct(0.50),
        p99: pct(0.99),
        max: deltas[deltas.len() - 1],
        // 16.7 ms is one frame at 60 Hz; allow the timer's jitter.
        over_budget: deltas.iter().filter(|d| **d > 17.5).count(),
        long_tasks,
    })
}

async fn measure(ctx: &Ctx, o: &Options) -> Result<Value> {
    let posted = Instant::now();
    post_backlog(&ctx.server, o.messages).await?;
    eprintln!("posted {} messages in {:.1?}", o.messages, posted.elapsed());
    let page = ctx
        .chat_page("ada", &format!("{}/", ctx.server.base))
        .await?;
    let last = o.messages as u64;
    wait_for("the newest message on screen", || async {
        let script = format!("return !!document.querySelector('li[data-seq=\"{last}\"]');");
        Ok((page.js(&script).await? == true).then_some(()))
    })
    .await?;
    if let Some(css) = &o.css {
        let script = format!(
            "const st = document.createElement('style'); st.textContent = {}; document.head.appendChild(st);",
            serde_json::to_string(css)?
        );
        page.js(&script).await?;
    }
    let shown = fill_dom(&page, o.in_view).await?;
    eprintln!("{shown} messages in the DOM; scrolling for {} s", o.seconds);
    let mut runs = Vec::new();
    for round in 1..=o.rounds {
        let out = page
            .client
            .execute_async(SCROLL_SCRIPT, vec![json!(o.seconds), json!(o.step)])
            .await?;
        let stamps: Vec<f64> = out["stamps"]
            .as_array()
            .map(|a| a.iter().filter_map(Value::as_f64).collect())
            .unwrap_or_default();
        let long = out["long"].as_array().map_or(0, Vec::len);
        let f = figures(&stamps, long)?;
        println!(
            "round {round}: {} elements, list {} px tall: {:.1} fps over {} frames, frame time \
             p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms, {} frames over 16.7 ms, {} long tasks \
             (load average {})",
            out["nodes"],
            out["height"],
            f.fps,
            f.frames,
            f.p50,
            f.p99,
            f.max,
            f.over_budget,
            f.long_tasks,
            load_average()
        );
        runs.push(f);
    }
    let still = in_dom(&page).await?;
    ensure!(
        still == shown,
        "the list changed while scrolling: {shown} then {still}"
    );
    let median = |pick: fn(&Figures) -> f64| {
        let mut v: Vec<f64> = runs.iter().map(pick).collect();
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    let (fps, p99) = (median(|f| f.fps), median(|f| f.p99));
    println!(
        "{shown} messages in the DOM, median of {} rounds: {fps:.1} fps, frame time p99 {p99:.1} ms",
        runs.len()
    );
    page.assert_clean_console(&[]).await?;

    // The control: the same DOM as a static copy with no app code attached (the original list
    // and its scroll handler removed). What it drops is the browser's rendering on this
    // machine, not the app's work.
    page.js(
        "const s = document.querySelector('.scroller'); const copy = s.cloneNode(true); \
         s.replaceWith(copy);",
    )
    .await?;
    let out = page
        .client
        .execute_async(SCROLL_SCRIPT, vec![json!(o.seconds), json!(o.step)])
        .await?;
    let stamps: Vec<f64> = out["stamps"]
        .as_array()
        .map(|a| a.iter().filter_map(Value::as_f64).collect())
        .unwrap_or_default();
    let control = figures(&stamps, out["long"].as_array().map_or(0, Vec::len))?;
    println!(
        "control (a static copy of the same list, no app code): {:.1} fps, frame time p99 \
         {:.1} ms, {} frames over 16.7 ms (load average {})",
        control.fps,
        control.p99,
        control.over_budget,
        load_average()
    );
    let rounds: Vec<Value> = runs
        .iter()
        .map(|f| {
            json!({
                "frames": f.frames,
                "fps": f.fps,
                "frame_ms_p50": f.p50,
                "frame_ms_p99": f.p99,
                "frame_ms_max": f.max,
                "frames_over_16_7_ms": f.over_budget,
                "long_tasks": f.long_tasks,
            })
        })
        .collect();
    Ok(json!({
        "messages": o.messages,
        "in_dom": shown,
        "seconds": o.seconds,
        "step_px": o.step,
        "fps_median": fps,
        "frame_ms_p99_median": p99,
        "rounds": rounds,
        "control_static_copy": { "fps": control.fps, "frame_ms_p99": control.p99 },
        "load_average": load_average(),
    }))
}

/// The machine's 1-minute load average (other work on a shared machine steals frames).
fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|s| s.split_whitespace().next().map(str::to_string))
        .unwrap_or_else(|| "unknown".into())
}

#[tokio::main]
async fn main() -> Result<()> {
    let o = options()?;
    ensure!(o.rounds > 0, "--rounds must be at least 1");
    let history = o.messages.to_string();
    let json_path = o.json.clone();
    run_with("bench_ui", &["--history", &history], |ctx| async move {
        let result = measure(&ctx, &o).await?;
        if let Some(path) = &json_path {
            std::fs::write(path, serde_json::to_vec_pretty(&result)?)
                .with_context(|| format!("write {path}"))?;
        }
        Ok(())
    })
    .await;
    Ok(())
}
