//! v1.2 files over HTTP: uploading one (`POST /api/rooms/{room}/files?name=NAME`, the raw bytes
//! with their `content-type`), reading a [`FileInfo`], and fetching a file for the page.
//!
//! Uploads go through `XMLHttpRequest`, not `fetch`: its `upload` object reports progress events
//! as the bytes leave (a `fetch` with a streaming request body would need HTTP/2 and
//! `duplex: "half"`, and still reports nothing), and `abort()` is the Cancel. The browser reads
//! the `File` itself, so the app never holds its bytes. A file is fetched with the same
//! `Authorization` as the app's other calls and shown through an object URL (an `<img src>` or
//! a link cannot carry the header).

use std::cell::RefCell;
use std::collections::HashMap;

use banter_protocol::FileInfo;
use wasm_bindgen::closure::Closure;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::{ProgressEvent, XmlHttpRequest};

use super::{Who, fetch_ok, number, text};
use crate::state::upload_error;

type OnProgress = Closure<dyn FnMut(ProgressEvent)>;

thread_local! {
    /// Uploads under way, by the composer's key: the request (to abort) and its progress
    /// listener (dropped when it ends).
    static LIVE: RefCell<HashMap<u32, (XmlHttpRequest, OnProgress)>> = RefCell::default();
}

/// A [`FileInfo`] (`None` without one of its fields).
pub(super) fn read_file(v: &JsValue) -> Option<FileInfo> {
    Some(FileInfo {
        id: text(v, "id")?,
        name: text(v, "name")?,
        size: number(v, "size")?,
        content_type: text(v, "type")?,
        width: number(v, "width").map(|n| n as u32),
        height: number(v, "height").map(|n| n as u32),
    })
}

/// Starts uploading `file` to `room` under `key`: `progress` gets the bytes sent so far, `done`
/// the stored file or a sentence for the user, once (not at all after [`cancel`]).
pub fn upload(
    key: u32,
    room: &str,
    file: &web_sys::File,
    who: &Who,
    progress: impl Fn(u64) + 'static,
    done: impl FnOnce(Result<FileInfo, String>) + 'static,
) -> Result<(), String> {
    let name = file.name();
    let fail = |_| format!("{name} could not be uploaded by this browser.");
    let xhr = XmlHttpRequest::new().map_err(fail)?;
    let enc: String = js_sys::encode_uri_component(&name).into();
    let url = format!("/api/rooms/{room}/files?name={enc}{}", who.user_param('&'));
    xhr.open_with_async("POST", &url, true).map_err(fail)?;
    let content_type = match file.type_() {
        t if t.is_empty() => "application/octet-stream".to_string(),
        t => t,
    };
    xhr.set_request_header("Content-Type", &content_type)
        .map_err(fail)?;
    if let Some(token) = &who.token {
        xhr.set_request_header("Authorization", &format!("Bearer {token}"))
            .map_err(fail)?;
    }
    let on_progress: OnProgress = Closure::new(move |ev: ProgressEvent| {
        progress(ev.loaded() as u64);
    });
    let upload = xhr.upload().map_err(fail)?;
    upload.set_onprogress(Some(on_progress.as_ref().unchecked_ref()));
    // `loadend` comes once, after a success, an error or an abort.
    let finished = xhr.clone();
    let file_name = name.clone();
    let on_end = Closure::once_into_js(move || {
        let Some((_, listener)) = LIVE.with(|l| l.borrow_mut().remove(&key)) else {
            return; // cancelled
        };
        if let Ok(up) = finished.upload() {
            up.set_onprogress(None);
        }
        drop(listener);
        done(answer(&finished, &file_name));
    });
    xhr.set_onloadend(Some(on_end.unchecked_ref()));
    LIVE.with(|l| l.borrow_mut().insert(key, (xhr.clone(), on_progress)));
    if xhr.send_with_opt_blob(Some(file)).is_err() {
        LIVE.with(|l| l.borrow_mut().remove(&key));
        return Err(format!("{name} could not be read."));
    }
    Ok(())
}

/// What an ended upload request answered: the stored file, or a sentence for the user.
fn answer(xhr: &XmlHttpRequest, name: &str) -> Result<FileInfo, String> {
    let status = xhr.status().unwrap_or(0);
    let json = xhr
        .response_text()
        .ok()
        .flatten()
        .and_then(|t| js_sys::JSON::parse(&t).ok());
    if (200..300).contains(&status) {
        return json
            .as_ref()
            .and_then(read_file)
            .ok_or_else(|| format!("{name} was uploaded but the answer could not be read."));
    }
    let message = json.as_ref().and_then(|j| text(j, "message"));
    Err(upload_error(name, status, message.as_deref()))
}

/// Stops the upload `key` (its `done` is never called).
pub fn cancel(key: u32) {
    let live = LIVE.with(|l| l.borrow_mut().remove(&key));
    if let Some((xhr, _listener)) = live {
        if let Ok(up) = xhr.upload() {
            up.set_onprogress(None);
        }
        let _ = xhr.abort();
    }
}

/// Where file `id` is served (its `thumb`nail with `thumb`), asked as `who`.
pub fn file_path(id: &str, thumb: bool, who: &Who) -> String {
    let rest = if thumb { "/thumb" } else { "" };
    format!("/api/files/{id}{rest}{}", who.user_param('?'))
}

/// Fetches `path` and returns an object URL for its bytes (revoke it with
/// [`web_sys::Url::revoke_object_url`] when done), or a sentence for the user.
pub async fn object_url(path: &str, who: &Who) -> Result<String, String> {
    let resp = fetch_ok(path, who).await?;
    let blob = resp.blob().map_err(|_| "no answer".to_string())?;
    let blob: web_sys::Blob = JsFuture::from(blob)
        .await
        .map_err(|_| "the file could not be read".to_string())?
        .unchecked_into();
    web_sys::Url::create_object_url_with_blob(&blob).map_err(|_| "no object URL".to_string())
}
