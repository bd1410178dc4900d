//! The quick switcher's rules in plain Rust (no DOM): Ctrl/Cmd+K lists the rooms and people
//! whose name matches what is typed, before the messages the search finds. The view is
//! `components/switcher.rs`.
//!
//! A name matches when it contains the typed text, ignoring ASCII case (room names are ASCII;
//! ASCII folding keeps Unicode's case tables out of the WASM). Names that start with it come
//! first, then the shorter ones. `#ops` looks for rooms only, `@ada` for people only.

/// How many rooms and people the switcher lists at most.
pub const MAX_TARGETS: usize = 8;

/// Where the switcher can take the user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// A room: open it (joining it when it is not one of the user's yet).
    Room(String),
    /// A person: open the conversation with them.
    Person(String),
}

impl Target {
    /// A stable key for keyed lists and tests.
    pub fn key(&self) -> String {
        match self {
            Target::Room(r) => format!("#{r}"),
            Target::Person(p) => format!("@{p}"),
        }
    }
}

/// How well `name` matches `typed` (already lowercase): `None` when it does not.
fn rank(name: &str, typed: &str) -> Option<(u8, usize)> {
    let name = name.to_ascii_lowercase();
    if name.starts_with(typed) {
        Some((0, name.len()))
    } else if name.contains(typed) {
        Some((1, name.len()))
    } else {
        None
    }
}

/// The best matches of `names` for `typed`, best first, each once.
fn best<'a>(names: impl Iterator<Item = &'a String>, typed: &str) -> Vec<String> {
    let mut found: Vec<((u8, usize), &String)> = names
        .filter_map(|n| rank(n, typed).map(|r| (r, n)))
        .collect();
    found.sort_unstable();
    found.dedup_by(|a, b| a.1 == b.1);
    found.into_iter().map(|(_, n)| n.clone()).collect()
}

/// The rooms, then the people, whose name matches `typed` (at most [`MAX_TARGETS`] in all;
/// nothing for empty text). `me` is never offered as a person.
pub fn targets(typed: &str, rooms: &[String], people: &[String], me: Option<&str>) -> Vec<Target> {
    let typed = typed.trim().to_ascii_lowercase();
    let (text, want_rooms, want_people) = match typed.chars().next() {
        Some('#') => (&typed[1..], true, false),
        Some('@') => (&typed[1..], false, true),
        _ => (typed.as_str(), true, true),
    };
    if text.is_empty() || text.contains(char::is_whitespace) {
        return Vec::new();
    }
    let mut out = Vec::new();
    if want_rooms {
        out.extend(best(rooms.iter(), text).into_iter().map(Target::Room));
    }
    if want_people {
        let others = people.iter().filter(|p| Some(p.as_str()) != me);
        out.extend(best(others, text).into_iter().map(Target::Person));
    }
    out.truncate(MAX_TARGETS);
    out
}

#[cfg(test)]
mod tests {
    use super::{Target, targets};

    fn names(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn rooms_then_people_prefix_matches_first() {
        let rooms = names(&["lobby", "devops", "ops", "design"]);
        let people = names(&["opal", "ada", "bob"]);
        let found = targets("Op", &rooms, &people, Some("ada"));
        assert_eq!(
            found,
            vec![
                Target::Room("ops".into()),
                Target::Room("devops".into()),
                Target::Person("opal".into()),
            ]
        );
        assert_eq!(targets("#op", &rooms, &people, None).len(), 2);
        assert_eq!(
            targets("@a", &rooms, &people, Some("ada")),
            vec![Target::Person("opal".into())]
        );
        assert!(targets("", &rooms, &people, None).is_empty());
        assert!(targets("two words", &rooms, &people, None).is_empty());
    }
}
