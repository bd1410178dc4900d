//! Which push endpoints the server will call. A subscription is a URL chosen by a client that
//! the server then requests: without a guard it would let anyone make the server call its own
//! network (SSRF). So an endpoint must be `https://` on a public address: an IP literal must be
//! public, and a name must resolve only to public addresses, both when it is subscribed
//! ([`Endpoints::check`]) and at every request ([`PublicOnly`], reqwest's resolver: a name that
//! resolves elsewhere later is refused then, and redirects are never followed). Prefixes given
//! with `--push-allow-endpoint` skip the guard (tests, a private push service).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use reqwest::Url;
use reqwest::dns::{Addrs, Name, Resolve, Resolving};

/// See the module docs.
#[derive(Debug, Clone, Default)]
pub struct Endpoints {
    allow: Vec<Url>,
}

impl Endpoints {
    /// The `--push-allow-endpoint` prefixes (ones that are not URLs are ignored, and logged).
    pub fn new(allow: &[String]) -> Self {
        let allow = allow
            .iter()
            .filter(|p| !p.is_empty())
            .filter_map(|p| match Url::parse(p) {
                Ok(u) => Some(u),
                Err(e) => {
                    tracing::warn!(prefix = %p, error = %e, "--push-allow-endpoint ignored");
                    None
                }
            })
            .collect();
        Endpoints { allow }
    }

    /// Whether `--push-allow-endpoint` lets `endpoint` through without the guard: the same
    /// scheme, host and port as a prefix, and a path that starts with its path (compared
    /// parsed, so `https://push.example` does not let `https://push.example.evil` in).
    pub fn allowed(&self, endpoint: &str) -> bool {
        let Ok(url) = Url::parse(endpoint) else {
            return false;
        };
        self.allow.iter().any(|p| {
            p.scheme() == url.scheme()
                && p.host_str() == url.host_str()
                && p.port_or_known_default() == url.port_or_known_default()
                && url.username().is_empty()
                && url.path().starts_with(p.path())
        })
    }

    /// Checks an endpoint being subscribed (names are resolved now); the error says why not.
    pub async fn check(&self, endpoint: &str) -> Result<Url, String> {
        let url = Url::parse(endpoint).map_err(|e| format!("the endpoint is not a URL: {e}"))?;
        if self.allowed(endpoint) {
            return Ok(url);
        }
        let host = shape(&url)?;
        if host.is_some() {
            return Ok(url);
        }
        let name = url.host_str().unwrap_or_default().to_owned();
        let port = url.port_or_known_default().unwrap_or(443);
        let addrs: Vec<SocketAddr> = tokio::net::lookup_host((name.as_str(), port))
            .await
            .map_err(|e| format!("the endpoint's host `{name}` does not resolve: {e}"))?
            .collect();
        if addrs.is_empty() || addrs.iter().any(|a| !public(a.ip())) {
            return Err(format!(
                "the endpoint's host `{name}` resolves to a private or local address"
            ));
        }
        Ok(url)
    }

    /// Checks an endpoint at request time, before any connection: `https`, and an IP literal
    /// must be public (a name is checked by [`PublicOnly`] as it resolves).
    pub fn check_now(&self, endpoint: &str) -> Result<Url, String> {
        let url = Url::parse(endpoint).map_err(|e| format!("the endpoint is not a URL: {e}"))?;
        if !self.allowed(endpoint) {
            shape(&url)?;
        }
        Ok(url)
    }
}

/// `https`, with a host, no user info; the host's IP when it is a literal (checked public).
fn shape(url: &Url) -> Result<Option<IpAddr>, String> {
    if url.scheme() != "https" {
        return Err("the endpoint must be an https:// URL".into());
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err("the endpoint must not carry a user name or password".into());
    }
    let Some(host) = url.host_str().filter(|h| !h.is_empty()) else {
        return Err("the endpoint has no host".into());
    };
    let literal = host.trim_start_matches('[').trim_end_matches(']');
    let Ok(ip) = literal.parse::<IpAddr>() else {
        return Ok(None);
    };
    if !public(ip) {
        return Err(format!("the endpoint's address {ip} is private or local"));
    }
    Ok(Some(ip))
}

/// Whether `ip` is a public unicast address (not loopback, private, link-local, shared,
/// documentation, benchmarking, multicast, reserved or unspecified).
pub fn public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => public_v4(v4),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => public_v4(v4),
            None => public_v6(v6),
        },
    }
}

fn public_v4(ip: Ipv4Addr) -> bool {
    let [a, b, c, _] = ip.octets();
    !(ip.is_unspecified()
        || ip.is_loopback()
        || ip.is_private()
        || ip.is_link_local()
        || ip.is_broadcast()
        || ip.is_documentation()
        || ip.is_multicast()
        || a == 0
        || (a == 100 && (64..128).contains(&b))
        || (a == 192 && b == 0 && c == 0)
        || (a == 198 && (18..20).contains(&b))
        || a >= 240)
}

fn public_v6(ip: Ipv6Addr) -> bool {
    let first = ip.segments()[0];
    !(ip.is_unspecified()
        || ip.is_loopback()
        || ip.is_multicast()
        || (first & 0xfe00) == 0xfc00
        || (first & 0xffc0) == 0xfe80
        || first == 0x2001 && ip.segments()[1] == 0x0db8
        || first == 0x0064 && ip.segments()[1] == 0xff9b)
}

/// reqwest's resolver for endpoints outside `--push-allow-endpoint`: the system's answer with
/// every non-public address removed; none left is an error, so no connection is made.
#[derive(Debug, Clone, Copy, Default)]
pub struct PublicOnly;

impl Resolve for PublicOnly {
    fn resolve(&self, name: Name) -> Resolving {
        let host = name.as_str().to_owned();
        Box::pin(async move {
            let found = tokio::net::lookup_host((host.as_str(), 0)).await?;
            let public: Vec<SocketAddr> = found.filter(|a| public(a.ip())).collect();
            if public.is_empty() {
                return Err(format!("{host} resolves to no public address").into());
            }
            Ok(Box::new(public.into_iter()) as Addrs)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_public_addresses_pass() {
        for private in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "::1",
            "fd00::1",
            "fe80::1",
            "::ffff:127.0.0.1",
        ] {
            assert!(!public(private.parse().unwrap()), "{private}");
        }
        for open in ["8.8.8.8", "1.1.1.1", "2606:4700::1111"] {
            assert!(public(open.parse().unwrap()), "{open}");
        }
    }

    #[tokio::test]
    async fn endpoints_must_be_https_and_public_unless_allowed() {
        let e = Endpoints::new(&["http://127.0.0.1:9/".into()]);
        assert!(e.check("http://127.0.0.1:9/push/1").await.is_ok());
        assert!(e.check("http://8.8.8.8/x").await.is_err());
        assert!(e.check("https://127.0.0.1:8/x").await.is_err());
        assert!(e.check("https://user:pw@8.8.8.8/x").await.is_err());
        assert!(e.check("https://localhost/x").await.is_err());
        assert!(e.check("https://8.8.8.8/x").await.is_ok());
        assert!(e.check_now("https://[::1]/x").is_err());
        let e = Endpoints::new(&["https://push.example".into()]);
        assert!(e.allowed("https://push.example/x"));
        assert!(!e.allowed("https://push.example.evil.net/x"));
        assert!(!e.allowed("https://push.example:8443/x"));
        assert!(!e.allowed("http://push.example/x"));
    }
}
