//! What a push says: a [`Batch`] (already without muted rooms) turned into the [`PushNotice`]
//! the service worker shows. With previews on: who wrote and the start of the newest message;
//! with previews off (the user's setting): only the room (or the other person of a
//! conversation), how many messages and whether one mentioned them.

use banter_protocol::http::PushNotice;

use super::batch::{Batch, RoomBatch};

/// What a push's preview shows of `msg`: its text, or for a message of files alone, the file.
pub fn shown_text(msg: &banter_protocol::ChatMessage) -> String {
    match (msg.text.is_empty(), msg.files.as_slice()) {
        (true, [one]) => format!("📎 {}", one.name),
        (true, [_, _, ..]) => format!("📎 {} files", msg.files.len()),
        _ => msg.text.clone(),
    }
}

/// How a room is named in a push: `#dev`, or the other person for a conversation.
fn label(r: &RoomBatch) -> String {
    match &r.last.with {
        Some(with) => with.clone(),
        None => format!("#{}", r.last.room),
    }
}

/// The first `max` characters of `text`, with `…` when cut.
fn cut(text: &str, max: usize) -> String {
    let mut out: String = text.chars().take(max).collect();
    if text.chars().nth(max).is_some() {
        out.push('…');
    }
    out
}

/// The notice for `batch` (`None` when it is empty).
pub fn notice(batch: &Batch, previews: bool, preview_chars: usize) -> Option<PushNotice> {
    let newest = batch.rooms.iter().max_by_key(|r| r.order)?;
    let count = batch.count();
    let mention = batch.rooms.iter().any(|r| r.mention);
    let title = if count == 1 {
        label(newest)
    } else if batch.rooms.len() == 1 && batch.others == 0 {
        match &newest.last.with {
            Some(with) => format!("{count} new messages from {with}"),
            None => format!("{count} new messages in {}", label(newest)),
        }
    } else {
        let mut rooms: Vec<&RoomBatch> = batch.rooms.iter().collect();
        rooms.sort_by_key(|r| std::cmp::Reverse(r.order));
        let names: Vec<String> = rooms.iter().take(3).map(|r| label(r)).collect();
        let more = batch.rooms.len().saturating_sub(3) + usize::from(batch.others > 0);
        let tail = if more > 0 {
            format!(" and {more} more")
        } else {
            String::new()
        };
        format!("{count} new messages in {}{tail}", names.join(", "))
    };
    let last = &newest.last;
    let body = match (previews, &last.with) {
        (true, Some(_)) => cut(&last.text, preview_chars),
        (true, None) => format!("{}: {}", last.from, cut(&last.text, preview_chars)),
        (false, _) if mention => "You were mentioned".to_owned(),
        (false, _) if count == 1 => "1 new message".to_owned(),
        (false, _) => format!("{count} new messages"),
    };
    Some(PushNotice {
        room: last.room.clone(),
        title,
        body,
        count,
        mention,
        with: last.with.clone(),
    })
}

#[cfg(test)]
mod tests {
    use super::super::batch::{Batches, Notice};
    use super::*;
    use std::time::{Duration, Instant};

    fn n(room: &str, text: &str, with: Option<&str>) -> Notice {
        Notice {
            user: "bob".into(),
            room: room.into(),
            from: "ada".into(),
            text: text.into(),
            mention: text.contains("@bob"),
            with: with.map(str::to_owned),
        }
    }

    fn batch(notices: Vec<Notice>) -> Batch {
        let t0 = Instant::now();
        let mut b = Batches::new(Duration::from_secs(1));
        let mut first = Some(Batch::default());
        for x in notices {
            if let Some(now) = b.add(x, t0) {
                first = Some(now);
            }
        }
        let mut rest = b.due(t0 + Duration::from_secs(1));
        rest.pop().or(first).unwrap()
    }

    #[test]
    fn a_message_of_files_alone_shows_the_file() {
        let file = banter_protocol::FileInfo {
            id: "f1".into(),
            name: "screenshot.png".into(),
            size: 10,
            content_type: "image/png".into(),
            width: None,
            height: None,
        };
        let mut m = banter_protocol::ChatMessage {
            files: vec![file.clone()],
            ..Default::default()
        };
        assert_eq!(shown_text(&m), "📎 screenshot.png");
        m.files.push(file);
        assert_eq!(shown_text(&m), "📎 2 files");
        m.text = "see".into();
        assert_eq!(shown_text(&m), "see");
    }

    #[test]
    fn one_message_with_and_without_preview() {
        let b = batch(vec![n("dev", "hi @bob, the build is red", None)]);
        let p = notice(&b, true, 10).unwrap();
        assert_eq!(
            (p.title.as_str(), p.body.as_str()),
            ("#dev", "ada: hi @bob, t…")
        );
        assert!(p.mention);
        let p = notice(&b, false, 10).unwrap();
        assert_eq!(p.body, "You were mentioned");
        assert!(!p.body.contains("build"));
    }

    #[test]
    fn many_messages_are_counted_by_room() {
        let mut all = vec![n("dev", "0", None)];
        all.extend((1..=5).map(|i| n("dev", &i.to_string(), None)));
        let b = batch(all);
        let p = notice(&b, true, 50).unwrap();
        assert_eq!(p.title, "5 new messages in #dev");
        assert_eq!(p.body, "ada: 5");
        let b = batch(vec![
            n("x", "first", None),
            n("dm-1", "a", Some("ada")),
            n("ops", "b", None),
        ]);
        let p = notice(&b, false, 50).unwrap();
        assert_eq!(p.title, "2 new messages in #ops, ada");
        assert_eq!(p.room, "ops");
    }
}
