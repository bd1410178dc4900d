//! Where things are: the workspace, cargo's target directory, the release binary, and a scratch
//! directory per test.

use std::path::{Path, PathBuf};

/// The workspace root (two levels above this crate).
pub fn workspace_root() -> PathBuf {
    let here = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    here.canonicalize().unwrap_or(here)
}

/// Cargo's target directory: `CARGO_TARGET_DIR` when set, else `<workspace>/target`.
pub fn target_dir() -> PathBuf {
    match std::env::var_os("CARGO_TARGET_DIR") {
        Some(dir) if Path::new(&dir).is_absolute() => PathBuf::from(dir),
        Some(dir) => workspace_root().join(dir),
        None => workspace_root().join("target"),
    }
}

/// The release binary: `BANTER_BIN`, else `<target>/release/banter`.
pub fn release_bin() -> PathBuf {
    std::env::var_os("BANTER_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| target_dir().join("release").join("banter"))
}

/// A fresh directory under the system temp dir, named after the test; removed when dropped.
pub struct Scratch(tempfile::TempDir);

impl std::ops::Deref for Scratch {
    type Target = Path;
    fn deref(&self) -> &Path {
        self.0.path()
    }
}

pub fn scratch(name: &str) -> Scratch {
    let dir = tempfile::Builder::new()
        .prefix(&format!("banter-test-{name}-"))
        .tempdir()
        .expect("scratch dir");
    Scratch(dir)
}
