//! The release binary serves the embedded app with the right types, caching and compression.

use anyhow::{Context, Result, ensure};
use banter_e2e::Server;
use reqwest::header::{ACCEPT_ENCODING, CACHE_CONTROL, CONTENT_ENCODING, CONTENT_TYPE};

async fn get(url: &str, encoding: Option<&str>) -> Result<reqwest::Response> {
    let mut req = reqwest::Client::new().get(url);
    if let Some(e) = encoding {
        req = req.header(ACCEPT_ENCODING, e);
    }
    Ok(req.send().await?)
}

fn header(resp: &reqwest::Response, name: reqwest::header::HeaderName) -> String {
    resp.headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string()
}

#[tokio::test]
async fn the_app_is_served_from_the_binary() -> Result<()> {
    let server = Server::start("the_app_is_served_from_the_binary").await?;
    let index = get(&format!("{}/", server.base), None).await?;
    ensure!(index.status() == 200);
    ensure!(header(&index, CONTENT_TYPE).starts_with("text/html"));
    ensure!(
        header(&index, CACHE_CONTROL) == "no-cache",
        "index.html revalidates"
    );
    let html = index.text().await?;
    ensure!(
        !html.contains("This build does not embed the web app"),
        "the release binary embeds the app, not the placeholder"
    );

    // trunk's hashed files: right type, cached for good, compressed on request.
    let wasm = html
        .split('"')
        .find(|s| s.ends_with("_bg.wasm"))
        .context("index.html names the wasm")?
        .trim_start_matches('/')
        .to_string();
    let js = wasm.replace("_bg.wasm", ".js");
    let css = html
        .split('"')
        .find(|s| s.ends_with(".css"))
        .context("index.html names the stylesheet")?
        .trim_start_matches('/')
        .to_string();
    for (file, mime) in [
        (&wasm, "application/wasm"),
        (&js, "text/javascript"),
        (&css, "text/css"),
    ] {
        let resp = get(&format!("{}/{file}", server.base), Some("gzip")).await?;
        ensure!(resp.status() == 200, "{file}: {}", resp.status());
        ensure!(
            header(&resp, CONTENT_TYPE).starts_with(mime),
            "{file}: {}",
            header(&resp, CONTENT_TYPE)
        );
        ensure!(
            header(&resp, CACHE_CONTROL) == "public, max-age=31536000, immutable",
            "{file}: {}",
            header(&resp, CACHE_CONTROL)
        );
        ensure!(
            header(&resp, CONTENT_ENCODING) == "gzip",
            "{file} is compressed"
        );
    }

    // Client-side routes get the app; a missing file is a 404, not HTML in disguise.
    let route = get(&format!("{}/r/other", server.base), None).await?;
    ensure!(route.status() == 200 && header(&route, CONTENT_TYPE).starts_with("text/html"));
    let missing = get(&format!("{}/nope-0123456789abcdef.js", server.base), None).await?;
    ensure!(
        missing.status() == 404,
        "missing file: {}",
        missing.status()
    );
    Ok(())
}
