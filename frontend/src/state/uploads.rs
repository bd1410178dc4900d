//! v1.2 files in the composer, in plain Rust: the files the user attached (by the button, a drop
//! or a paste), each uploading at once to the room it was attached in, with how far it got, and
//! what a send takes of them. A message goes with the ids of its room's uploaded files once none
//! is still uploading or refused; the pending send keeps those ids (the client core's
//! [`PendingSend::files`](banter_client_core::PendingSend)), so a re-send after a reconnect is
//! the same request. Also the sentences the user reads about an upload and a file's size.

use banter_client_core::PendingOp;
use banter_protocol::{ClientMsg, FileInfo};

use super::Session;

/// Where one attached file stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UploadState {
    /// Being uploaded: `sent` bytes so far.
    Uploading { sent: u64 },
    /// Stored by the server: it goes with the next message.
    Done(FileInfo),
    /// Refused or lost: the reason, for the user, who removes it.
    Failed(String),
}

/// A file attached in the composer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attachment {
    /// This page's handle for it (its upload is cancelled by it).
    pub key: u32,
    /// The room (or conversation id) it is uploaded to, and may only be sent in.
    pub room: String,
    pub name: String,
    /// Bytes.
    pub size: u64,
    pub state: UploadState,
}

impl Attachment {
    /// A key that changes when what is shown of it does (for keyed view lists).
    pub fn view_key(&self) -> String {
        let state = match self.state {
            UploadState::Uploading { .. } => "u",
            UploadState::Done(_) => "d",
            UploadState::Failed(_) => "x",
        };
        format!("{}:{state}{}", self.key, self.percent())
    }

    /// How far its upload is, 0 to 100 (100 once stored).
    pub fn percent(&self) -> u32 {
        match self.state {
            UploadState::Uploading { sent } if self.size > 0 => {
                (sent.min(self.size) * 100 / self.size) as u32
            }
            UploadState::Uploading { .. } => 0,
            _ => 100,
        }
    }
}

/// The files attached and not sent yet, every room's, in the order attached.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Attachments {
    items: Vec<Attachment>,
    next_key: u32,
}

impl Attachments {
    /// Attaches a file to `room` (its upload starting now); returns its key.
    pub fn add(&mut self, room: &str, name: &str, size: u64) -> u32 {
        self.next_key += 1;
        self.items.push(Attachment {
            key: self.next_key,
            room: room.to_string(),
            name: name.to_string(),
            size,
            state: UploadState::Uploading { sent: 0 },
        });
        self.next_key
    }

    fn get_mut(&mut self, key: u32) -> Option<&mut Attachment> {
        self.items.iter_mut().find(|a| a.key == key)
    }

    /// The upload of `key` has sent `sent` bytes (ignored once it is settled).
    pub fn progress(&mut self, key: u32, sent: u64) {
        if let Some(a) = self.get_mut(key)
            && let UploadState::Uploading { sent: was } = &mut a.state
        {
            *was = sent;
        }
    }

    /// The server stored `key` as `info`. Returns whether it was still attached.
    pub fn done(&mut self, key: u32, info: FileInfo) -> bool {
        self.get_mut(key)
            .map(|a| a.state = UploadState::Done(info))
            .is_some()
    }

    /// The upload of `key` failed for `reason`.
    pub fn failed(&mut self, key: u32, reason: String) {
        if let Some(a) = self.get_mut(key) {
            a.state = UploadState::Failed(reason);
        }
    }

    /// Takes `key` off (cancelled or removed by the user). Returns it if it was there.
    pub fn remove(&mut self, key: u32) -> Option<Attachment> {
        let at = self.items.iter().position(|a| a.key == key)?;
        Some(self.items.remove(at))
    }

    /// The files attached in `room`, in the order attached.
    pub fn in_room<'a>(&'a self, room: &'a str) -> impl Iterator<Item = &'a Attachment> + 'a {
        self.items.iter().filter(move |a| a.room == room)
    }

    /// Whether a file attached in `room` is still uploading.
    pub fn uploading(&self, room: &str) -> bool {
        self.in_room(room)
            .any(|a| matches!(a.state, UploadState::Uploading { .. }))
    }

    /// The ids a message sent now in `room` carries, or why it may not go yet (an upload is
    /// still running, or one was refused and must be removed first).
    pub fn ready(&self, room: &str) -> Result<Vec<String>, String> {
        let mut ids = Vec::new();
        for a in self.in_room(room) {
            match &a.state {
                UploadState::Uploading { .. } => {
                    return Err(format!(
                        "{} is still uploading: wait, or cancel it.",
                        a.name
                    ));
                }
                UploadState::Failed(_) => {
                    return Err(format!(
                        "{} could not be uploaded: remove it first.",
                        a.name
                    ));
                }
                UploadState::Done(info) => ids.push(info.id.clone()),
            }
        }
        Ok(ids)
    }

    /// The message with `room`'s files was queued: they are no longer the composer's.
    pub fn sent(&mut self, room: &str) {
        self.items
            .retain(|a| a.room != room || !matches!(a.state, UploadState::Done(_)));
    }
}

impl Session {
    /// Checks and queues a message for what is on screen with `files` (ids uploaded to its
    /// room) attached; with files the text may be empty. Without files it is [`Self::compose`].
    pub fn compose_files(
        &mut self,
        text: &str,
        files: Vec<String>,
    ) -> Result<Vec<ClientMsg>, String> {
        if files.is_empty() {
            return self.compose(text);
        }
        if self.name.is_none() {
            return Err("choose a name first".into());
        }
        let text = match text.trim() {
            "" => String::new(),
            t => self.limits.text(t).map_err(|e| e.message)?.to_string(),
        };
        let room = self
            .screen_room()
            .ok_or("this conversation is not open yet")?
            .to_string();
        self.next_client_id += 1;
        let client_id = format!("{}-{}", self.client_prefix, self.next_client_id);
        self.typing_sent();
        let frame = self
            .core
            .send_files(&client_id, &room, &text, PendingOp::Send, files);
        Ok(frame.into_iter().collect())
    }
}

/// What the user reads when the server refused an upload of `name` with `status` (`message` is
/// the server's own sentence, when it gave one).
pub fn upload_error(name: &str, status: u16, message: Option<&str>) -> String {
    match status {
        0 => format!("{name} was not uploaded: the server could not be reached."),
        413 => format!("{name} is too large to upload here."),
        429 => format!("{name} was not uploaded: you have uploaded too much for now, try later."),
        401 => format!("{name} was not uploaded: sign in again."),
        403 => match message {
            Some(m) if !m.is_empty() => format!("{name} was not uploaded: {m}"),
            _ => format!("{name} was not uploaded: you may not post files here."),
        },
        _ => match message {
            Some(m) if !m.is_empty() => format!("{name} was not uploaded: {m}"),
            _ => format!("{name} was not uploaded (the server answered {status})."),
        },
    }
}

/// A size as people read it: `512 B`, `1.5 KB`, `23 MB` (1 KB = 1024 bytes; rounded down).
/// Whole numbers only: formatting a float would add its code to the WASM.
pub fn human_size(bytes: u64) -> String {
    const UNITS: [&str; 4] = ["KB", "MB", "GB", "TB"];
    if bytes < 1024 {
        return format!("{bytes} B");
    }
    let (mut unit, mut div) = (0, 1024u64);
    while bytes / div >= 1024 && unit + 1 < UNITS.len() {
        div *= 1024;
        unit += 1;
    }
    let whole = bytes / div;
    let unit = UNITS[unit];
    if whole < 10 {
        let tenth = (bytes % div) * 10 / div;
        format!("{whole}.{tenth} {unit}")
    } else {
        format!("{whole} {unit}")
    }
}

/// Whether a file of media type `content_type` is shown inline as an image (the types the
/// server serves inline; never SVG).
pub fn is_inline_image(content_type: &str) -> bool {
    matches!(
        content_type,
        "image/png" | "image/jpeg" | "image/gif" | "image/webp"
    )
}

/// The box an image preview takes before it loads (no layout jump): the image's own size,
/// scaled down to fit `max_w` × `max_h`; a fixed box when its size is not known.
pub fn preview_box(width: Option<u32>, height: Option<u32>, max_w: u32, max_h: u32) -> (u32, u32) {
    match (width, height) {
        (Some(w), Some(h)) if w > 0 && h > 0 => {
            let scale = f64::min(
                1.0,
                f64::min(max_w as f64 / w as f64, max_h as f64 / h as f64),
            );
            let w = ((w as f64 * scale).round() as u32).max(1);
            let h = ((h as f64 * scale).round() as u32).max(1);
            (w, h)
        }
        _ => (max_w, max_h),
    }
}
