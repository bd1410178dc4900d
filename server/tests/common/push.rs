//! Web Push tests' side of the wire: a push service on a loopback port ([`PushService`]:
//! records each request, answers `410` or `404` for the ids in `gone`) and a browser's
//! subscription ([`Browser`]: its own P-256 key pair and auth secret, so it decrypts what it is
//! sent), and [`check_vapid`] for the VAPID header.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use banter_protocol::http::{PushKeys, PushNotice, PushSubscription};
use banter_testkit::WAIT;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::Value;
use tokio::sync::mpsc;

/// One request the push service received.
#[derive(Debug)]
pub struct Got {
    pub id: String,
    pub authorization: String,
    pub encoding: String,
    pub body: Vec<u8>,
}

/// The test's push service: `POST /push/{id}` is recorded; an id in `gone` is answered with
/// its status there (`410 Gone` or `404 Not Found`: the subscription no longer exists), any
/// other with `201`.
pub struct PushService {
    pub base: String,
    rx: mpsc::UnboundedReceiver<Got>,
    pub gone: Arc<Mutex<HashMap<String, StatusCode>>>,
}

#[derive(Clone)]
struct Shared {
    tx: mpsc::UnboundedSender<Got>,
    gone: Arc<Mutex<HashMap<String, StatusCode>>>,
}

async fn receive(
    State(s): State<Shared>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> StatusCode {
    let h = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned()
    };
    let gone = s.gone.lock().unwrap().get(&id).copied();
    let _ = s.tx.send(Got {
        id,
        authorization: h("authorization"),
        encoding: h("content-encoding"),
        body: body.to_vec(),
    });
    gone.unwrap_or(StatusCode::CREATED)
}

impl PushService {
    pub async fn start() -> Self {
        let (tx, rx) = mpsc::unbounded_channel();
        let gone = Arc::new(Mutex::new(HashMap::new()));
        let app = axum::Router::new()
            .route("/push/{id}", axum::routing::post(receive))
            .with_state(Shared {
                tx,
                gone: gone.clone(),
            });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}/", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await });
        PushService { base, rx, gone }
    }

    /// The next request, within [`WAIT`].
    pub async fn next(&mut self) -> Got {
        tokio::time::timeout(WAIT, self.rx.recv())
            .await
            .expect("a push within the wait")
            .expect("the push service runs")
    }

    /// The next request for `browser`, decrypted (requests for others are skipped).
    pub async fn next_for(&mut self, browser: &Browser) -> PushNotice {
        loop {
            let got = self.next().await;
            if got.id == browser.id {
                assert_eq!(got.encoding, "aes128gcm");
                return browser.decrypt(&got.body);
            }
        }
    }
}

/// A browser's side of a subscription: its keys, which only it can decrypt with.
pub struct Browser {
    pub id: String,
    pub components: ece::EcKeyComponents,
    pub auth: [u8; 16],
    pub sub: PushSubscription,
}

impl Browser {
    pub fn new(service: &PushService, id: &str) -> Self {
        let (pair, auth) = ece::generate_keypair_and_auth_secret().unwrap();
        let public = pair.pub_as_raw().unwrap();
        Browser {
            id: id.into(),
            components: pair.raw_components().unwrap(),
            auth,
            sub: PushSubscription {
                endpoint: format!("{}push/{id}", service.base),
                expiration_time: None,
                keys: PushKeys {
                    p256dh: URL_SAFE_NO_PAD.encode(public),
                    auth: URL_SAFE_NO_PAD.encode(auth),
                },
            },
        }
    }

    pub fn decrypt(&self, body: &[u8]) -> PushNotice {
        let plain = ece::decrypt(&self.components, &self.auth, body).expect("decrypts");
        serde_json::from_slice(&plain).expect("a PushNotice")
    }
}

/// Checks the VAPID header: `k` is the server's key and `t` an ES256 JWT it signed for the
/// push service's origin.
pub fn check_vapid(authorization: &str, key: &str, origin: &str) {
    let rest = authorization
        .strip_prefix("vapid t=")
        .expect("a vapid header");
    let (jwt, k) = rest.split_once(", k=").expect("t and k");
    assert_eq!(k, key);
    let raw = URL_SAFE_NO_PAD.decode(key).unwrap();
    assert_eq!((raw.len(), raw[0]), (65, 4));
    let (x, y) = (
        URL_SAFE_NO_PAD.encode(&raw[1..33]),
        URL_SAFE_NO_PAD.encode(&raw[33..]),
    );
    let decoding = jsonwebtoken::DecodingKey::from_ec_components(&x, &y).unwrap();
    let mut v = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::ES256);
    v.set_audience(&[origin]);
    let claims = jsonwebtoken::decode::<Value>(jwt, &decoding, &v)
        .expect("the JWT verifies with the server's key")
        .claims;
    assert!(claims["sub"].as_str().unwrap().starts_with("mailto:"));
}
