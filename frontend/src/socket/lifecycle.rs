//! The [`Chat`] handle's v1.2 "Message lifecycle" actions: each asks the [`Session`] for the
//! frames (queued by the client core in turn with the room's sends) and writes them out.

use banter_protocol::ClientMsg;
use leptos::prelude::*;

use super::Chat;
use crate::state::Session;

impl Chat {
    /// Runs one request on the session and writes its frames, or says why not.
    fn act(
        &self,
        f: impl FnOnce(&mut Session) -> Result<Vec<ClientMsg>, String>,
    ) -> Result<(), String> {
        let frames = self.with_session(f)?;
        self.push(frames);
        Ok(())
    }

    /// Replaces the text of the user's message `seq` on screen.
    pub fn edit(&self, seq: u64, text: &str) -> Result<(), String> {
        self.act(|s| s.edit(seq, text))
    }

    /// Deletes message `seq` on screen.
    pub fn delete(&self, seq: u64) -> Result<(), String> {
        self.act(|s| s.delete(seq))
    }

    /// Gives or takes back the user's reaction `emoji` to `seq`.
    pub fn toggle_reaction(&self, seq: u64, emoji: &str) -> Result<(), String> {
        self.act(|s| s.toggle_reaction(seq, emoji))
    }

    /// Answers in the thread of `root`.
    pub fn reply(&self, root: u64, text: &str) -> Result<(), String> {
        let now = super::now_ms();
        self.act(|s| {
            s.now = now;
            s.reply(root, text)
        })
    }

    /// The thread of `root` is on screen: its replies are read; the whole thread is fetched
    /// (after a reload it may be older than what the join replayed).
    pub fn open_thread(&self, root: u64) {
        self.session.update(|s| s.mark_thread_read(root));
        let chat = *self;
        let Some((room, who)) = self
            .session
            .with_untracked(|s| Some((s.screen_room()?.to_string(), s.who())))
        else {
            return;
        };
        leptos::task::spawn_local(async move {
            if let Ok(page) = crate::api::thread(&room, root, &who).await {
                chat.session.update(|s| {
                    s.add_thread(page);
                    s.mark_thread_read(root);
                });
            }
        });
    }
}
