//! Sending from the page: a message for what is on screen (checked, given its `client_id`),
//! and what the user decides about a refused one (retry it, retry all, give it up). The order
//! and the re-sends are the client core's; this is the page's side of it.

use banter_protocol::ClientMsg;

use super::Session;

impl Session {
    /// Checks and queues a message for what is on screen (room or conversation). Returns the
    /// frames to write now (none when offline or not joined yet: it goes out after `joined`).
    pub fn compose(&mut self, text: &str) -> Result<Vec<ClientMsg>, String> {
        if self.name.is_none() {
            return Err("choose a name first".into());
        }
        let text = self.limits.text(text).map_err(|e| e.message)?.to_string();
        self.next_client_id += 1;
        let client_id = format!("{}-{}", self.client_prefix, self.next_client_id);
        let key = self.view_key();
        self.typing_sent();
        Ok(self
            .core
            .send(&client_id, &key, &text)
            .into_iter()
            .collect())
    }

    /// Queues a refused send again (after the refused ones written before it in its room);
    /// returns the frame that can go now.
    pub fn retry(&mut self, client_id: &str) -> Vec<ClientMsg> {
        self.core.retry(client_id).into_iter().collect()
    }

    /// Queues every refused send on screen again, in the order written; returns the frame that
    /// can go now (each of the others goes after the previous one's `ack`).
    pub fn retry_all(&mut self) -> Vec<ClientMsg> {
        let key = self.view_key();
        self.core.retry_all(&key).into_iter().collect()
    }

    /// Drops a send the user gave up on; returns the frame of the next one if it can go now.
    pub fn discard(&mut self, client_id: &str) -> Vec<ClientMsg> {
        self.core.discard(client_id).into_iter().collect()
    }
}
