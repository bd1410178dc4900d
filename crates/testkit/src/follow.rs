//! Readers and writers across failures: [`follow`] reads a room until it has every message,
//! resuming with `since` and `epoch` on whichever node is up (and, when asked, cutting its own
//! connection at random), checking each message is the next `seq`; [`ws_writer`] sends over a
//! WebSocket and collects the acks. [`Nodes`] is the list of servers they pick from, which a
//! test changes when it kills or restarts one; [`Rng`] makes every choice repeatable by seed.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use banter_protocol::{ChatMessage, ClientMsg, ServerMsg};
use futures_util::{SinkExt, StreamExt};
use tokio_tungstenite::tungstenite::Message;

use crate::{Client, Endpoint};

/// A small deterministic generator, so a failing seed can be run again.
pub struct Rng(pub u64);

impl Rng {
    /// A number in `0..n` (0 when `n` is 0).
    pub fn below(&mut self, n: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (self.0 >> 33) % n.max(1)
    }
}

/// The seeds of a chaos test's runs: `runs` of them (or as many as the environment variable
/// `runs_var` says), from `base` (or `CHAOS_SEED`), each announced on stderr so that a failing
/// one can be run again alone.
pub fn seeds(what: &str, runs_var: &str, runs: u64, base: u64) -> Vec<u64> {
    let var = |name: &str| std::env::var(name).ok().and_then(|s| s.parse().ok());
    let runs: u64 = var(runs_var).unwrap_or(runs);
    let base: u64 = var("CHAOS_SEED").unwrap_or(base);
    (0..runs)
        .map(|i| {
            let seed = base.wrapping_add(i * 7_777_777);
            eprintln!("{what}, seed {seed} (CHAOS_SEED={base}, run {i})");
            seed
        })
        .collect()
}

/// The servers clients may use right now, shared with the test that kills and restarts them.
#[derive(Clone, Default)]
pub struct Nodes(Arc<Mutex<Vec<SocketAddr>>>);

impl Nodes {
    pub fn new<E: Endpoint>(nodes: impl IntoIterator<Item = E>) -> Nodes {
        Nodes(Arc::new(Mutex::new(
            nodes.into_iter().map(|n| n.addr()).collect(),
        )))
    }

    /// One of them, chosen by `rng`.
    pub fn pick(&self, rng: &mut Rng) -> SocketAddr {
        let nodes = self.0.lock().unwrap();
        nodes[rng.below(nodes.len() as u64) as usize]
    }

    /// `node` is down: no more picks of it.
    pub fn remove(&self, node: SocketAddr) {
        self.0.lock().unwrap().retain(|n| *n != node);
    }

    /// `old` is gone, `new` is there instead (they may be the same address).
    pub fn replace(&self, old: SocketAddr, new: SocketAddr) {
        let mut nodes = self.0.lock().unwrap();
        nodes.retain(|n| *n != old);
        nodes.push(new);
    }

    /// `node` is up (again).
    pub fn add(&self, node: SocketAddr) {
        self.0.lock().unwrap().push(node);
    }
}

/// What a reader saw of a room: the messages, in order, across every reconnect.
#[derive(Default)]
pub struct Seen {
    pub msgs: Vec<ChatMessage>,
    pub epoch: Option<String>,
    pub reconnects: usize,
}

/// Follows `room` until it has `n` messages: joins a node from `nodes` (resuming with `since`
/// and `epoch`), checks every message is the next `seq`, and with `cut` drops the connection at
/// random and resumes on a random node. A node that is down is skipped.
pub async fn follow(nodes: Nodes, room: String, n: u64, seed: u64, cut: bool) -> Seen {
    let mut rng = Rng(seed);
    let mut seen = Seen::default();
    let deadline = Instant::now() + Duration::from_secs(40);
    while (seen.msgs.len() as u64) < n {
        assert!(
            Instant::now() < deadline,
            "reader of {room} stalled at {}",
            seen.msgs.len()
        );
        let node = nodes.pick(&mut rng);
        let budget = if cut { 1 + rng.below(n / 3) } else { u64::MAX };
        let _ = follow_once(&node.ws_url(), &room, n, budget, &mut seen).await;
        seen.reconnects += 1;
    }
    seen
}

/// One connection of [`follow`]: at most `budget` messages, any error ends it.
pub async fn follow_once(
    url: &str,
    room: &str,
    n: u64,
    budget: u64,
    seen: &mut Seen,
) -> Result<(), String> {
    let connect = tokio_tungstenite::connect_async(url);
    let (mut ws, _) = tokio::time::timeout(Duration::from_secs(2), connect)
        .await
        .map_err(|_| "connect timeout")?
        .map_err(|e| e.to_string())?;
    let since = seen.msgs.last().map_or(0, |m| m.seq);
    let join = ClientMsg::Join {
        room: room.into(),
        name: "reader".into(),
        since: Some(since),
        epoch: seen.epoch.clone(),
        with: None,
    };
    ws.send(Message::text(join.to_json()))
        .await
        .map_err(|e| e.to_string())?;
    let mut got = 0;
    while got < budget && (seen.msgs.len() as u64) < n {
        let frame = tokio::time::timeout(Duration::from_secs(5), ws.next())
            .await
            .map_err(|_| "no message for 5 s")?
            .ok_or("closed")?
            .map_err(|e| e.to_string())?;
        let Message::Text(t) = frame else { continue };
        let msg = serde_json::from_str::<ServerMsg>(&t).map_err(|e| e.to_string())?;
        got += u64::from(seen.take(room, since, msg)?);
    }
    Ok(())
}

impl Seen {
    /// Takes in one frame of a resumed room; `true` for a message. Panics on a changed epoch,
    /// an incomplete resume, a gap or a repeat.
    fn take(&mut self, room: &str, since: u64, msg: ServerMsg) -> Result<bool, String> {
        match msg {
            ServerMsg::Joined { epoch, .. } => {
                if let Some(had) = &self.epoch {
                    assert_eq!(*had, epoch, "{room}: the epoch changed under a reader");
                }
                self.epoch = Some(epoch);
            }
            ServerMsg::Replay { complete, .. } => {
                assert!(complete, "{room}: resume from {since} not complete");
            }
            ServerMsg::Message(m) => {
                let want = self.msgs.last().map_or(1, |l| l.seq + 1);
                assert_eq!(m.seq, want, "{room}: a gap or a repeat at {want}");
                self.msgs.push(m);
                return Ok(true);
            }
            ServerMsg::Error { code, message, .. } => return Err(format!("{code:?}: {message}")),
            _ => {}
        }
        Ok(false)
    }
}

/// Sends `count` messages with `client_id`s `{tag}-{i}` through a WebSocket to `url`, 25 at a
/// time, waiting for every ack. Returns the acked seqs, in order.
pub async fn ws_writer(url: String, room: String, tag: String, count: usize) -> Vec<u64> {
    let mut c = Client::connect_raw(&url).await;
    c.recv().await; // welcome
    c.join(&room, &tag).await;
    let mut acked = Vec::new();
    for chunk in (0..count).collect::<Vec<_>>().chunks(25) {
        for i in chunk {
            let cid = format!("{tag}-{i}");
            c.say(&room, &format!("{tag} {i}"), Some(&cid)).await;
        }
        while acked.len() < chunk.last().map_or(0, |l| l + 1) {
            match c.recv().await {
                ServerMsg::Ack { seq, .. } => acked.push(seq),
                ServerMsg::Error { code, message, .. } => panic!("{code:?}: {message}"),
                _ => {}
            }
        }
    }
    acked
}

/// What a resuming `join` got: the `joined` epoch, the `replay` bracket `(room, from, to,
/// complete)` and the `seq`s of the messages after it.
#[derive(Debug)]
pub struct Resumed {
    pub epoch: String,
    pub bracket: (String, u64, u64, bool),
    pub seqs: Vec<u64>,
}

/// Joins `room` on `server` with `since` and `epoch` as a new client and collects the next
/// `expect` messages.
pub async fn resume(
    server: &impl Endpoint,
    room: &str,
    since: u64,
    epoch: Option<String>,
    expect: usize,
) -> Resumed {
    let mut c = Client::connect(server).await;
    let (epoch, bracket) = c.resume(room, since, epoch.as_deref()).await;
    let mut seqs = Vec::new();
    while seqs.len() < expect {
        seqs.push(c.next_message().await.seq);
    }
    Resumed {
        epoch,
        bracket,
        seqs,
    }
}
