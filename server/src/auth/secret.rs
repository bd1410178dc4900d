//! The HMAC key for `--auth token`: the content of `--auth-secret-file`, or the value of
//! `BANTER_AUTH_SECRET`, as bytes with surrounding whitespace trimmed.

use std::path::Path;

/// Shortest key accepted, in bytes: HS256 keys shorter than the hash are easy to guess.
pub const MIN_SECRET_BYTES: usize = 32;

#[derive(Debug, thiserror::Error)]
pub enum SecretError {
    #[error("--auth token needs a key: --auth-secret-file PATH or BANTER_AUTH_SECRET")]
    Missing,
    #[error("cannot read the secret file {path}: {source}")]
    Read {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error(
        "the secret is {0} bytes; use at least {MIN_SECRET_BYTES} (e.g. `openssl rand -hex 32`)"
    )]
    TooShort(usize),
}

/// The key from `file` if given, else from `value` (the environment variable).
pub fn load_secret(file: Option<&Path>, value: Option<&str>) -> Result<Vec<u8>, SecretError> {
    let raw = match (file, value) {
        (Some(path), _) => std::fs::read(path).map_err(|source| SecretError::Read {
            path: path.display().to_string(),
            source,
        })?,
        (None, Some(v)) => v.as_bytes().to_vec(),
        (None, None) => return Err(SecretError::Missing),
    };
    let key = raw.trim_ascii();
    if key.len() < MIN_SECRET_BYTES {
        return Err(SecretError::TooShort(key.len()));
    }
    Ok(key.to_vec())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_key_is_trimmed_and_must_be_long_enough() {
        let long = format!("  {}\n", "k".repeat(40));
        assert_eq!(load_secret(None, Some(&long)).unwrap(), vec![b'k'; 40]);
        assert!(matches!(
            load_secret(None, Some("short\n")),
            Err(SecretError::TooShort(5))
        ));
        assert!(matches!(load_secret(None, None), Err(SecretError::Missing)));
    }
}
