//! A long-press on a touch screen opens a message's actions: iOS Safari sends no `contextmenu`
//! for one. A finger resting [`LONG_PRESS_MS`] on the message opens them; a move (a scroll),
//! a lift or a cancel before then is something else and stops the timer.

use std::time::Duration;

use leptos::prelude::*;

/// How long a finger must rest on a message to open its actions, in milliseconds.
pub const LONG_PRESS_MS: u64 = 500;

/// One message's long-press timer.
#[derive(Clone, Copy)]
pub struct LongPress {
    timer: StoredValue<Option<TimeoutHandle>>,
    /// The current press opened the actions (the `contextmenu` and the tap that some browsers
    /// send after it are its own, not new requests).
    fired: StoredValue<bool>,
}

impl LongPress {
    /// A timer, not running.
    pub fn new() -> Self {
        LongPress {
            timer: StoredValue::new(None),
            fired: StoredValue::new(false),
        }
    }

    /// A finger came down: `open` runs once it has rested [`LONG_PRESS_MS`].
    pub fn start(self, open: impl FnOnce() + 'static) {
        self.cancel();
        self.fired.set_value(false);
        let fired = self.fired;
        let handle = set_timeout_with_handle(
            move || {
                fired.set_value(true);
                open();
            },
            Duration::from_millis(LONG_PRESS_MS),
        );
        self.timer.set_value(handle.ok());
    }

    /// The finger moved (a scroll) or the touch was cancelled: no long-press.
    pub fn cancel(self) {
        if let Some(handle) = self.timer.try_update_value(Option::take).flatten() {
            handle.clear();
        }
    }

    /// The finger lifted; returns whether this press opened the actions (then the lift is not
    /// a tap). The next press starts afresh.
    pub fn end(self) -> bool {
        self.cancel();
        self.fired.try_update_value(std::mem::take).unwrap_or(false)
    }

    /// Whether the current press already opened the actions.
    pub fn fired(self) -> bool {
        self.fired.get_value()
    }
}
