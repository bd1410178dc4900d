//! Who a stored message may push to: the other member of a private conversation, and the
//! users it mentions (`@name`) in a room they may read. `@here` and `@everyone` push to nobody
//! (they would wake a whole room); the sender never pushes to themselves.
//!
//! Invariant: a push carries a preview of the text, so it goes only to someone who may read
//! the message: in a conversation its two members only (a mention of a third person there
//! pushes nothing); in a room, the people it names (the worker then keeps only those who may
//! read the room: `push::readers`); a group conversation's members are found by the worker.

use banter_protocol::ChatMessage;

use crate::hub::conversations::Members;

/// Mentions in one message that push at most (the rest are ignored).
pub const MAX_MENTIONS: usize = 8;

/// Names that address everyone: they do not push.
const EVERYONE: [&str; 2] = ["here", "everyone"];

/// One user to consider for a push of `msg`, and whether it mentions them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recipient {
    pub user: String,
    pub mention: bool,
}

/// The users `msg` may push to (see the module docs), each once.
pub fn of(msg: &ChatMessage, members: Option<&Members>) -> Vec<Recipient> {
    let named = mentioned(&msg.text);
    let mut out: Vec<Recipient> = Vec::new();
    if let Some(m) = members {
        let other = m.other(&msg.user);
        if **other != *msg.user {
            out.push(Recipient {
                user: other.to_string(),
                mention: named.iter().any(|n| **n == **other),
            });
        }
        return out;
    }
    for name in named {
        if name != msg.user {
            out.push(Recipient {
                user: name,
                mention: true,
            });
        }
    }
    out
}

/// Part of a name after `@` (the web app's rule in `frontend/src/markup.rs`).
fn is_word(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_' || c == '-' || (!c.is_ascii() && !c.is_whitespace())
}

/// The distinct names `text` mentions (`@name` not preceded by part of a word), at most
/// [`MAX_MENTIONS`], without `@here` and `@everyone`.
pub fn mentioned(text: &str) -> Vec<String> {
    let mut names: Vec<String> = Vec::new();
    let mut prev: Option<char> = None;
    let mut chars = text.char_indices().peekable();
    while let Some((at, c)) = chars.next() {
        if c == '@' && prev.is_none_or(|p| !is_word(p)) {
            let start = at + 1;
            let mut end = start;
            while let Some(&(i, n)) = chars.peek() {
                if !is_word(n) {
                    break;
                }
                end = i + n.len_utf8();
                chars.next();
            }
            let name = &text[start..end];
            let everyone = EVERYONE.iter().any(|e| name.eq_ignore_ascii_case(e));
            if !name.is_empty() && !everyone && !names.iter().any(|n| n == name) {
                names.push(name.to_owned());
                if names.len() == MAX_MENTIONS {
                    break;
                }
            }
            prev = text[..end].chars().next_back();
            continue;
        }
        prev = Some(c);
    }
    names
}

#[cfg(test)]
mod tests {
    use super::*;

    fn msg(room: &str, user: &str, text: &str) -> ChatMessage {
        ChatMessage {
            room: room.into(),
            user: user.into(),
            text: text.into(),
            ..ChatMessage::default()
        }
    }

    #[test]
    fn mentions_are_names_after_an_at_sign() {
        assert_eq!(
            mentioned("hi @ada and @bob-2, @ada again"),
            ["ada", "bob-2"]
        );
        assert_eq!(mentioned("mail me at x@ada.org"), Vec::<String>::new());
        assert_eq!(mentioned("@here @everyone @ "), Vec::<String>::new());
        assert_eq!(mentioned("@zoë!"), ["zoë"]);
    }

    #[test]
    fn a_room_pushes_to_the_mentioned_and_a_conversation_to_the_other_member() {
        let r = of(&msg("dev", "ada", "@bob @ada look"), None);
        assert_eq!(
            r,
            [Recipient {
                user: "bob".into(),
                mention: true
            }]
        );
        let m = Members::new("ada", "bob");
        let r = of(&msg("dm-x", "ada", "hello @cy"), Some(&m));
        assert_eq!(
            r,
            [Recipient {
                user: "bob".into(),
                mention: false
            }]
        );
        let me = Members::new("ada", "ada");
        assert!(of(&msg("dm-y", "ada", "note to self"), Some(&me)).is_empty());
    }
}
