//! Join/leave lines collapsed as Slack does: the joins and leaves between two messages become
//! one quiet line ("ada and bob joined · carol left"), and a leave undone by a join (a reload)
//! or a join undone by a leave (a quick visit) says nothing at all.

use super::PresenceLine;

/// One collapsed line, shown after the message `after_seq`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PresenceSummary {
    pub after_seq: u64,
    /// The key of its first event (unique within the room, for keyed view lists).
    pub key: u64,
    pub text: String,
}

/// The lines to show for `events` (oldest first): one per run of events after the same message,
/// with each person's net change; runs that change nothing are left out.
pub fn summarize(events: &[PresenceLine]) -> Vec<PresenceSummary> {
    let mut out = Vec::new();
    for run in events.chunk_by(|a, b| a.after_seq == b.after_seq) {
        // Per person: (joined first, joined last), in the order they first appear.
        let mut people: Vec<(&str, bool, bool)> = Vec::new();
        for e in run {
            match people.iter_mut().find(|(u, _, _)| *u == e.user) {
                Some(p) => p.2 = e.joined,
                None => people.push((&e.user, e.joined, e.joined)),
            }
        }
        let net = |joined: bool| -> Vec<&str> {
            people
                .iter()
                .filter(|(_, first, last)| first == last && *last == joined)
                .map(|(u, _, _)| *u)
                .collect()
        };
        let parts: Vec<String> = [(net(true), "joined"), (net(false), "left")]
            .into_iter()
            .filter(|(names, _)| !names.is_empty())
            .map(|(names, what)| format!("{} {what}", list(&names)))
            .collect();
        if !parts.is_empty() {
            out.push(PresenceSummary {
                after_seq: run[0].after_seq,
                key: run[0].key,
                text: parts.join(" · "),
            });
        }
    }
    out
}

/// "ada", "ada and bob", "ada, bob and cy", "ada, bob and 3 others".
fn list(names: &[&str]) -> String {
    match names {
        [] => String::new(),
        [one] => (*one).to_string(),
        [a, b] => format!("{a} and {b}"),
        [a, b, c] => format!("{a}, {b} and {c}"),
        [a, b, rest @ ..] => format!("{a}, {b} and {} others", rest.len()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    fn line(after_seq: u64, user: &str, joined: bool, key: u64) -> PresenceLine {
        PresenceLine {
            after_seq,
            user: user.into(),
            joined,
            key,
        }
    }

    fn texts(events: &[PresenceLine]) -> Vec<(u64, String)> {
        summarize(events)
            .into_iter()
            .map(|s| (s.after_seq, s.text))
            .collect()
    }

    #[test]
    fn a_run_between_two_messages_is_one_line() {
        let events = [
            line(2, "ada", true, 1),
            line(2, "bob", true, 2),
            line(2, "cy", false, 3),
            line(5, "dee", true, 4),
        ];
        assert_eq!(
            texts(&events),
            [
                (2, "ada and bob joined · cy left".to_string()),
                (5, "dee joined".to_string())
            ]
        );
    }

    #[test]
    fn a_reload_or_a_quick_visit_says_nothing() {
        let events = [
            line(7, "ada", false, 1),
            line(7, "ada", true, 2),
            line(7, "bob", true, 3),
            line(7, "bob", false, 4),
        ];
        assert!(summarize(&events).is_empty());
    }

    #[test]
    fn many_names_are_counted() {
        let events: Vec<PresenceLine> = ["a", "b", "c", "d", "e"]
            .iter()
            .enumerate()
            .map(|(i, u)| line(1, u, true, i as u64))
            .collect();
        assert_eq!(
            texts(&events),
            [(1, "a, b and 3 others joined".to_string())]
        );
    }
}
