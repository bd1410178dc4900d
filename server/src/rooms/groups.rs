//! Group conversations (v1.2): a conversation of 2 to `--max-conversation-members` people,
//! stored like a private room whose members (all with the `member` role) are the group. Its id
//! is `grp-` and 32 hex digits of SHA-256 over the sorted names, so the same people always meet
//! in the same group (as a pair does in its `dm-…` conversation, which keeps its v1.1 id).
//! A `grp-…` room that was not made here is refused: nobody can plant one before its group.

use std::fmt::Write as _;

use banter_protocol::{ErrorCode, GROUP_PREFIX, ValidationError};
use sha2::{Digest, Sha256};

/// The group of `names` (sorted and deduplicated): its id and members.
pub fn id(names: &[String]) -> String {
    let mut h = Sha256::new();
    h.update(b"group");
    for n in names {
        // Names hold no control characters: NUL separates them unambiguously.
        h.update([0u8]);
        h.update(n.as_bytes());
    }
    let digest = h.finalize();
    let mut out = String::with_capacity(GROUP_PREFIX.len() + 32);
    out.push_str(GROUP_PREFIX);
    for b in &digest[..16] {
        let _ = write!(out, "{b:02x}");
    }
    out
}

/// Checks that `room` is a well-formed group id.
pub fn valid_id(room: &str) -> Result<&str, ValidationError> {
    let hex = room.strip_prefix(GROUP_PREFIX).unwrap_or_default();
    if hex.len() == 32 && hex.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
        Ok(room)
    } else {
        Err(ValidationError {
            code: ErrorCode::InvalidRoom,
            message: "rooms named `grp-…` are group conversations: make one with POST \
                      /api/conversations"
                .into(),
        })
    }
}

/// The members of a new group: `asked` and `me`, validated, sorted, without repeats; between 2
/// and `max` of them.
pub fn members(
    limits: &banter_protocol::Limits,
    me: &str,
    asked: &[String],
    max: usize,
) -> Result<Vec<String>, ValidationError> {
    let mut names = vec![limits.name(me)?.to_owned()];
    for n in asked {
        names.push(limits.name(n)?.to_owned());
    }
    names.sort();
    names.dedup();
    if names.len() < 2 || names.len() > max {
        return Err(ValidationError {
            code: ErrorCode::BadRequest,
            message: format!(
                "a group conversation has 2 to {max} people (--max-conversation-members), \
                 you included"
            ),
        });
    }
    Ok(names)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_group_has_one_id_whoever_makes_it() {
        let limits = banter_protocol::Limits::default();
        let a = members(&limits, "ada", &["cy".into(), "bob".into()], 9).expect("ok");
        let b = members(
            &limits,
            "cy",
            &["bob".into(), "ada".into(), "ada".into()],
            9,
        )
        .expect("ok");
        assert_eq!(a, b);
        assert_eq!(id(&a), id(&b));
        assert!(valid_id(&id(&a)).is_ok());
        assert!(limits.room(&id(&a)).is_ok());
        assert!(
            members(&limits, "ada", &["ada".into()], 9).is_err(),
            "alone"
        );
        assert!(
            members(&limits, "ada", &["b".into(), "c".into()], 2).is_err(),
            "too many"
        );
        assert_eq!(valid_id("grp-x").unwrap_err().code, ErrorCode::InvalidRoom);
    }
}
