//! Receiving an upload: the body is streamed into a temporary file in `--data-dir`/files/tmp,
//! hashed (SHA-256) and counted as it arrives, and cut off with `too_large` past
//! `--max-file-bytes` or the user's quota; only the first [`kind::HEAD_BYTES`] are kept in
//! memory, for the signature check. A body that stalls for `--http-request-timeout` between two
//! chunks is abandoned. The temporary file is removed when the upload fails.

use std::io;
use std::path::{Path, PathBuf};
use std::time::Duration;

use bytes::Bytes;
use futures_util::{Stream, StreamExt};
use sha2::{Digest, Sha256};
use tokio::io::AsyncWriteExt;

use super::image::hex;
use super::quota::Quota;
use super::{FileError, kind};

/// What arrived.
pub struct Received {
    pub tmp: TempFile,
    pub sha256: String,
    pub size: u64,
    pub head: Vec<u8>,
}

/// A temporary file, removed when dropped unless it was moved away.
pub struct TempFile(pub PathBuf);

impl TempFile {
    pub fn new(dir: &Path) -> TempFile {
        TempFile(dir.join(uuid::Uuid::now_v7().simple().to_string()))
    }

    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// The limits an upload is received under.
pub struct Bounds<'a> {
    pub max: u64,
    pub quota: &'a Quota,
    pub user: &'a str,
    pub idle: Duration,
}

/// Streams `body` into a new file in `dir`. On error nothing is kept and the quota is given
/// back.
pub async fn receive<E: std::fmt::Display>(
    dir: &Path,
    body: impl Stream<Item = Result<Bytes, E>>,
    bounds: Bounds<'_>,
) -> Result<Received, FileError> {
    let tmp = TempFile::new(dir);
    let mut taken = 0u64;
    let out = write(&tmp, body, &bounds, &mut taken).await;
    if out.is_err() {
        bounds.quota.give_back(bounds.user, taken);
    }
    let (sha256, size, head) = out?;
    Ok(Received {
        tmp,
        sha256,
        size,
        head,
    })
}

async fn write<E: std::fmt::Display>(
    tmp: &TempFile,
    body: impl Stream<Item = Result<Bytes, E>>,
    b: &Bounds<'_>,
    taken: &mut u64,
) -> Result<(String, u64, Vec<u8>), FileError> {
    let mut file = tokio::fs::File::create(tmp.path()).await?;
    let (mut hasher, mut size, mut head) = (Sha256::new(), 0u64, Vec::new());
    let mut body = std::pin::pin!(body);
    loop {
        let chunk = match tokio::time::timeout(b.idle, body.next()).await {
            Err(_) => return Err(FileError::BadRequest("the upload stalled".into())),
            Ok(None) => break,
            Ok(Some(Err(e))) => return Err(FileError::BadRequest(format!("upload: {e}"))),
            Ok(Some(Ok(c))) => c,
        };
        size += chunk.len() as u64;
        if size > b.max {
            return Err(FileError::TooLarge(format!(
                "a file is at most {} bytes (--max-file-bytes)",
                b.max
            )));
        }
        b.quota
            .take(b.user, chunk.len() as u64)
            .map_err(FileError::Quota)?;
        *taken += chunk.len() as u64;
        if head.len() < kind::HEAD_BYTES {
            let n = (kind::HEAD_BYTES - head.len()).min(chunk.len());
            head.extend_from_slice(&chunk[..n]);
        }
        hasher.update(&chunk);
        file.write_all(&chunk).await?;
    }
    file.flush().await?;
    file.sync_all().await?;
    Ok((hex(&hasher.finalize()), size, head))
}

/// Checks an upload's name: 1 to 255 bytes, no control characters or path separators.
pub fn check_name(name: &str) -> Result<&str, FileError> {
    let name = name.trim();
    if name.is_empty() || name.len() > 255 {
        return Err(FileError::BadRequest(
            "give the file's name (?name=…, 1 to 255 bytes)".into(),
        ));
    }
    if name
        .chars()
        .any(|c| c.is_control() || c == '/' || c == '\\')
    {
        return Err(FileError::BadRequest(
            "a file's name has no control characters, `/` or `\\`".into(),
        ));
    }
    Ok(name)
}

impl From<io::Error> for FileError {
    fn from(e: io::Error) -> Self {
        FileError::Io(e.to_string())
    }
}
