//! The hub's part in files (v1.2, issue 19): a message carrying files ([`Hub::post_files`],
//! the ids already checked against the room by [`Files::for_message`]), and telling the files
//! what the store did: a stored message with files attaches them; a stored deletion detaches
//! its target's files, removing those no other message uses ([`Files::message_deleted`]).
//! Both run from the store's completion, so every path that stores a message or a deletion
//! (WebSocket, HTTP) counts.

use banter_protocol::{FileInfo, ValidationError};

use super::{Extra, Hub};
use crate::files::Files;
use crate::store::{Appended, Entry, StoreError};

/// What the hub holds of the files.
pub type FilesHook = Files;

impl Hub {
    /// Tells the hub where files are (once, at start).
    pub fn set_files(&self, files: Files) {
        let _ = self.inner.files.set(files);
    }

    /// The files, when the server keeps them.
    pub fn files(&self) -> Option<&Files> {
        self.inner.files.get()
    }

    /// Stores a message with `files` (see [`Hub::post_now`]; a message of files alone may have
    /// no text).
    #[allow(clippy::too_many_arguments)]
    pub fn post_files(
        &self,
        room: &str,
        user: &str,
        text: &str,
        client_id: Option<&str>,
        reply_to: Option<u64>,
        files: Vec<FileInfo>,
        reply: impl FnOnce(Result<Appended, StoreError>) + Send + 'static,
    ) -> Result<(), ValidationError> {
        let extra = Extra {
            reply_to,
            files,
            ..Extra::default()
        };
        self.post_extra(room, user, text, client_id, extra, reply)
    }

    /// After a store completion (on the store's thread: only queues work).
    pub(super) fn files_stored(&self, a: &Appended) {
        let Some(files) = self.inner.files.get() else {
            return;
        };
        match &a.stored.entry {
            Entry::Message(m) if !m.files.is_empty() => files.attached(&m.room, m.seq, &m.files),
            Entry::Change(c) if c.kind == banter_protocol::ChangeKind::Delete => {
                files.message_deleted(&c.room, c.target)
            }
            _ => {}
        }
    }
}
