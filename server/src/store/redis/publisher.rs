//! Posting: [`LANES`] tasks send posts to Redis, each in the order they were appended to it,
//! many per round trip. A room always goes to the same lane (by a hash of its id), so a room's
//! posts are sequenced in the order they were sent, while other rooms' pipelines are in flight
//! at the same time on the same multiplexed connection.
//!
//! Appends queue on a bounded channel per lane (`--store-queue` in all; a full queue refuses
//! with `busy`). A lane's task takes everything queued (up to [`BATCH`]), sends it as one
//! pipeline with one EVALSHA per room ([`post::call`]: a room's posts of the batch stored by
//! one script run), and completes each append in order once Redis answered (a task per post
//! could reorder a room's posts), so a busy node pays one round trip per batch, not per
//! message: the same group commit as the SQLite writer. Each pipeline opens with the
//! refresh of the life of Redis's data ([`life`]), so a post never runs in a restarted Redis
//! before its life is decided. After a Redis restart the script is gone (NOSCRIPT, nothing
//! ran): it is loaded and the batch sent again. A failed round trip, or a room's script run
//! that failed, fails its posts with `unavailable`; one that Redis did run anyway (a reply
//! lost, or the posts before a failure inside a run) is found by its `client_id` when the
//! client re-sends it.

use super::conn::Conn;
use redis::{ErrorKind, RedisResult, Script, ServerErrorKind};
use tokio::sync::mpsc;

use super::life::{self, Durable};
use super::post::{self, Post};
use super::reads::unavailable;
use crate::store::{AppendDone, Appended, ChangeLimits, Refusal, StoreError, Stored};

/// Posts sent in one pipeline at most.
const BATCH: usize = 256;

/// Pipelines in flight at once per node and Redis at most (one per lane).
const LANES: usize = 4;

/// One post: its script call's keys and arguments, and its completion.
pub struct Job {
    pub post: Post,
    pub done: AppendDone,
}

/// The sending side; see the module docs.
pub struct Publisher {
    lanes: Vec<mpsc::Sender<Job>>,
}

impl Publisher {
    /// Starts the lanes' tasks on `runtime`.
    pub fn start(
        runtime: &tokio::runtime::Handle,
        conn: Conn,
        script: Script,
        queue: usize,
        durable: Durable,
    ) -> Self {
        let lanes = (0..LANES)
            .map(|_| {
                let (tx, rx) = mpsc::channel(queue.div_ceil(LANES).max(1));
                runtime.spawn(run(rx, conn.clone(), script.clone(), durable.clone()));
                tx
            })
            .collect();
        Publisher { lanes }
    }

    /// Queues a post on the lane of `room` (a hash of the room's id), or refuses it at once
    /// when that lane's queue is full or its task is gone.
    pub fn send(&self, job: Job, room: u64) {
        match self.lanes[((room >> 29) % LANES as u64) as usize].try_send(job) {
            Ok(()) => {}
            Err(mpsc::error::TrySendError::Full(job)) => (job.done)(Err(StoreError::Busy)),
            Err(mpsc::error::TrySendError::Closed(job)) => {
                (job.done)(Err(StoreError::failed("the Redis publisher has stopped")))
            }
        }
    }
}

async fn run(mut rx: mpsc::Receiver<Job>, mut conn: Conn, script: Script, durable: Durable) {
    let mut batch = Vec::with_capacity(BATCH);
    while rx.recv_many(&mut batch, BATCH).await > 0 {
        let (posts, dones): (Vec<Post>, Vec<AppendDone>) =
            batch.drain(..).map(|j| (j.post, j.done)).unzip();
        let results = send(&mut conn, &script, &durable, &posts).await;
        for (done, result) in dones.into_iter().zip(results) {
            done(result);
        }
    }
}

type Reply = (String, String, String);

/// `posts` by room: each room's indexes in `posts`, in order, rooms in order of first post.
fn by_room(posts: &[Post], pending: &[usize]) -> Vec<Vec<usize>> {
    let mut rooms: Vec<Vec<usize>> = Vec::new();
    for &i in pending {
        match rooms.iter_mut().find(|g| posts[g[0]].room == posts[i].room) {
            Some(g) => g.push(i),
            None => rooms.push(vec![i]),
        }
    }
    rooms
}

/// Sends `posts` as one pipeline, after the life's refresh (see [`life`]: the posts read the
/// life it records, in this Redis process); one result per post, in order.
async fn send(
    conn: &mut Conn,
    script: &Script,
    durable: &Durable,
    posts: &[Post],
) -> Vec<Result<Appended, StoreError>> {
    let mut results: Vec<Option<Result<Appended, StoreError>>> =
        posts.iter().map(|_| None).collect();
    for attempt in 0..2 {
        let pending: Vec<usize> = (0..posts.len()).filter(|i| results[*i].is_none()).collect();
        let rooms = by_room(posts, &pending);
        let mut pipe = redis::pipe();
        pipe.ignore_errors();
        pipe.add_command(life::refresh(durable)).ignore();
        for room in &rooms {
            let batch: Vec<&Post> = room.iter().map(|&i| &posts[i]).collect();
            pipe.add_command(post::call(script.get_hash(), &batch));
        }
        let replies: Vec<RedisResult<Vec<Reply>>> = match pipe.query_async(conn).await {
            Ok(r) => r,
            Err(e) => {
                let e = unavailable(e);
                return fill(results, &e);
            }
        };
        let mut missing_script = false;
        for (room, reply) in rooms.iter().zip(replies) {
            match reply {
                Err(e) if attempt == 0 && no_script(&e) => missing_script = true,
                Err(e) => {
                    let e = unavailable(e);
                    room.iter().for_each(|&i| results[i] = Some(Err(e.clone())));
                }
                Ok(each) if each.len() == room.len() => {
                    for (&i, one) in room.iter().zip(each) {
                        results[i] = Some(appended(one));
                    }
                }
                Ok(_) => {
                    let e = StoreError::failed("the post script answered a batch short");
                    room.iter().for_each(|&i| results[i] = Some(Err(e.clone())));
                }
            }
        }
        if !missing_script {
            break;
        }
        if let Err(e) = script.load_async(conn).await {
            return fill(results, &unavailable(e));
        }
    }
    fill(results, &StoreError::failed("the post script did not run"))
}

fn no_script(e: &redis::RedisError) -> bool {
    e.kind() == ErrorKind::Server(ServerErrorKind::NoScript)
}

/// The results, with `e` for every job still without one.
fn fill(
    results: Vec<Option<Result<Appended, StoreError>>>,
    e: &StoreError,
) -> Vec<Result<Appended, StoreError>> {
    results
        .into_iter()
        .map(|r| r.unwrap_or_else(|| Err(e.clone())))
        .collect()
}

/// The post script's reply as a completed append (or a refused change or reply, v1.2).
fn appended((epoch, flag, json): Reply) -> Result<Appended, StoreError> {
    if flag == "e" {
        return Err(StoreError::Refused(refusal(&json)));
    }
    Ok(Appended {
        stored: Stored::new(super::script::decode(&json)?),
        epoch: epoch.into(),
        duplicate: flag == "1",
        noop: flag == "2",
    })
}

/// The post script's refusal (see `lifecycle.lua`) as the store's.
fn refusal(code: &str) -> Refusal {
    let limits = ChangeLimits::default();
    match code {
        "forbidden_edit" => Refusal::Forbidden("only its author may edit a message"),
        "forbidden_delete" => {
            Refusal::Forbidden("only its author (or a moderator) may delete a message")
        }
        "limit_edits" => Refusal::Limit(format!(
            "the message was edited as many times as allowed (--max-edits, {} by default)",
            limits.edits
        )),
        "limit_reactions" => Refusal::Limit(format!(
            "the message holds as many reactions as allowed (--max-reactions, {} by default)",
            limits.reactions
        )),
        _ => Refusal::NotFound,
    }
}
