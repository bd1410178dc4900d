//! Files in a cluster (v1.2, issue 19): two nodes sharing Redis (the files' records) and an
//! S3-compatible bucket (the bytes), a real one: moto's server mode, installed into a venv by
//! `tests/s3/moto-venv.sh` and started by the test on a free port. A file uploaded on one node
//! is served by the other (ranges too), its bytes are in the bucket and not on either node's
//! disk, and deleting the message that carries it removes the object from the bucket.

mod common;
#[path = "files_support.rs"]
mod support;

use std::process::{Child, Command, Stdio};

use banter_testkit::{Banter, Endpoint, Persistence, Redis, free_port, retry};
use common::process::node;
use reqwest::StatusCode;
use serde_json::json;
use support::*;

const BUCKET: &str = "banter-files";

/// moto's S3 server, killed when dropped.
struct Moto {
    child: Child,
    port: u16,
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Moto {
    async fn start() -> Moto {
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/s3/moto-venv.sh");
        let out = Command::new("bash")
            .arg(script)
            .output()
            .expect("moto-venv.sh");
        assert!(
            out.status.success(),
            "moto-venv.sh: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let exe = String::from_utf8(out.stdout).unwrap().trim().to_owned();
        let port = free_port().unwrap();
        let child = Command::new(exe)
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("moto_server");
        let moto = Moto { child, port };
        retry("moto listens", || async {
            reqwest::get(moto.url("")).await.ok().map(drop)
        })
        .await;
        moto
    }

    fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}/{path}", self.port)
    }

    /// Whether the bucket holds `key`, from a listing (moto lists for unsigned requests).
    async fn has(&self, key: &str) -> bool {
        let url = self.url(&format!("{BUCKET}?prefix=test/{key}"));
        let listing = reqwest::get(url).await.unwrap().text().await.unwrap();
        listing.contains(&format!("<Key>test/{key}</Key>"))
    }
}

async fn s3_node(redis: &Redis, moto: &Moto) -> Banter {
    let endpoint = moto.url("");
    node(
        redis,
        &[
            "--files-url",
            &format!("s3://{BUCKET}/test"),
            "--s3-endpoint",
            endpoint.trim_end_matches('/'),
            "--s3-access-key-id",
            "test",
            "--s3-secret-access-key",
            "test",
        ],
    )
    .await
}

#[tokio::test]
async fn two_nodes_share_files_through_redis_and_an_s3_bucket() {
    let moto = Moto::start().await;
    let res = reqwest::Client::new()
        .put(moto.url(BUCKET))
        .send()
        .await
        .unwrap();
    assert!(res.status().is_success(), "bucket: {}", res.status());
    let redis = Redis::start(Persistence::Off);
    let (a, b) = (s3_node(&redis, &moto).await, s3_node(&redis, &moto).await);

    // Over two of the 5 MiB parts: the multipart upload, with a last part shorter than the rest.
    let bytes: Vec<u8> = (0..11 * 1024 * 1024u32).map(|i| (i % 253) as u8).collect();
    let sha = sha256_hex(&bytes);
    let (status, info) = upload(
        &a,
        "lobby",
        "ada",
        "data.bin",
        "application/zip",
        bytes.clone(),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{info}");
    let id = info["id"].as_str().unwrap().to_owned();
    assert!(moto.has(&sha).await, "the bytes are in the bucket");
    for n in [&a, &b] {
        assert_eq!(stored_files(n), 0, "nothing kept on a node's disk");
    }

    // The other node serves it, whole and in part.
    let res = fetch(&b, &id, "").await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(header(&res, "etag"), format!("\"{sha}\""));
    assert_eq!(res.bytes().await.unwrap(), bytes);
    let res = reqwest::Client::new()
        .get(format!("http://{}/api/files/{id}", b.addr()))
        .header("range", "bytes=100000-100009")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::PARTIAL_CONTENT);
    assert_eq!(res.bytes().await.unwrap(), bytes[100_000..100_010]);

    // An image's thumbnail too.
    let (_, shot) = upload(&b, "lobby", "bob", "shot.png", "image/png", png(64, 64)).await;
    let res = fetch(&a, shot["id"].as_str().unwrap(), "/thumb").await;
    assert_eq!(res.status(), StatusCode::OK);

    // A message on node b carries it; deleting it on node a removes the object.
    let (status, posted) = support_post(
        &b,
        json!({"user": "bob", "text": "the data", "files": [id]}),
    )
    .await;
    assert_eq!(status, 201, "{posted}");
    assert_eq!(posted["files"][0]["id"], id.as_str());
    delete(&a, "lobby", posted["seq"].as_u64().unwrap(), "bob").await;
    retry("the file is removed", || {
        let (b, id) = (&b, id.clone());
        async move { (fetch(b, &id, "").await.status() == StatusCode::NOT_FOUND).then_some(()) }
    })
    .await;
    retry("the object leaves the bucket", || {
        let (moto, sha) = (&moto, sha.clone());
        async move { (!moto.has(&sha).await).then_some(()) }
    })
    .await;
}

async fn support_post(server: &impl Endpoint, body: serde_json::Value) -> (u16, serde_json::Value) {
    banter_testkit::post(server, "lobby", body).await
}
