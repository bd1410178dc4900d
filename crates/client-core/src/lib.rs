//! `banter-client-core`: the rules every Banter client follows, written once, with no I/O.
//!
//! The web app (`frontend/`) and the client library for bots and scripts (`crates/client`) both
//! drive a [`Core`] with the server's frames and write out the frames it returns; each keeps only
//! what is its own (the web app its views: unread counts, typing, people; the library its
//! callers waiting for acks). The rules:
//!
//! - resume by `seq`: each room's resume point and the `epoch` it belongs to, sent with every
//!   `join` ([`Core::join_frame`], [`Core::resume`]);
//! - epoch reset: a `joined` of another epoch (or behind what we saw) drops what the room held
//!   ([`Core::joined`]); a `replay` with `complete: false` names the [`Gap`];
//! - dedupe: a replayed or repeated `message` or `change` is taken once, by `seq`
//!   ([`Core::message`], [`Core::change`], [`SeqSet`]);
//! - the fold (v1.2): edits, deletions, reactions and reply counts folded into the messages held,
//!   idempotent, never twice for a page or replay in current state ([`fold`], [`MessageStore`]);
//! - pending sends by `client_id` until their `ack`, in the order written, one in flight per room,
//!   written again after a reconnect ([`PendingSends`]); v1.2 replies, edits, deletions and
//!   reactions wait their turn the same way ([`Core::submit`], [`PendingOp`]);
//! - reconnect backoff with jitter, one set of constants ([`backoff`]).
//!
//! Time and randomness come in as parameters ([`Jitter`] is seeded by the caller), so the crate
//! builds for `wasm32-unknown-unknown` and every rule is tested exactly.

pub mod backoff;
mod core;
pub mod fold;
mod members;
mod pending;
mod room;
mod seqset;
mod store;

pub use backoff::{Backoff, Jitter, Reconnect};
pub use core::{Acked, Changed, Core, Joined};
pub use members::Membership;
pub use pending::{PendingOp, PendingSend, PendingSends, PendingState};
pub use room::{Gap, RoomSync};
pub use seqset::SeqSet;
pub use store::{KEEP_PER_ROOM, MessageStore};

#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_fold;
