//! `--trusted-proxy`: who the client is when Banter sits behind a reverse proxy.
//!
//! Without it every request's client is the TCP peer, so behind nginx every user is `127.0.0.1`
//! and every per-address limit is one bucket for the whole user base. With it, for a request whose
//! peer is a trusted proxy the client is the rightmost `X-Forwarded-For` entry that is not itself
//! a trusted proxy (each trusted hop appends the address it saw, so that entry was written by a
//! proxy we trust; anything left of it is the client's own claim and is ignored). When every
//! entry is trusted, the leftmost one is the client; an entry that is not an address stops the
//! walk at the hop that wrote it. A peer that is not trusted is the client whatever its headers
//! say. This is nginx's `real_ip_recursive on`.
//!
//! The accept loop ([`crate::serve`]) resolves it once per request into a [`ClientAddr`]
//! extension, which every per-address limit (the WebSocket cap, the HTTP rate) and the connection
//! log read through [`client_ip`] / [`describe`]. The raw TCP cap is counted at accept, before any
//! header exists, so it sees the peer: a trusted proxy's connections are not counted by it.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use axum::extract::ConnectInfo;
use axum::http::{Extensions, HeaderMap};
use ipnet::IpNet;

/// Hops of `X-Forwarded-For` looked at, from the right, at most.
const MAX_HOPS: usize = 32;

/// The `--trusted-proxy` networks. Cheap to clone; empty trusts nobody.
#[derive(Debug, Clone, Default)]
pub struct TrustedProxies(Arc<[IpNet]>);

/// Who sent a request: the TCP peer, and the client as the per-address limits see it (the peer
/// itself unless the peer is a trusted proxy).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientAddr {
    pub ip: IpAddr,
    pub peer: SocketAddr,
}

impl TrustedProxies {
    pub fn new(nets: &[IpNet]) -> Self {
        TrustedProxies(nets.iter().map(IpNet::trunc).collect())
    }

    /// Whether `ip` is one of the trusted proxies.
    pub fn trusts(&self, ip: IpAddr) -> bool {
        let ip = ip.to_canonical();
        self.0.iter().any(|net| net.contains(&ip))
    }

    /// The client of a request that `peer` sent with `headers`; see the module docs.
    pub fn client(&self, peer: SocketAddr, headers: &HeaderMap) -> ClientAddr {
        let mut ip = peer.ip().to_canonical();
        if self.0.is_empty() || !self.trusts(ip) {
            return ClientAddr { ip, peer };
        }
        let hops = headers
            .get_all("x-forwarded-for")
            .iter()
            .rev()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.rsplit(','))
            .take(MAX_HOPS);
        for hop in hops {
            if !self.trusts(ip) {
                break;
            }
            match parse_hop(hop) {
                Some(next) => ip = next,
                None => break,
            }
        }
        ClientAddr { ip, peer }
    }
}

/// One `X-Forwarded-For` entry: an address, optionally with a port (`1.2.3.4:5`, `[::1]:5`).
fn parse_hop(hop: &str) -> Option<IpAddr> {
    let hop = hop.trim();
    hop.parse::<IpAddr>()
        .or_else(|_| hop.parse::<SocketAddr>().map(|s| s.ip()))
        .ok()
        .or_else(|| {
            hop.strip_prefix('[')?
                .strip_suffix(']')?
                .parse::<IpAddr>()
                .ok()
        })
        .map(|ip| ip.to_canonical())
}

/// The client address of a request: its [`ClientAddr`], else (a router served without the
/// accept loop) the peer of `ConnectInfo`, else unknown.
pub fn client_ip(ext: &Extensions) -> Option<IpAddr> {
    ext.get::<ClientAddr>().map(|c| c.ip).or_else(|| {
        ext.get::<ConnectInfo<SocketAddr>>()
            .map(|c| c.0.ip().to_canonical())
    })
}

/// Who is connecting, for the log: the peer, preceded by the client when a trusted proxy
/// forwarded the request (`CLIENT via PROXY`). An untrusted peer's headers are not shown.
pub fn describe(ext: &Extensions) -> String {
    match (
        ext.get::<ClientAddr>(),
        ext.get::<ConnectInfo<SocketAddr>>(),
    ) {
        (Some(c), _) if c.ip != c.peer.ip().to_canonical() => format!("{} via {}", c.ip, c.peer),
        (Some(c), _) => c.peer.to_string(),
        (None, Some(p)) => p.0.to_string(),
        (None, None) => "?".to_owned(),
    }
}

/// Parses one `--trusted-proxy` value: a network (`10.0.0.0/8`) or a single address.
pub fn parse_net(s: &str) -> Result<IpNet, String> {
    let s = s.trim();
    s.parse::<IpNet>()
        .or_else(|_| s.parse::<IpAddr>().map(IpNet::from))
        .map_err(|_| format!("`{s}` is not an address or a network (e.g. 10.0.0.1 or 10.0.0.0/8)"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn proxies(list: &[&str]) -> TrustedProxies {
        let nets: Vec<IpNet> = list.iter().map(|s| parse_net(s).unwrap()).collect();
        TrustedProxies::new(&nets)
    }

    fn xff(values: &[&str]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for v in values {
            h.append("x-forwarded-for", HeaderValue::from_str(v).unwrap());
        }
        h
    }

    fn client(t: &TrustedProxies, peer: &str, values: &[&str]) -> String {
        t.client(peer.parse().unwrap(), &xff(values)).ip.to_string()
    }

    #[test]
    fn the_rightmost_untrusted_entry_is_the_client() {
        let t = proxies(&["127.0.0.1", "10.0.0.0/8"]);
        // nginx appended the address it saw; the client's own claim on the left is ignored.
        assert_eq!(client(&t, "127.0.0.1:9", &["6.6.6.6, 1.2.3.4"]), "1.2.3.4");
        // Through two trusted hops, in one header or two.
        assert_eq!(client(&t, "127.0.0.1:9", &["1.2.3.4, 10.1.1.1"]), "1.2.3.4");
        assert_eq!(
            client(&t, "127.0.0.1:9", &["1.2.3.4", "10.1.1.1"]),
            "1.2.3.4"
        );
        // Ports and brackets are tolerated.
        assert_eq!(
            client(&t, "127.0.0.1:9", &["[2001:db8::1]:443"]),
            "2001:db8::1"
        );
        assert_eq!(client(&t, "127.0.0.1:9", &["1.2.3.4:80"]), "1.2.3.4");
        // No header: the proxy itself. Everything trusted: the leftmost.
        assert_eq!(client(&t, "127.0.0.1:9", &[]), "127.0.0.1");
        assert_eq!(
            client(&t, "127.0.0.1:9", &["10.0.0.2, 10.0.0.3"]),
            "10.0.0.2"
        );
        // Garbage stops the walk at the hop that wrote it.
        assert_eq!(
            client(&t, "127.0.0.1:9", &["1.2.3.4, unknown"]),
            "127.0.0.1"
        );
    }

    #[test]
    fn an_untrusted_peer_is_the_client_whatever_it_says() {
        let t = proxies(&["127.0.0.1"]);
        assert_eq!(client(&t, "127.0.0.2:9", &["1.2.3.4"]), "127.0.0.2");
        assert_eq!(
            client(&TrustedProxies::default(), "127.0.0.1:9", &["1.2.3.4"]),
            "127.0.0.1"
        );
        // A v4 peer seen through a dual-stack socket is the same address.
        assert!(t.trusts("::ffff:127.0.0.1".parse().unwrap()));
        assert_eq!(client(&t, "[::ffff:127.0.0.1]:9", &["1.2.3.4"]), "1.2.3.4");
    }

    #[test]
    fn the_log_names_the_client_only_when_a_trusted_proxy_forwarded_it() {
        let t = proxies(&["127.0.0.1"]);
        let seen = |peer: &str| {
            let mut ext = Extensions::new();
            ext.insert(t.client(peer.parse().unwrap(), &xff(&["1.2.3.4"])));
            ext
        };
        assert_eq!(describe(&seen("127.0.0.1:9")), "1.2.3.4 via 127.0.0.1:9");
        assert_eq!(describe(&seen("127.0.0.2:9")), "127.0.0.2:9");
        assert_eq!(client_ip(&seen("127.0.0.2:9")), "127.0.0.2".parse().ok());
        assert_eq!(describe(&Extensions::new()), "?");
    }

    #[test]
    fn flags_take_networks_and_addresses() {
        assert_eq!(parse_net("10.0.0.1").unwrap().to_string(), "10.0.0.1/32");
        assert_eq!(parse_net("10.0.0.0/8").unwrap().to_string(), "10.0.0.0/8");
        assert_eq!(parse_net("::1").unwrap().to_string(), "::1/128");
        assert!(parse_net("nginx").is_err());
        assert!(proxies(&["10.9.9.9/8"]).trusts("10.1.2.3".parse().unwrap()));
    }
}
