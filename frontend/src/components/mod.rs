//! The views, one component per file. They read the [`crate::socket::Chat`] context and never
//! touch the socket themselves.

mod account;
mod admin;
mod attachments;
mod bubble;
mod composer;
mod connection_status;
mod edit_box;
mod file_view;
mod header;
mod message_list;
mod msg_actions;
pub mod msg_ui;
mod name_prompt;
mod notices;
mod pending_bubble;
mod reactions;
mod rich_text;
mod room_switcher;
mod search_box;
mod sidebar;
mod sign_in;
mod skip_link;
mod thread_pane;
mod typing_line;

pub use account::{AccountMenu, PasswordSignIn, SignUp};
pub use admin::AdminPanel;
pub use bubble::Bubble;
pub use composer::Composer;
pub use connection_status::ConnectionStatus;
pub use header::Header;
pub use message_list::MessageList;
pub use name_prompt::NamePrompt;
pub use notices::Notices;
pub use pending_bubble::PendingBubble;
pub use room_switcher::RoomSwitcher;
pub use search_box::SearchBox;
pub use sidebar::Sidebar;
pub use sign_in::SignIn;
pub use skip_link::SkipLink;
pub use thread_pane::ThreadPane;
pub use typing_line::TypingLine;
