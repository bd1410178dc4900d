//! [`FileStore`]: where the bytes of uploaded files are kept, content-addressed by their
//! SHA-256 (so the same bytes uploaded twice are kept once). Two implementations: [`LocalFiles`]
//! under `--data-dir`/files (one node), and [`super::s3::ObjectFiles`], an S3-compatible bucket
//! (`--files-url s3://…`) that every node of a cluster shares.
//!
//! An upload is first streamed into a temporary file on this node (see [`super::upload`]);
//! [`FileStore::put`] then moves it in (a rename, or a multipart upload read from the file), so
//! no implementation ever holds a whole file in memory. Reads are streams of chunks, from an
//! optional byte range.

use std::io;
use std::ops::Range;
use std::path::{Path, PathBuf};

use bytes::Bytes;
use futures_util::future::BoxFuture;
use futures_util::stream::{BoxStream, StreamExt};
use tokio::io::{AsyncReadExt, AsyncSeekExt};

/// A file's bytes as they are read.
pub type ByteStream = BoxStream<'static, io::Result<Bytes>>;

/// See the module docs. Keys are a hex SHA-256, or that followed by `.thumb`.
pub trait FileStore: Send + Sync + 'static {
    /// Moves the complete temporary file `tmp` (on this node's disk) in under `key`; the
    /// temporary file is gone afterwards.
    fn put<'a>(&'a self, key: &'a str, tmp: &'a Path) -> BoxFuture<'a, io::Result<()>>;

    /// The bytes of `key` in `range` (the whole file for `None`); `None` when it is missing.
    fn get<'a>(
        &'a self,
        key: &'a str,
        range: Option<Range<u64>>,
    ) -> BoxFuture<'a, io::Result<Option<ByteStream>>>;

    /// Deletes `key` (nothing when it is missing).
    fn delete<'a>(&'a self, key: &'a str) -> BoxFuture<'a, io::Result<()>>;
}

/// Files under a directory: `ab/abcdef…` (the first two hex digits as a subdirectory).
pub struct LocalFiles {
    dir: PathBuf,
}

impl LocalFiles {
    pub fn new(dir: PathBuf) -> Self {
        LocalFiles { dir }
    }

    /// Where `key` lives.
    pub fn path(&self, key: &str) -> PathBuf {
        let shard = key.get(..2).unwrap_or("00");
        self.dir.join(shard).join(key)
    }
}

/// Reads of this size at most per chunk.
const CHUNK: usize = 64 * 1024;

impl FileStore for LocalFiles {
    fn put<'a>(&'a self, key: &'a str, tmp: &'a Path) -> BoxFuture<'a, io::Result<()>> {
        Box::pin(async move {
            let path = self.path(key);
            if let Some(parent) = path.parent() {
                tokio::fs::create_dir_all(parent).await?;
            }
            tokio::fs::rename(tmp, &path).await
        })
    }

    fn get<'a>(
        &'a self,
        key: &'a str,
        range: Option<Range<u64>>,
    ) -> BoxFuture<'a, io::Result<Option<ByteStream>>> {
        Box::pin(async move {
            let mut file = match tokio::fs::File::open(self.path(key)).await {
                Ok(f) => f,
                Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
                Err(e) => return Err(e),
            };
            let len = match range {
                Some(r) => {
                    file.seek(io::SeekFrom::Start(r.start)).await?;
                    r.end.saturating_sub(r.start)
                }
                None => file.metadata().await?.len(),
            };
            let reader = file.take(len);
            let stream = tokio_util::io::ReaderStream::with_capacity(reader, CHUNK);
            Ok(Some(stream.boxed()))
        })
    }

    fn delete<'a>(&'a self, key: &'a str) -> BoxFuture<'a, io::Result<()>> {
        Box::pin(async move {
            match tokio::fs::remove_file(self.path(key)).await {
                Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e),
                _ => Ok(()),
            }
        })
    }
}
