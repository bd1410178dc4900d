//! [`Acks`]: what senders were told across failures (`client_id` → `seq`, from WebSocket acks and
//! HTTP answers), shared between them and the test; a `client_id` acked with two `seq`s fails
//! the test at once. And the HTTP sender that re-sends until it is told.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use serde_json::json;

use crate::follow::{Nodes, Rng};
use crate::{WAIT, try_post, wait_until};

/// See the module docs.
#[derive(Clone, Default)]
pub struct Acks(Arc<Mutex<HashMap<String, u64>>>);

impl Acks {
    /// Records an ack; panics if `client_id` was acked before with another `seq`. `true` if new.
    pub fn record(&self, client_id: &str, seq: u64) -> bool {
        let mut acked = self.0.lock().unwrap();
        match acked.get(client_id) {
            Some(&before) => {
                assert_eq!(before, seq, "{client_id} acked as {before}, then as {seq}");
                false
            }
            None => {
                acked.insert(client_id.to_owned(), seq);
                true
            }
        }
    }

    pub fn len(&self) -> usize {
        self.0.lock().unwrap().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn contains(&self, client_id: &str) -> bool {
        self.0.lock().unwrap().contains_key(client_id)
    }

    /// Everything acked so far.
    pub fn snapshot(&self) -> HashMap<String, u64> {
        self.0.lock().unwrap().clone()
    }

    /// Waits until at least `n` are acked.
    pub async fn wait_for(&self, n: usize) {
        wait_until(&format!("{n} acked"), || self.len() >= n).await;
    }

    /// Posts `text` with `client_id` to `room` over HTTP through a node picked from `nodes`,
    /// re-sending (through another pick) after every failure until it is stored; records and
    /// returns its `seq`.
    pub async fn post_until_stored(
        &self,
        nodes: &Nodes,
        rng: &mut Rng,
        room: &str,
        user: &str,
        client_id: &str,
        text: &str,
    ) -> u64 {
        let deadline = Instant::now() + 3 * WAIT;
        let body = json!({"user": user, "text": text, "client_id": client_id});
        loop {
            assert!(Instant::now() < deadline, "{client_id} never acked");
            let node = nodes.pick(rng);
            if let Ok((200 | 201, m)) = try_post(&node, room, body.clone()).await
                && let Some(seq) = m["seq"].as_u64()
            {
                self.record(client_id, seq);
                return seq;
            }
        }
    }
}
