//! `banter reindex`: rebuilds the search index from the messages, with the server's own settings
//! (`--data-dir` or `--redis`, `--search-index`), then exits. For a server that is stopped: a
//! running one keeps the file it opened. (A running server also catches up by itself: at start
//! it indexes whatever the index lacks, so removing `search.db` and restarting does the same.)

use anyhow::Context;
use banter_server::Config;
use banter_server::search::{Indexer, index, index_path};

pub async fn reindex(config: Config) -> anyhow::Result<()> {
    let settings = config.store_settings();
    let (path, scratch) = index_path(&config.search, &settings.kind, &settings.data_dir);
    if scratch {
        anyhow::bail!(
            "with --store {} every node builds its index at start; give --search-index FILE to \
             build a file here",
            settings.kind
        );
    }
    let store = banter_server::store::open(&settings).context("cannot open the store")?;
    index::remove(&path)?;
    let conn = index::open_writer(&path)?;
    let mut indexer = Indexer::new(conn, store.history().clone(), config.search.search_batch);
    let rooms = tokio::task::spawn_blocking(move || indexer.all()).await??;
    println!("indexed {rooms} rooms into {}", path.display());
    Ok(())
}
