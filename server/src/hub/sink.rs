//! What a store shared by several nodes delivers into this node: messages and presence of the
//! rooms it has loaded ([`Rooms`]) and direct messages for the names connected here ([`Users`]).

use std::sync::Arc;

use super::positions::{Origin, ReadPositions};
use super::rooms::Rooms;
use super::users::Users;
use crate::store::{Frame, Sink, Stored};

/// See the module docs.
pub struct HubSink {
    pub rooms: Arc<Rooms>,
    pub users: Arc<Users>,
    pub positions: Arc<ReadPositions>,
}

impl Sink for HubSink {
    fn publish(&self, room: &str, epoch: &str, stored: Arc<Stored>) {
        self.rooms.publish(room, epoch, stored);
    }

    fn head(&self, room: &str) -> Option<(Arc<str>, u64)> {
        self.rooms.head(room)
    }

    fn reset(&self, room: &str) -> Option<Vec<String>> {
        self.rooms.reset(room)
    }

    fn remote_presence(&self, room: &str, node: &str, name: &str, here: bool) {
        self.rooms.remote_presence(room, node, name, here);
    }

    fn sync_presence(&self, room: &str, entries: &[(String, String)]) {
        self.rooms.sync_presence(room, entries);
    }

    fn direct(&self, to: &str, room: &str, frame: Frame) {
        let joined = self.rooms.member_ids(room);
        self.users
            .deliver_except(to, &frame, |id| joined.contains(&id));
    }

    fn read(&self, user: &str, room: &str, seq: u64) {
        self.positions
            .advance(&Arc::from(user), room, seq, Origin::Remote);
    }
}
