//! The remembered session: a refresh token (an HS256 JWT under a key derived from the server's,
//! so it is never accepted as an access token, nor an access token as it) in the cookie
//! `banter_session`: `HttpOnly` (scripts never see it), `SameSite=Strict` (never sent from
//! another site), `Path=/api`, `Secure` over https.

use axum::http::{HeaderMap, HeaderValue, header};

/// The cookie's name.
pub const NAME: &str = "banter_session";

/// The value of the `banter_session` cookie the request sent, if any.
pub fn read(headers: &HeaderMap) -> Option<&str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == NAME)
        .map(|(_, v)| v.trim())
        .filter(|v| !v.is_empty())
}

/// A `Set-Cookie` value holding `token` for `max_age_secs`.
pub fn set(token: &str, max_age_secs: u64, secure: bool) -> HeaderValue {
    let secure = if secure { "; Secure" } else { "" };
    let v = format!(
        "{NAME}={token}; Path=/api; Max-Age={max_age_secs}; HttpOnly; SameSite=Strict{secure}"
    );
    HeaderValue::from_str(&v).unwrap_or_else(|_| clear(false))
}

/// A `Set-Cookie` value that removes the cookie.
pub fn clear(secure: bool) -> HeaderValue {
    let secure = if secure { "; Secure" } else { "" };
    HeaderValue::from_str(&format!(
        "{NAME}=; Path=/api; Max-Age=0; HttpOnly; SameSite=Strict{secure}"
    ))
    .unwrap_or(HeaderValue::from_static(
        "banter_session=; Path=/api; Max-Age=0",
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_session_cookie_is_found_among_others() {
        let mut h = HeaderMap::new();
        assert_eq!(read(&h), None);
        h.insert(
            header::COOKIE,
            "a=1; banter_session=t.o.k; b=2".parse().unwrap(),
        );
        assert_eq!(read(&h), Some("t.o.k"));
        let set = set("t.o.k", 60, true);
        let s = set.to_str().unwrap();
        assert!(s.contains("HttpOnly") && s.contains("SameSite=Strict") && s.contains("Secure"));
    }
}
