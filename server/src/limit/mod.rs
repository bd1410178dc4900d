//! Abuse limits that are not about a single room or message: what an error may echo
//! ([`echo`]), connections per client address ([`per_ip`]: WebSockets, and raw TCP sockets at
//! accept), the HTTP request rate per address and per token ([`http_rate`]), who the client is
//! behind a reverse proxy ([`proxy`]), store reads for joins and replays in flight ([`reads`])
//! and rooms per client address ([`rooms_per_ip`]). Each has a flag (see `config.rs`) and a line in
//! `docs/security.md` saying what it defends.

pub mod echo;
pub mod http_rate;
pub mod per_ip;
pub mod proxy;
pub mod reads;
pub mod rooms_per_ip;
