//! What type an upload is kept and served as (see docs/security.md, "Files").
//!
//! The declared `content-type` is checked against the bytes' signature (the `infer` crate) at
//! upload: when the bytes have a known signature that disagrees with the declared type, the
//! file is kept as `application/octet-stream` (accepted, but only ever downloaded). A declared
//! type that is not a plain `type/subtype` becomes `application/octet-stream` too.
//!
//! Only [`INLINE`] types (PNG, JPEG, GIF, WebP, each confirmed by its signature) are served
//! `inline`; everything else, SVG and HTML included, is served as an attachment. Every file
//! response also carries `X-Content-Type-Options: nosniff` and `Content-Security-Policy:
//! sandbox` (see `http/files.rs`).

/// Types served inline (and given a size and a thumbnail): raster images whose decoders are
/// built in, never SVG.
pub const INLINE: &[&str] = &["image/png", "image/jpeg", "image/gif", "image/webp"];

/// The type of anything that is only downloaded.
pub const OCTET_STREAM: &str = "application/octet-stream";

/// Bytes of the head of a file read for its signature.
pub const HEAD_BYTES: usize = 8192;

/// The type a file with `declared` type and first bytes `head` is kept as.
pub fn checked(declared: &str, head: &[u8]) -> String {
    let declared = normalize(declared);
    let Some(declared) = declared else {
        return OCTET_STREAM.into();
    };
    match infer::get(head) {
        // The bytes say what they are: they must agree with what was declared.
        Some(found) if found.mime_type() == declared => declared,
        Some(_) => OCTET_STREAM.into(),
        // No signature: an inline type must have one (a "PNG" without PNG bytes is not one).
        None if INLINE.contains(&declared.as_str()) => OCTET_STREAM.into(),
        None => declared,
    }
}

/// `type/subtype` in lower case without parameters, or `None` when it is not one.
fn normalize(declared: &str) -> Option<String> {
    let essence = declared.split(';').next()?.trim().to_ascii_lowercase();
    let (ty, sub) = essence.split_once('/')?;
    let token = |s: &str| {
        !s.is_empty()
            && s.len() <= 64
            && s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"!#$&-^_.+".contains(&b))
    };
    (token(ty) && token(sub)).then_some(essence)
}

/// Whether a file of this (checked) type is shown in the page rather than downloaded.
pub fn inline(content_type: &str) -> bool {
    INLINE.contains(&content_type)
}

#[cfg(test)]
mod tests {
    use super::*;

    const PNG: &[u8] = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR";

    #[test]
    fn the_signature_must_agree() {
        assert_eq!(checked("image/png", PNG), "image/png");
        assert_eq!(checked("image/jpeg", PNG), OCTET_STREAM);
        assert_eq!(checked("text/html", PNG), OCTET_STREAM);
        assert_eq!(checked("image/png", b"<svg></svg>"), OCTET_STREAM);
        assert_eq!(checked("text/plain; charset=utf-8", b"hello"), "text/plain");
        assert_eq!(checked("nonsense", b"hello"), OCTET_STREAM);
        assert!(!inline("image/svg+xml"));
        assert!(!inline("text/html"));
        assert!(inline("image/png"));
    }
}
