//! Users' stored room lists (issue 17): `GET /api/me/rooms`, `PUT` / `DELETE
//! /api/me/rooms/{room}`, over real HTTP against a server in this process (its SQLite file). A
//! list belongs to its user (the name on an open server, the token's user otherwise), keeps its
//! order, refuses what is not a room, and stops at `--max-rooms-per-user`.

mod common;

use common::{get_json, get_json_bearer, sign, start_server_with, token_server};
use serde_json::json;

async fn call(method: reqwest::Method, url: String, token: Option<&str>) -> u16 {
    let mut req = reqwest::Client::new().request(method, url);
    if let Some(token) = token {
        req = req.bearer_auth(token);
    }
    req.send().await.expect("an answer").status().as_u16()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_list_belongs_to_the_name_keeps_its_order_and_stops_at_the_limit() {
    let server = start_server_with(|c| c.room_lists.max_rooms_per_user = 3).await;
    let put = |room: &str, user: &str| {
        call(
            reqwest::Method::PUT,
            server.http(&format!("/api/me/rooms/{room}?user={user}")),
            None,
        )
    };
    for room in ["ops", "lobby", "design", "ops"] {
        assert_eq!(put(room, "ada").await, 204, "{room}");
    }
    assert_eq!(put("more", "ada").await, 400, "past --max-rooms-per-user");
    assert_eq!(put("more", "bob").await, 204, "bob's own list");
    let url = server.http("/api/me/rooms/lobby?user=ada");
    assert_eq!(call(reqwest::Method::DELETE, url, None).await, 204);
    let (status, body) = get_json(&server, "/api/me/rooms?user=ada").await;
    assert_eq!((status, body), (200, json!({"rooms": ["ops", "design"]})));
    let (_, bob) = get_json(&server, "/api/me/rooms?user=bob").await;
    assert_eq!(bob, json!({"rooms": ["more"]}));

    let conversation = format!("dm-{}", "ab".repeat(16));
    assert_eq!(put(&conversation, "ada").await, 400, "not a room");
    assert_eq!(put("Not%20A%20Room", "ada").await, 400);
    let (status, _) = get_json(&server, "/api/me/rooms").await;
    assert_eq!(status, 400, "an open server needs ?user=");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_tokens_the_list_is_the_token_users_within_its_rooms() {
    let secret = "a-room-list-test-secret-that-is-long-enough";
    let server = token_server(secret).await;
    let ada = sign(secret, "ada", None);
    let only_ops = sign(secret, "bob", Some(&["ops"]));
    let url = |room: &str| server.http(&format!("/api/me/rooms/{room}"));
    assert_eq!(
        call(reqwest::Method::PUT, url("ops"), Some(&ada)).await,
        204
    );
    assert_eq!(
        call(reqwest::Method::PUT, url("ops"), Some(&only_ops)).await,
        204
    );
    assert_eq!(
        call(reqwest::Method::PUT, url("design"), Some(&only_ops)).await,
        403,
        "outside the token's rooms"
    );
    let (_, mine) = get_json_bearer(&server, "/api/me/rooms", &ada).await;
    assert_eq!(mine, json!({"rooms": ["ops"]}));
    let (status, _) = get_json_bearer(&server, "/api/me/rooms?user=bob", &ada).await;
    assert_eq!(status, 403, "nobody reads another's list");
    let (status, _) = get_json(&server, "/api/me/rooms?user=ada").await;
    assert_eq!(status, 401, "no token");
}
