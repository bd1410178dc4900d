//! The config file and `--print-config`, through the real binary.

mod common;

use common::process::{Proc, banter, scratch};

/// Every setting, none at its default. `tls-key` and the `auth-secret*` keys print as hidden.
const EVERY_KEY: &str = r#"listen = "127.0.0.1:0"
store = "memory"
redis = "redis://127.0.0.1:6390/"
data-dir = "/var/lib/banter/data"
sqlite-sync = "normal"
store-queue = 100
store-batch = 64
store-max-bytes = 1048576
retain-messages = 5000
retain-age = "90days"
history = 77
hot-window-bytes = 1048576
max-replay = 500
max-text-chars = 300
max-frame-bytes = 9000
max-name-chars = 20
max-room-chars = 40
max-client-id-chars = 50
rate-per-sec = 5
rate-burst = 9
client-queue = 99
ping-interval = "3s"
idle-timeout = "9s"
dedupe-window = "1m"
dedupe-capacity = 10
max-rooms = 12
max-rooms-per-connection = 3
max-connections = 1000
allowed-origin = ["https://a.example", "https://b.example"]
max-body-bytes = 2048
shutdown-grace = "1s"
ws-read-buffer = 512
ws-write-buffer = 4096
auth = "token"
auth-secret-file = "/etc/banter/secret"
auth-secret = "not-so-secret-key-of-32-bytes-or-more"
auth-timeout = "2s"
http-rate-per-sec = 7
http-rate-burst = 11
http-rate-keys = 500
http-header-timeout = "7s"
http-request-timeout = "20s"
max-connections-per-ip = 9
max-tcp-connections-per-ip = 20
write-timeout = "15s"
trusted-proxy = ["10.0.0.1", "192.168.0.0/16"]
client-queue-bytes = 1000000
replay-chunk = 64
replay-reads = 4
replay-reads-per-room = 1
replay-queue = 500
memory-store-bytes = 1000000
max-rooms-per-ip = 50
tls-cert = "/etc/banter/cert.pem"
tls-key = "/etc/banter/key.pem"
tls-watch-interval = "30s"
tls-handshake-timeout = "4s"
log-format = "json"
presence-interval = "100ms"
presence-batch = 8
joined-max-users = 40
worker-threads = 2
argon2-memory-kib = 8192
argon2-iterations = 3
argon2-parallelism = 2
password-hashes = 2
password-min-chars = 10
password-max-bytes = 512
session-token-ttl = "10m"
session-remember = "14days"
session-cookie-secure = true
invite-ttl = "2days"
login-per-address-per-min = 10
login-free-failures = 3
login-max-wait = "30s"
accounts-poll = "500ms"
max-emoji-bytes = 16
max-edits = 5
max-reactions = 50
redis-aof-rewrite-after-delete = "2m"
search = "false"
search-index = "/var/lib/banter/search.db"
search-batch = 500
search-indexer-nice = 5
search-max-query-chars = 100
search-max-terms = 8
search-page-max = 50
search-rank-window = 1500
search-max-offset = 500
push = "false"
push-allow-endpoint = ["https://push.internal.example/"]
push-contact = "mailto:ops@example.com"
push-batch = "10s"
push-queue = 500
push-max-subscriptions = 5
push-preview-chars = 80
push-timeout = "5s"
max-conversation-members = 5
files-url = "s3://banter-files/prod"
s3-endpoint = "http://minio.internal:9000"
s3-region = "eu-west-1"
s3-access-key-id = "banter"
s3-secret-access-key = "not-so-secret-key-of-32-bytes-or-more"
max-file-bytes = 10485760
file-quota-bytes = 104857600
file-quota-window = "12h"
max-files-per-message = 5
max-image-pixels = 20000000
max-image-decodes = 1
thumb-size = 256
file-unused-ttl = "6h"
file-sweep = "5m"
max-rooms-per-user = 100
"#;

fn keys(toml: &str) -> Vec<String> {
    toml.lines()
        .filter_map(|l| l.trim_start_matches("# ").split(" = ").next())
        .filter(|k| !k.is_empty() && !k.contains(' '))
        .map(str::to_owned)
        .collect()
}

async fn print_config(args: &[&str], env: &[(&str, &str)]) -> (bool, String, String) {
    let mut cmd = banter();
    cmd.args(args).arg("--print-config");
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().await.expect("run banter");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[tokio::test]
async fn a_file_with_every_key_is_applied_and_flags_and_env_override_it() {
    let (ok, defaults, _) = print_config(&[], &[]).await;
    assert!(ok);
    assert_eq!(
        keys(EVERY_KEY),
        keys(&defaults),
        "EVERY_KEY must list every flag"
    );

    let dir = scratch("every-key");
    let file = dir.join("banter.toml");
    std::fs::write(&file, EVERY_KEY).unwrap();
    let file = file.to_str().unwrap();
    let (ok, effective, err) = print_config(&["--config", file], &[]).await;
    assert!(ok, "{err}");
    let expected = EVERY_KEY
        .replace(r#""/etc/banter/key.pem""#, r#""<hidden>""#)
        .replace(r#""/etc/banter/secret""#, r#""<hidden>""#)
        .replace(
            r#""not-so-secret-key-of-32-bytes-or-more""#,
            r#""<hidden>""#,
        );
    let body: String = effective
        .lines()
        .skip(1)
        .map(|l| format!("{l}\n"))
        .collect();
    assert_eq!(body, expected);

    // The variable beats the file, the flag beats both; BANTER_CONFIG names the file.
    let (ok, effective, _) = print_config(
        &["--history", "5"],
        &[
            ("BANTER_CONFIG", file),
            ("BANTER_HISTORY", "6"),
            ("BANTER_MAX_ROOMS", "7"),
        ],
    )
    .await;
    assert!(ok);
    assert!(effective.contains("\nhistory = 5\n"), "{effective}");
    assert!(effective.contains("\nmax-rooms = 7\n"));
    assert!(effective.contains("\nclient-queue = 99\n"));
}

#[tokio::test]
async fn an_unknown_key_or_bad_value_is_refused_with_its_name() {
    let dir = scratch("unknown-key");
    let file = dir.join("banter.toml");
    std::fs::write(&file, "history = 10\nhistroy = 20\n").unwrap();
    let out = banter()
        .args(["--config", file.to_str().unwrap()])
        .output()
        .await
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("unknown key `histroy`"), "{err}");

    std::fs::write(&file, "history = \"lots\"\n").unwrap();
    let out = banter()
        .args(["--config", file.to_str().unwrap()])
        .output()
        .await
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("--history"));
}

#[tokio::test]
async fn a_server_started_from_a_file_serves_with_its_settings_and_logs_json() {
    let dir = scratch("serve-from-file");
    let file = dir.join("banter.toml");
    let settings = format!(
        "listen = \"127.0.0.1:0\"\nmax-text-chars = 10\nlog-format = \"json\"\ndata-dir = {:?}\n",
        dir.join("data")
    );
    std::fs::write(&file, settings).unwrap();
    let mut server = Proc::start(&["--config", file.to_str().unwrap()]).await;
    let url = format!("ws://{}/ws", server.addr);
    let mut c = common::Client::connect_raw(&url).await;
    match c.recv().await {
        banter_protocol::ServerMsg::Welcome { limits, .. } => {
            assert_eq!(limits.max_text_chars, 10)
        }
        other => panic!("expected welcome, got {other:?}"),
    }
    drop(c);
    // One JSON line when the connection opens (with the peer), one when it closes (with its close
    // code and reason).
    let (opened, closed) = tokio::time::timeout(common::WAIT, async {
        let mut opened = String::new();
        while let Some(line) = server.stderr.next_line().await.unwrap() {
            if line.contains("connection opened") {
                opened = line;
            } else if line.contains("connection closed") {
                return (opened, line);
            }
        }
        panic!("no close line");
    })
    .await
    .expect("a close line in time");
    let v: serde_json::Value = serde_json::from_str(&closed).expect("a JSON log line");
    assert!(
        opened.contains("\"remote\":\"127.0.0.1:"),
        "the opened line names the peer: {opened}"
    );
    assert_eq!(v["message"], "connection closed");
    assert!(v["reason"].is_string(), "{closed}");
}
