//! Only for the `embed-frontend` feature: the embedded folder (`../dist`, trunk's output) must
//! exist for the server to compile, and the server must be rebuilt whenever trunk rewrites it.
//! Without the feature this does nothing.

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-env-changed=CARGO_FEATURE_EMBED_FRONTEND");
    if std::env::var_os("CARGO_FEATURE_EMBED_FRONTEND").is_none() {
        return;
    }
    let dist = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../dist");
    if let Err(e) = std::fs::create_dir_all(&dist) {
        println!("cargo:warning=could not create {}: {e}", dist.display());
    }
    // Cargo scans a directory given here recursively: a new trunk build re-embeds.
    println!("cargo:rerun-if-changed=../dist");
}
