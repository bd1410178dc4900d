//! Files (v1.2, issue 19): uploads into a room, their bytes in a [`FileStore`] (`blobs.rs`:
//! `--data-dir`/files, or `s3.rs`: an S3-compatible bucket) and their records in the store
//! ([`crate::store::files`]), images sized, thumbnailed and stripped of location metadata
//! (`image.rs`), types checked against the bytes (`kind.rs`), each user's quota (`quota.rs`),
//! and the messages that carry them.
//!
//! [`Files`] is what the server holds. The HTTP routes are `http/files.rs`; who may upload to
//! and read a room's files is decided there, by the same check as posting and reading.
//!
//! A file belongs to its room. Any reader of the room may attach it to a message there
//! ([`Files::for_message`]); ids of another room's files are refused. A message's files are
//! recorded as its users when it is stored ([`Files::attached`]); a deletion detaches them
//! ([`Files::detach`]), and a file no message uses any more is removed, bytes and record (the
//! bytes only once no other file has the same SHA-256). The sweep ([`Files::sweep`], every
//! `--file-sweep`) removes files whose messages retention removed, and uploads no message used
//! within `--file-unused-ttl`.

pub mod blobs;
pub mod image;
pub mod kind;
mod orientation;
pub mod quota;
pub mod s3;
mod sweep;
pub mod upload;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use banter_protocol::FileInfo;
use bytes::Bytes;
use futures_util::Stream;

pub use blobs::{ByteStream, FileStore, LocalFiles};

use crate::config::files::FilesConfig;
use crate::store::files::{FileRecord, SharedFileMetas};
use crate::store::{Settings, StoreError, now_ms};
use quota::Quota;
use upload::{Bounds, TempFile};

/// Why a file request failed.
#[derive(Debug, thiserror::Error)]
pub enum FileError {
    #[error("{0}")]
    BadRequest(String),
    #[error("{0}")]
    TooLarge(String),
    #[error("no such file")]
    NotFound,
    #[error("over the upload quota (--file-quota-bytes)")]
    Quota(Duration),
    #[error("file storage failed: {0}")]
    Io(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<image::ImageError> for FileError {
    fn from(e: image::ImageError) -> Self {
        match e {
            image::ImageError::TooLarge(..) | image::ImageError::Limits(_) => {
                FileError::TooLarge(e.to_string())
            }
            image::ImageError::Bad(_) => FileError::BadRequest(e.to_string()),
            image::ImageError::Io(e) => e.into(),
        }
    }
}

/// See the module docs. Cheap to clone.
#[derive(Clone)]
pub struct Files {
    inner: Arc<Inner>,
}

struct Inner {
    cfg: FilesConfig,
    metas: SharedFileMetas,
    blobs: Arc<dyn FileStore>,
    /// Where uploads are received (always this node's disk).
    tmp: PathBuf,
    quota: Quota,
    /// The longest wait for the next chunk of an upload.
    idle: Duration,
    /// Turns to decode an image (`--max-image-decodes`): their memory is bounded by it.
    decodes: Arc<tokio::sync::Semaphore>,
    /// Attachments and deletions, in the order the store completed them (the store's
    /// completions run on its own threads), done by one task.
    jobs: tokio::sync::mpsc::Sender<Job>,
}

/// What the store's completions ask of the files.
enum Job {
    Attach(String, u64, Vec<String>),
    Deleted(String, u64),
}

/// Jobs waiting at most; more are dropped with a warning (the sweep finds the message that
/// carries a file whose attach was dropped before it would remove it: `sweep.rs`).
const JOBS: usize = 4096;

/// The `seq` a file's use is recorded under while a message carrying it is being stored
/// (no message has `seq` 0): set by [`Files::for_message`], dropped when the message's own use
/// is recorded. A file whose only use is this claim is looked for in its room by the sweep.
pub const CLAIM: u64 = 0;

/// The key of a file's thumbnail.
pub fn thumb_key(sha256: &str) -> String {
    format!("{sha256}.thumb")
}

impl Files {
    /// The files of the store `settings` names, their bytes where `cfg` says. Call within a
    /// tokio runtime.
    pub fn open(cfg: &FilesConfig, settings: &Settings, idle: Duration) -> Result<Files, String> {
        let dir = settings.data_dir.join("files");
        let tmp = dir.join("tmp");
        // Uploads cut short by a crash left their temporary files: nothing else uses them.
        let _ = std::fs::remove_dir_all(&tmp);
        std::fs::create_dir_all(&tmp).map_err(|e| format!("{}: {e}", tmp.display()))?;
        let blobs: Arc<dyn FileStore> = if cfg.files_url.is_empty() {
            Arc::new(LocalFiles::new(dir))
        } else {
            Arc::new(s3::ObjectFiles::open(&cfg.files_url, cfg)?)
        };
        let metas = crate::store::files::open(settings).map_err(|e| e.to_string())?;
        let (jobs, rx) = tokio::sync::mpsc::channel(JOBS);
        let files = Files {
            inner: Arc::new(Inner {
                cfg: cfg.clone(),
                metas,
                blobs,
                tmp,
                quota: Quota::new(cfg.file_quota_bytes, cfg.file_quota_window),
                idle,
                decodes: Arc::new(tokio::sync::Semaphore::new(
                    cfg.max_image_decodes.max(1) as usize
                )),
                jobs,
            }),
        };
        tokio::spawn(jobs_task(Arc::downgrade(&files.inner), rx));
        Ok(files)
    }

    pub fn config(&self) -> &FilesConfig {
        &self.inner.cfg
    }

    /// Runs a metadata call on the blocking pool.
    async fn metas<T: Send + 'static>(
        &self,
        f: impl FnOnce(&SharedFileMetas) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, FileError> {
        let metas = self.inner.metas.clone();
        tokio::task::spawn_blocking(move || f(&metas))
            .await
            .map_err(|e| FileError::Io(e.to_string()))?
            .map_err(FileError::Store)
    }

    /// Receives an upload of `uploader` into `room` (access already checked) and keeps it.
    pub async fn upload<E: std::fmt::Display>(
        &self,
        room: &str,
        uploader: &str,
        name: &str,
        declared: &str,
        body: impl Stream<Item = Result<Bytes, E>>,
    ) -> Result<FileRecord, FileError> {
        let name = upload::check_name(name)?.to_owned();
        let i = &self.inner;
        let bounds = Bounds {
            max: i.cfg.max_file_bytes,
            quota: &i.quota,
            user: uploader,
            idle: i.idle,
        };
        let got = upload::receive(&i.tmp, body, bounds).await?;
        let size = got.size;
        let kept = self.keep(got, declared).await;
        if kept.is_err() {
            i.quota.give_back(uploader, size);
        }
        let (content_type, stored, dims) = kept?;
        let rec = FileRecord {
            id: uuid::Uuid::now_v7().simple().to_string(),
            room: room.to_owned(),
            name,
            size: stored.size,
            content_type,
            width: dims.map(|d| d.0),
            height: dims.map(|d| d.1),
            uploader: uploader.to_owned(),
            sha256: stored.sha256,
            created: now_ms(),
            thumb: dims.is_some(),
            refs: Vec::new(),
        };
        let r = rec.clone();
        self.metas(move |m| m.put(&r)).await?;
        Ok(rec)
    }

    /// Checks the type, and for an image its size, strips its metadata and makes its
    /// thumbnail; moves the bytes into the file store.
    async fn keep(
        &self,
        got: upload::Received,
        declared: &str,
    ) -> Result<(String, Stored, Option<(u32, u32)>), FileError> {
        let content_type = kind::checked(declared, &got.head);
        let i = &self.inner;
        if !kind::inline(&content_type) {
            let stored = Stored {
                sha256: got.sha256,
                size: got.size,
            };
            i.blobs.put(&stored.sha256, got.tmp.path()).await?;
            return Ok((content_type, stored, None));
        }
        let (ct, max, size) = (
            content_type.clone(),
            i.cfg.max_image_pixels,
            i.cfg.thumb_size,
        );
        let (clean, thumb) = (TempFile::new(&i.tmp), TempFile::new(&i.tmp));
        let (src, c, t) = (got.tmp.0.clone(), clean.0.clone(), thumb.0.clone());
        // The turn goes with the decode, so a request dropped meanwhile does not free it.
        let turn = i
            .decodes
            .clone()
            .acquire_owned()
            .await
            .map_err(|e| FileError::Io(e.to_string()))?;
        let (stored, dims) = tokio::task::spawn_blocking(move || {
            let _turn = turn;
            image::dimensions(&src, max)?;
            let (sha256, len) = image::strip(&ct, &src, &c)?;
            // Width and height as shown: a phone's portrait photo is turned by its orientation.
            let dims = image::thumbnail(&c, &t, size, max)?;
            Ok::<_, FileError>((Stored { sha256, size: len }, dims))
        })
        .await
        .map_err(|e| FileError::Io(e.to_string()))??;
        i.blobs
            .put(&thumb_key(&stored.sha256), thumb.path())
            .await?;
        i.blobs.put(&stored.sha256, clean.path()).await?;
        Ok((content_type, stored, Some(dims)))
    }

    /// The record of file `id`.
    pub async fn get(&self, id: &str) -> Result<FileRecord, FileError> {
        if id.is_empty() || id.len() > 64 {
            return Err(FileError::NotFound);
        }
        let id = id.to_owned();
        self.metas(move |m| m.get(&id))
            .await?
            .ok_or(FileError::NotFound)
    }

    /// The bytes of `rec` (its thumbnail with `thumb`) in `range`.
    pub async fn bytes(
        &self,
        rec: &FileRecord,
        thumb: bool,
        range: Option<std::ops::Range<u64>>,
    ) -> Result<ByteStream, FileError> {
        let key = if thumb {
            thumb_key(&rec.sha256)
        } else {
            rec.sha256.clone()
        };
        self.inner
            .blobs
            .get(&key, range)
            .await?
            .ok_or(FileError::NotFound)
    }

    /// The files `ids` of `room`, for a message there: each must exist and belong to `room`.
    pub async fn for_message(
        &self,
        room: &str,
        ids: &[String],
    ) -> Result<Vec<FileInfo>, FileError> {
        let max = self.inner.cfg.max_files_per_message;
        if ids.len() > max {
            return Err(FileError::TooLarge(format!(
                "a message carries at most {max} files (--max-files-per-message)"
            )));
        }
        let mut out: Vec<FileInfo> = Vec::with_capacity(ids.len());
        for id in ids {
            if out.iter().any(|f| &f.id == id) {
                continue;
            }
            match self.get(id).await {
                Ok(rec) if rec.room == room => out.push(rec.info()),
                Ok(_) | Err(FileError::NotFound) => {
                    return Err(FileError::BadRequest(format!(
                        "no file `{id}` was uploaded to this room"
                    )));
                }
                Err(e) => return Err(e),
            }
        }
        // Claimed before the message is stored: the sweep then looks for the message before it
        // would remove the file for want of a use (its use is recorded after the commit).
        for f in &out {
            let (r, id) = (room.to_owned(), f.id.clone());
            self.metas(move |m| m.attach(&r, &id, CLAIM)).await?;
        }
        Ok(out)
    }

    /// Records that message `seq` of `room` carries `files` (queued, done in order).
    pub fn attached(&self, room: &str, seq: u64, files: &[FileInfo]) {
        let ids = files.iter().map(|f| f.id.clone()).collect();
        self.queue(Job::Attach(room.to_owned(), seq, ids));
    }

    /// Message `seq` of `room` was deleted (queued, done in order): see [`Files::detach`].
    pub fn message_deleted(&self, room: &str, seq: u64) {
        self.queue(Job::Deleted(room.to_owned(), seq));
    }

    fn queue(&self, job: Job) {
        if self.inner.jobs.try_send(job).is_err() {
            tracing::warn!("files: too many attachments waiting; one is left to the sweep");
        }
    }

    async fn run(&self, job: Job) -> Result<(), FileError> {
        match job {
            Job::Attach(room, seq, ids) => {
                for id in ids {
                    let r = room.clone();
                    self.metas(move |m| {
                        m.attach(&r, &id, seq)?;
                        m.detach(&r, &id, CLAIM).map(drop)
                    })
                    .await?;
                }
                Ok(())
            }
            Job::Deleted(room, seq) => {
                let r = room.clone();
                let ids = self.metas(move |m| m.uses(&r, seq)).await?;
                self.detach(&room, seq, ids).await
            }
        }
    }

    /// Message `seq` of `room` no longer carries `ids` (deleted): files no other message uses
    /// are removed.
    pub async fn detach(&self, room: &str, seq: u64, ids: Vec<String>) -> Result<(), FileError> {
        for id in ids {
            let (r, i) = (room.to_owned(), id.clone());
            let left = self.metas(move |m| m.detach(&r, &i, seq)).await?;
            if left.is_some_and(|l| l.iter().all(|s| *s == CLAIM)) {
                self.remove(room, &id).await?;
            }
        }
        Ok(())
    }

    /// Removes file `id` of `room`, and its bytes when no other file has them.
    async fn remove(&self, room: &str, id: &str) -> Result<(), FileError> {
        let Some(rec) = self.get(id).await.ok().filter(|r| r.room == room) else {
            return Ok(());
        };
        let (r, i) = (room.to_owned(), id.to_owned());
        self.metas(move |m| m.remove(&r, &i)).await?;
        let sha = rec.sha256.clone();
        if !self.metas(move |m| m.sha_used(&sha)).await? {
            self.inner.blobs.delete(&rec.sha256).await?;
            self.inner.blobs.delete(&thumb_key(&rec.sha256)).await?;
        }
        Ok(())
    }
}

/// Does the jobs in order while the files exist.
async fn jobs_task(inner: std::sync::Weak<Inner>, mut rx: tokio::sync::mpsc::Receiver<Job>) {
    while let Some(job) = rx.recv().await {
        let Some(inner) = inner.upgrade() else { return };
        if let Err(e) = (Files { inner }).run(job).await {
            tracing::warn!(error = %e, "files: could not record a message's files");
        }
    }
}

/// Bytes as kept: their address and length.
struct Stored {
    sha256: String,
    size: u64,
}
