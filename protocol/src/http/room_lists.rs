//! The user's room list (v1.2, additive): the rooms on their sidebar, kept by the server so that
//! every device shows the same ones.

use serde::{Deserialize, Serialize};

/// Answer of `GET /api/me/rooms`: the rooms the caller is in, in the order they joined them.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MyRooms {
    pub rooms: Vec<String>,
}
