//! A v1.2 `send` with `files`: in a room the connection joined (so it may read and post
//! there), each id must name a file uploaded to that room ([`Files::for_message`], a store
//! read, so it runs as a task of its own); then the message is stored with the files' objects
//! through [`Hub::post_files`] and acked like any `send`.
//!
//! [`Files::for_message`]: crate::files::Files::for_message
//! [`Hub::post_files`]: crate::hub::Hub::post_files

use banter_protocol::{ErrorCode, ServerMsg, ValidationError};

use super::conn::{Conn, answer_send};
use crate::error::ApiError;

impl Conn {
    pub(super) fn on_send_files(
        &mut self,
        room: String,
        text: String,
        client_id: Option<String>,
        reply_to: Option<u64>,
        ids: Vec<String>,
    ) -> Result<(), ValidationError> {
        self.joined(&room)?;
        let Some(files) = self.hub.files().cloned() else {
            return Err(ValidationError {
                code: ErrorCode::BadRequest,
                message: "this server keeps no files".into(),
            });
        };
        let name = self.name.clone().unwrap_or_default();
        let (hub, peer) = (self.hub.clone(), self.peer.clone());
        tokio::spawn(async move {
            let refuse = |code, message| {
                peer.send(&ServerMsg::error(code, message, client_id.clone()));
            };
            let infos = match files.for_message(&room, &ids).await {
                Ok(i) => i,
                Err(e) => {
                    let e = ApiError::from(e);
                    return refuse(e.code(), e.to_string());
                }
            };
            let (p, r, cid) = (peer.clone(), room.clone(), client_id.clone());
            let posted = hub.post_files(
                &room,
                &name,
                &text,
                client_id.as_deref(),
                reply_to,
                infos,
                move |result| answer_send(&p, r, cid, result),
            );
            if let Err(e) = posted {
                refuse(e.code, e.message);
            }
        });
        Ok(())
    }
}
