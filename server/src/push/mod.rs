//! Web Push (v1.2 "Notifications"): a user with no open connection anywhere in the cluster is
//! sent a push for a message in one of their conversations or one that mentions them.
//!
//! Off the post path: the hub's post hook ([`crate::hub::Hub::on_post`]) only works out the
//! recipients ([`recipients`]) and `try_send`s a [`Notice`] per recipient into a bounded queue
//! (`--push-queue`; when full, the notice is dropped and counted), so posting never waits. One
//! worker task takes them in order, each only to readers of its room ([`readers`]: a private
//! room's members; a group conversation's notice goes to its members): a user connected on this node or another
//! ([`crate::store::Store::online_elsewhere`]) is skipped; the rest are batched per user
//! ([`batch`]) and each batch delivered on its own task ([`deliver`], at most [`SENDS`] at once):
//! settings and subscriptions from the store, muted rooms left out, the notice composed
//! ([`compose`]), encrypted per subscription and signed with the server's VAPID key ([`vapid`]).
//! Endpoints are guarded against SSRF ([`endpoint`]). Counted in `banter_pushes_total` and
//! `banter_push_skipped_total`.
//!
//! Invariant: posting never waits for push: the hook does no I/O and never blocks.

pub mod batch;
pub mod compose;
pub mod deliver;
pub mod endpoint;
pub mod recipients;
pub mod vapid;

use std::sync::Arc;
use std::time::Instant;

use banter_protocol::http::PushSubscription;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use tokio::sync::{OnceCell, Semaphore, mpsc};
use tokio_util::sync::CancellationToken;

use crate::config::push::PushConfig;
use crate::hub::Hub;
use crate::hub::conversations::Members;
use crate::metrics::{self, PushSkipped};
use crate::store::{Store, StoreError, Stored};
pub use batch::Notice;
use batch::{Batch, Batches};
use deliver::Sender;
use endpoint::Endpoints;
use vapid::Vapid;

/// Deliveries (one user's batch each) in flight at most.
pub const SENDS: usize = 32;

/// The push service: cheap to clone.
#[derive(Clone)]
pub struct Push {
    inner: Arc<Shared>,
}

struct Shared {
    cfg: PushConfig,
    endpoints: Endpoints,
    store: Store,
    vapid: OnceCell<Arc<Vapid>>,
}

impl Push {
    /// Starts the worker and hooks it to `hub`'s posts. Call within a tokio runtime.
    pub fn start(cfg: &PushConfig, hub: &Hub, stop: CancellationToken) -> Self {
        let push = Push {
            inner: Arc::new(Shared {
                cfg: cfg.clone(),
                endpoints: Endpoints::new(&cfg.push_allow_endpoints),
                store: hub.store().clone(),
                vapid: OnceCell::new(),
            }),
        };
        let (tx, rx) = mpsc::channel(cfg.push_queue.max(1));
        hub.on_post(Arc::new(move |stored, members| offer(&tx, stored, members)));
        tokio::spawn(worker(push.clone(), hub.clone(), rx, stop));
        push
    }

    pub fn config(&self) -> &PushConfig {
        &self.inner.cfg
    }

    pub fn endpoints(&self) -> &Endpoints {
        &self.inner.endpoints
    }

    /// The server's VAPID key, read from the store (made there the first time) once.
    pub async fn vapid(&self) -> Result<Arc<Vapid>, StoreError> {
        let s = &self.inner;
        s.vapid
            .get_or_try_init(|| async {
                Vapid::load(&s.store, &s.cfg.push_contact)
                    .await
                    .map(Arc::new)
            })
            .await
            .cloned()
    }
}

/// Checks a subscription's keys: `p256dh` an uncompressed P-256 point, `auth` 16 bytes.
pub fn check_keys(sub: &PushSubscription) -> Result<(), String> {
    let key = URL_SAFE_NO_PAD
        .decode(sub.keys.p256dh.trim_end_matches('='))
        .map_err(|_| "keys.p256dh is not URL-safe base64")?;
    if key.len() != 65 || key[0] != 4 {
        return Err("keys.p256dh is not an uncompressed P-256 public key".into());
    }
    let auth = URL_SAFE_NO_PAD
        .decode(sub.keys.auth.trim_end_matches('='))
        .map_err(|_| "keys.auth is not URL-safe base64")?;
    if auth.len() != 16 {
        return Err("keys.auth is not 16 bytes".into());
    }
    Ok(())
}

/// The post hook: a notice per recipient, queued without waiting (see the module docs).
fn offer(tx: &mpsc::Sender<Notice>, stored: &Stored, members: Option<&Members>) {
    let Some(msg) = stored.msg() else {
        return;
    };
    if msg.deleted {
        return;
    }
    if banter_protocol::is_group(&msg.room) {
        // A group conversation: every member but the sender, found by the worker (module docs).
        let notice = Notice {
            user: String::new(),
            room: msg.room.clone(),
            from: msg.user.clone(),
            text: compose::shown_text(msg),
            mention: false,
            with: None,
        };
        if tx.try_send(notice).is_err() {
            metrics::push_skipped(PushSkipped::Dropped, 1);
        }
        return;
    }
    for r in recipients::of(msg, members) {
        let notice = Notice {
            user: r.user,
            room: msg.room.clone(),
            from: msg.user.clone(),
            text: compose::shown_text(msg),
            mention: r.mention,
            with: members.map(|_| msg.user.clone()),
        };
        if tx.try_send(notice).is_err() {
            metrics::push_skipped(PushSkipped::Dropped, 1);
        }
    }
}

/// The notices `n` stands for, each to a reader of its room only: a group conversation's (no
/// user) becomes one per member but the sender, a mention among them marked; any other goes
/// only if its user may read the room (a private room's members, no one banned: the rooms'
/// one rule, `rooms::may_read`), since a push carries a preview.
async fn readers(hub: &Hub, n: Notice) -> Vec<Notice> {
    if !n.user.is_empty() {
        let may = crate::rooms::may_read(hub, &n.user, &n.room).await.is_ok();
        return if may { vec![n] } else { Vec::new() };
    }
    let Ok(access) = hub.access(&n.room).await else {
        return Vec::new();
    };
    let named = recipients::mentioned(&n.text);
    access
        .users
        .iter()
        .filter(|(user, s)| s.role.is_some() && !s.banned && **user != n.from)
        .map(|(user, _)| Notice {
            user: user.clone(),
            mention: named.contains(user),
            ..n.clone()
        })
        .collect()
}

/// Whether `user` has a connection on this node or another.
async fn online(hub: &Hub, user: &str) -> bool {
    if hub.is_connected(user) {
        return true;
    }
    match hub.store().online_elsewhere(user).await {
        Ok(on) => on,
        Err(e) => {
            tracing::debug!(error = %e, "cannot tell whether a user is online; pushing");
            false
        }
    }
}

/// Takes notices in order, skips users who are online, batches the rest (module docs).
async fn worker(push: Push, hub: Hub, mut rx: mpsc::Receiver<Notice>, stop: CancellationToken) {
    let s = &push.inner;
    let sender = Arc::new(Sender::new(
        s.store.clone(),
        s.endpoints.clone(),
        s.cfg.push_preview_chars,
        s.cfg.push_timeout,
    ));
    let sends = Arc::new(Semaphore::new(SENDS));
    let mut batches = Batches::new(s.cfg.push_batch);
    loop {
        let due = batches.next_due();
        let wake = async {
            match due {
                Some(at) => tokio::time::sleep_until(at.into()).await,
                None => std::future::pending().await,
            }
        };
        let ready = tokio::select! {
            _ = stop.cancelled() => break,
            got = rx.recv() => {
                let Some(n) = got else { break };
                let mut ready = Vec::new();
                for n in readers(&hub, n).await {
                    if online(&hub, &n.user).await {
                        metrics::push_skipped(PushSkipped::Online, 1);
                        continue;
                    }
                    ready.extend(batches.add(n, Instant::now()));
                }
                ready
            }
            () = wake => batches.due(Instant::now()),
        };
        for batch in ready {
            let Ok(permit) = sends.clone().acquire_owned().await else {
                break;
            };
            let (push, hub, sender) = (push.clone(), hub.clone(), sender.clone());
            tokio::spawn(async move {
                send(&push, &hub, &sender, batch).await;
                drop(permit);
            });
        }
    }
}

/// Delivers one batch unless its user came online meanwhile.
async fn send(push: &Push, hub: &Hub, sender: &Sender, batch: Batch) {
    if online(hub, &batch.user).await {
        metrics::push_skipped(PushSkipped::Online, u64::from(batch.count()));
        return;
    }
    match push.vapid().await {
        Ok(vapid) => sender.deliver(&vapid, batch).await,
        Err(e) => {
            tracing::warn!(error = %e, "no VAPID key: a push was dropped");
            metrics::push(metrics::PushOutcome::Failed);
        }
    }
}
