//! Flags of private rooms and group conversations (v1.2, issue 18).

/// See the module docs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::Args)]
pub struct RoomsConfig {
    /// The most people in a group conversation (`POST /api/conversations`), its maker
    /// included; at least 2.
    #[arg(long, env = "BANTER_MAX_CONVERSATION_MEMBERS", default_value_t = 9,
          value_parser = clap::value_parser!(u32).range(2..))]
    pub max_conversation_members: u32,
}

impl Default for RoomsConfig {
    fn default() -> Self {
        RoomsConfig {
            max_conversation_members: 9,
        }
    }
}
