//! A post as the post script's call: its keys and arguments ([`Post`]), and the call that
//! stores several posts of one room at once ([`call`]).
//!
//! One room's posts queued together go to Redis as one EVALSHA (`batch.lua` runs the post body
//! once per post, in order): the script's fixed cost, the room's commit-stream entry and the
//! PUBLISH are paid once per batch instead of once per post, which is most of Redis's CPU per
//! message when a room is busy. The first post's keys and arguments are laid out exactly as
//! `script.rs` documents for one post, so a batch of one is the plain call; each further post
//! adds its dedupe key after the 11 keys, and its arguments after the count: [`PLAIN`]'s for a
//! plain append, else [`PER_POST`]'s, each behind a one-letter form.

use redis::Cmd;

use super::keys::{self, Keys};
use super::life;
use super::script::{self, Template};
use crate::store::NewMessage;

/// The post script's keys per call (see `script.rs`).
const KEYS: usize = 11;

/// The post script's arguments per call (see `script.rs` and `lifecycle.lua`).
const ARGS: usize = 19;

/// The 1-based ARGV slot of the v1.2 mode (`''`, `reply` or `change`).
const MODE: usize = 10;

/// The 1-based ARGV slots that differ between two posts of one room (the rest are the room's
/// or the server's): `batch.lua` lists the same slots (form `f`).
const PER_POST: [usize; 13] = [1, 2, 4, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18];

/// The slots a plain append (no reply, no change to check: mode `''`) needs (form `p`): its
/// template, dedupe window and time. Every argument is a Redis object and a Lua string to
/// make, so a plain post sends 5 values instead of 14.
const PLAIN: [usize; 4] = [1, 2, 4, 9];

/// One post's keys and arguments, as for a call of its own.
pub struct Post {
    pub room: std::sync::Arc<str>,
    keys: [String; KEYS],
    argv: [String; ARGS],
}

/// The settings every post's call carries.
pub struct Shape {
    pub retain: u64,
    pub window_ms: u64,
    pub node_bound: u64,
}

impl Post {
    /// The call for `msg`.
    pub fn new(msg: &NewMessage, template: Template, shape: &Shape) -> Self {
        let keys = Keys::new(&msg.room);
        let window_ms = if msg.dedupe_key.is_some() {
            shape.window_ms
        } else {
            0
        };
        let (a, b) = msg.members.as_ref().map_or(("", ""), |(a, b)| (&**a, &**b));
        let (a_set, b_set) = match &msg.members {
            Some(_) => (keys::conversations_of(a), keys::conversations_of(b)),
            None => (keys.members.clone(), keys.members.clone()),
        };
        let life = lifecycle(msg);
        let dedupe = keys.dedupe(msg.dedupe_key.as_deref().unwrap_or(""));
        Post {
            room: msg.room.clone(),
            argv: [
                template.prefix,
                template.suffix,
                shape.retain.to_string(),
                window_ms.to_string(),
                msg.room.to_string(),
                keys.channel.clone(),
                a.to_owned(),
                b.to_owned(),
                template.ts.to_string(),
                life[0].clone(),
                life[1].clone(),
                life[2].clone(),
                msg.user.to_string(),
                life[3].clone(),
                msg.text.clone(),
                life[4].clone(),
                life[5].clone(),
                life[6].clone(),
                shape.node_bound.to_string(),
            ],
            keys: [
                keys.seq,
                keys.epoch,
                keys.stream,
                dedupe,
                keys::ROOMS.to_owned(),
                keys.members,
                a_set,
                b_set,
                life::LIFE.to_owned(),
                keys.fold,
                keys.edits,
            ],
        }
    }
}

/// The EVALSHA storing `posts` (one room's, in order; not empty) in one script run.
pub fn call(hash: &str, posts: &[&Post]) -> Cmd {
    let (first, rest) = posts.split_first().expect("a batch has a post");
    let mut cmd = redis::cmd("EVALSHA");
    cmd.arg(hash).arg(KEYS + rest.len());
    for k in &first.keys {
        cmd.arg(k);
    }
    for p in rest {
        cmd.arg(&p.keys[3]);
    }
    for a in &first.argv {
        cmd.arg(a);
    }
    cmd.arg(posts.len());
    for p in rest {
        let (form, slots): (&str, &[usize]) = if p.argv[MODE - 1].is_empty() {
            ("p", &PLAIN)
        } else {
            ("f", &PER_POST)
        };
        cmd.arg(form);
        for slot in slots {
            cmd.arg(&p.argv[slot - 1]);
        }
    }
    cmd
}

/// The v1.2 arguments (see `lifecycle.lua`): mode, target, kind, emoji, the edit limit, the
/// reaction limit and whether the user may delete anyone's message.
fn lifecycle(msg: &NewMessage) -> [String; 7] {
    let (mode, target) = match (&msg.change, msg.reply_to) {
        // A moderation entry is appended as it is: it changes no message.
        (Some(c), _) if c.kind.is_moderation() => ("", 0),
        (Some(c), _) => ("change", c.target),
        (None, Some(parent)) => ("reply", parent),
        (None, None) => ("", 0),
    };
    let c = msg.change.as_ref();
    [
        mode.to_owned(),
        target.min(script::MAX_BOUND).to_string(),
        c.map_or("", |c| c.kind.as_str()).to_owned(),
        c.and_then(|c| c.emoji.as_deref()).unwrap_or("").to_owned(),
        c.map_or(0, |c| c.limits.edits).to_string(),
        c.map_or(0, |c| c.limits.reactions).to_string(),
        if c.is_some_and(|c| c.moderator) {
            "1"
        } else {
            "0"
        }
        .to_owned(),
    ]
}
