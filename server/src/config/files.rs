//! Flags of files (v1.2, issue 19): where the bytes are kept (`--files-url`: the data directory,
//! or an S3-compatible bucket for a cluster, with its endpoint and credentials), how large one
//! upload may be, each user's quota over a window, the bounds of image decoding (a
//! decompression bomb is refused), the thumbnail size, and how long an upload no message uses
//! is kept.

use std::time::Duration;

/// See the module docs.
#[derive(Debug, Clone, PartialEq, Eq, clap::Args)]
pub struct FilesConfig {
    /// Where uploaded files are kept: empty for `--data-dir`/files (one node), or
    /// `s3://BUCKET/PREFIX` for an S3-compatible object store shared by a cluster.
    #[arg(long, env = "BANTER_FILES_URL", default_value = "")]
    pub files_url: String,

    /// With `s3://`: the S3 endpoint (empty = AWS), e.g. `http://127.0.0.1:9000` for MinIO.
    #[arg(long, env = "BANTER_S3_ENDPOINT", default_value = "")]
    pub s3_endpoint: String,

    /// With `s3://`: the region.
    #[arg(long, env = "BANTER_S3_REGION", default_value = "us-east-1")]
    pub s3_region: String,

    /// With `s3://`: the access key id (empty = from `AWS_ACCESS_KEY_ID`).
    #[arg(long, env = "BANTER_S3_ACCESS_KEY_ID", default_value = "")]
    pub s3_access_key_id: String,

    /// With `s3://`: the secret access key (empty = from `AWS_SECRET_ACCESS_KEY`). Prefer the
    /// environment variable: a flag shows in the process list.
    #[arg(
        long,
        env = "BANTER_S3_SECRET_ACCESS_KEY",
        default_value = "",
        hide_env_values = true
    )]
    pub s3_secret_access_key: String,

    /// The largest upload, in bytes; a larger body is refused with `413 too_large`.
    #[arg(long, env = "BANTER_MAX_FILE_BYTES", default_value_t = 25 * 1024 * 1024)]
    pub max_file_bytes: u64,

    /// Bytes one user may upload per `--file-quota-window` (0 = unlimited); more: `429`.
    #[arg(long, env = "BANTER_FILE_QUOTA_BYTES", default_value_t = 500 * 1024 * 1024)]
    pub file_quota_bytes: u64,

    /// The window of `--file-quota-bytes`.
    #[arg(long, env = "BANTER_FILE_QUOTA_WINDOW", default_value = "24h", value_parser = humantime::parse_duration)]
    pub file_quota_window: Duration,

    /// Files one message may carry at most.
    #[arg(long, env = "BANTER_MAX_FILES_PER_MESSAGE", default_value_t = 10)]
    pub max_files_per_message: usize,

    /// The most pixels (width × height) an image may have to be decoded for its thumbnail;
    /// a larger image is refused with `413` (a decompression bomb stays a few bytes).
    #[arg(long, env = "BANTER_MAX_IMAGE_PIXELS", default_value_t = 50_000_000)]
    pub max_image_pixels: u64,

    /// Images decoded at once for their thumbnails on this node (each may take up to 4 bytes ×
    /// `--max-image-pixels` of memory); more uploads of images wait their turn.
    #[arg(long, env = "BANTER_MAX_IMAGE_DECODES", default_value_t = 2, value_parser = clap::value_parser!(u32).range(1..))]
    pub max_image_decodes: u32,

    /// The longest side of a thumbnail, in pixels.
    #[arg(long, env = "BANTER_THUMB_SIZE", default_value_t = 320)]
    pub thumb_size: u32,

    /// An upload that no message uses is deleted after this long.
    #[arg(long, env = "BANTER_FILE_UNUSED_TTL", default_value = "24h", value_parser = humantime::parse_duration)]
    pub file_unused_ttl: Duration,

    /// How often files are swept: uploads unused past `--file-unused-ttl`, and files whose
    /// messages retention removed.
    #[arg(long, env = "BANTER_FILE_SWEEP", default_value = "60s", value_parser = humantime::parse_duration)]
    pub file_sweep: Duration,
}

impl Default for FilesConfig {
    fn default() -> Self {
        FilesConfig {
            files_url: String::new(),
            s3_endpoint: String::new(),
            s3_region: "us-east-1".into(),
            s3_access_key_id: String::new(),
            s3_secret_access_key: String::new(),
            max_file_bytes: 25 * 1024 * 1024,
            file_quota_bytes: 500 * 1024 * 1024,
            file_quota_window: Duration::from_secs(24 * 3600),
            max_files_per_message: 10,
            max_image_pixels: 50_000_000,
            max_image_decodes: 2,
            thumb_size: 320,
            file_unused_ttl: Duration::from_secs(24 * 3600),
            file_sweep: Duration::from_secs(60),
        }
    }
}
