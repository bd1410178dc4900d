//! The flag of users' stored room lists (`GET`/`PUT`/`DELETE /api/me/rooms`, issue 17).

/// `--max-rooms-per-user`.
#[derive(Debug, Clone, clap::Args)]
pub struct RoomListConfig {
    /// Rooms one user's stored room list holds at most; putting one more on it is refused.
    #[arg(long, env = "BANTER_MAX_ROOMS_PER_USER", default_value_t = 1000)]
    pub max_rooms_per_user: usize,
}
