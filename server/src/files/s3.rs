//! [`ObjectFiles`]: the [`FileStore`] of a cluster, an S3-compatible bucket
//! (`--files-url s3://BUCKET/PREFIX`, with `--s3-endpoint`, `--s3-region` and the credentials
//! flags or the usual `AWS_*` variables) through the `object_store` crate. Every node reads
//! and writes the same bucket, so a file uploaded on one node is served by any.
//!
//! An upload goes up as a multipart upload read from this node's temporary file
//! (`object_store`'s `BufWriter`: a few parts in memory at most), never whole in memory.

use std::io;
use std::ops::Range;
use std::path::Path;
use std::sync::Arc;

use futures_util::future::BoxFuture;
use futures_util::stream::{StreamExt, TryStreamExt};
use object_store::aws::AmazonS3Builder;
use object_store::buffered::BufWriter;
use object_store::path::Path as ObjectPath;
use object_store::{GetOptions, GetRange, ObjectStore, ObjectStoreExt};
use tokio::io::AsyncWriteExt;

use super::blobs::{ByteStream, FileStore};
use crate::config::files::FilesConfig;

/// See the module docs.
pub struct ObjectFiles {
    store: Arc<dyn ObjectStore>,
    prefix: String,
}

fn io_err(e: object_store::Error) -> io::Error {
    io::Error::other(e)
}

impl ObjectFiles {
    /// The bucket and prefix of `url` (`s3://BUCKET/PREFIX`), reached as the flags say.
    pub fn open(url: &str, cfg: &FilesConfig) -> Result<Self, String> {
        let rest = url
            .strip_prefix("s3://")
            .ok_or_else(|| format!("--files-url {url}: only s3://BUCKET/PREFIX is known"))?;
        let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
        if bucket.is_empty() {
            return Err(format!("--files-url {url}: no bucket"));
        }
        // object_store's HTTP client uses rustls without a bundled provider: ring, as for TLS.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let mut b = AmazonS3Builder::from_env()
            .with_bucket_name(bucket)
            .with_region(&cfg.s3_region);
        if !cfg.s3_endpoint.is_empty() {
            b = b
                .with_endpoint(&cfg.s3_endpoint)
                .with_allow_http(cfg.s3_endpoint.starts_with("http://"));
        }
        if !cfg.s3_access_key_id.is_empty() {
            b = b.with_access_key_id(&cfg.s3_access_key_id);
        }
        if !cfg.s3_secret_access_key.is_empty() {
            b = b.with_secret_access_key(&cfg.s3_secret_access_key);
        }
        let store = b.build().map_err(|e| format!("--files-url {url}: {e}"))?;
        Ok(ObjectFiles {
            store: Arc::new(store),
            prefix: prefix.trim_matches('/').to_owned(),
        })
    }

    fn path(&self, key: &str) -> ObjectPath {
        if self.prefix.is_empty() {
            ObjectPath::from(key)
        } else {
            ObjectPath::from(format!("{}/{key}", self.prefix))
        }
    }
}

impl FileStore for ObjectFiles {
    fn put<'a>(&'a self, key: &'a str, tmp: &'a Path) -> BoxFuture<'a, io::Result<()>> {
        Box::pin(async move {
            let mut file = tokio::fs::File::open(tmp).await?;
            let mut up = BufWriter::new(self.store.clone(), self.path(key));
            let copied = tokio::io::copy(&mut file, &mut up).await;
            let done = match copied {
                Ok(_) => up.shutdown().await,
                Err(e) => {
                    let _ = up.abort().await;
                    Err(e)
                }
            };
            let _ = tokio::fs::remove_file(tmp).await;
            done
        })
    }

    fn get<'a>(
        &'a self,
        key: &'a str,
        range: Option<Range<u64>>,
    ) -> BoxFuture<'a, io::Result<Option<ByteStream>>> {
        Box::pin(async move {
            if range.as_ref().is_some_and(|r| r.is_empty()) {
                return Ok(Some(futures_util::stream::empty().boxed()));
            }
            let opts = GetOptions {
                range: range.map(GetRange::Bounded),
                ..Default::default()
            };
            match self.store.get_opts(&self.path(key), opts).await {
                Ok(got) => Ok(Some(got.into_stream().map_err(io_err).boxed())),
                Err(object_store::Error::NotFound { .. }) => Ok(None),
                Err(e) => Err(io_err(e)),
            }
        })
    }

    fn delete<'a>(&'a self, key: &'a str) -> BoxFuture<'a, io::Result<()>> {
        Box::pin(async move {
            match self.store.delete(&self.path(key)).await {
                Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
                Err(e) => Err(io_err(e)),
            }
        })
    }
}
