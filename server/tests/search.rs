//! Search (`GET /api/search`, issue 17) over real sockets, a real SQLite file and real
//! processes: words with the last one a prefix, phrases, `from:` and `in:`, case and
//! diacritics folded, CJK and substrings, ranking, escaped snippets, pages, the permission
//! filter inside the query (a page is never short because of it), the index rebuilt after its
//! file is removed, and two nodes of a cluster answering alike.
//!
//! The index is written after commit by a background indexer, so every test waits (with a
//! deadline) for the search to show what was posted before asserting anything else.

mod common;

use banter_testkit::{Persistence, Redis, retry};
use common::process::{banter, launch, node};
use common::*;
use serde_json::{Value, json};

const SECRET: &str = "search-test-secret-0123456789abcdef";

/// `/api/search` with these parameters, encoded.
fn path(params: &[(&str, &str)]) -> String {
    let url = reqwest::Url::parse_with_params("http://x/api/search", params).expect("url");
    format!("/api/search?{}", url.query().unwrap_or(""))
}

async fn search(server: &impl Endpoint, params: &[(&str, &str)]) -> Value {
    let (status, body) = get_json(server, &path(params)).await;
    assert_eq!(status, 200, "{params:?}: {body}");
    body
}

/// Searches until the answer holds `n` results (the indexer is behind the commit).
async fn search_n(server: &impl Endpoint, params: &[(&str, &str)], n: usize) -> Vec<Value> {
    retry(&format!("{n} results for {params:?}"), || async {
        let body = search(server, params).await;
        let hits = body["results"].as_array().cloned().unwrap_or_default();
        (hits.len() == n).then_some(hits)
    })
    .await
}

fn texts(hits: &[Value]) -> Vec<&str> {
    hits.iter().map(|h| h["text"].as_str().unwrap()).collect()
}

async fn say(server: &impl Endpoint, room: &str, user: &str, text: &str) {
    let (status, body) = post(server, room, json!({"user": user, "text": text})).await;
    assert_eq!(status, 201, "{body}");
}

#[tokio::test]
async fn words_prefixes_phrases_from_and_in() {
    let server = start_server().await;
    say(&server, "ops", "ann", "the deploy of the api is done").await;
    say(&server, "ops", "bob", "deployment window moved to friday").await;
    say(&server, "dev", "ann", "api review friday, then deploy").await;
    say(&server, "dev", "cid", "lunch?").await;
    // The marker: everything above is indexed once it is.
    search_n(&server, &[("q", "lunch")], 1).await;

    // The last word is a prefix; the others are whole words.
    let hits = search_n(&server, &[("q", "deplo")], 3).await;
    assert_eq!(hits.len(), 3);
    search_n(&server, &[("q", "deplo friday")], 2).await;
    search_n(&server, &[("q", "deplo fri")], 2).await;
    search_n(&server, &[("q", "deplo fri ")], 2).await;
    // A word not last is whole: `deplo` matches no word as such (nor a substring of 5+ as
    // a word), but its trigrams do find it as a substring, in all three.
    search_n(&server, &[("q", "window deplo")], 1).await;

    // A phrase: its words together, in order.
    let hits = search_n(&server, &[("q", "\"api is done\"")], 1).await;
    assert_eq!(texts(&hits), ["the deploy of the api is done"]);
    search_n(&server, &[("q", "\"done is api\"")], 0).await;

    // from: and in: filter, alone or with words.
    let hits = search_n(&server, &[("q", "from:ann")], 2).await;
    assert!(hits.iter().all(|h| h["user"] == "ann"));
    let hits = search_n(&server, &[("q", "from:ann in:dev")], 1).await;
    assert_eq!(texts(&hits), ["api review friday, then deploy"]);
    let hits = search_n(&server, &[("q", "deploy in:ops")], 2).await;
    assert!(hits.iter().all(|h| h["room"] == "ops"));
    let hits = search_n(&server, &[("q", "deploy"), ("room", "dev")], 1).await;
    assert_eq!(hits[0]["room"], "dev");
    assert_eq!(hits[0]["seq"], 1);
    assert!(hits[0]["ts"].as_u64().unwrap() > 0);

    // Bad input gets a clear 400.
    for bad in [
        path(&[("q", "")]),
        path(&[("q", "x"), ("limit", "0")]),
        path(&[("q", "x"), ("cursor", "nonsense")]),
        path(&[("q", &"x ".repeat(200))]),
        path(&[("q", "from:a from:b")]),
    ] {
        let (status, body) = get_json(&server, &bad).await;
        assert_eq!(
            (status, body["code"].as_str()),
            (400, Some("bad_request")),
            "{bad}: {body}"
        );
    }
}

#[tokio::test]
async fn diacritics_case_cjk_and_substrings() {
    let server = start_server().await;
    say(&server, "intl", "ann", "Café Crème at the Hôtel").await;
    say(&server, "intl", "bob", "東京タワーで会いましょう").await;
    say(&server, "intl", "cid", "unbelievable throughput numbers").await;
    say(&server, "intl", "dee", "마지막 회의는 금요일").await;
    search_n(&server, &[("q", "from:dee")], 1).await;

    for (q, want) in [
        ("cafe creme", "Café Crème at the Hôtel"),
        ("HOTEL", "Café Crème at the Hôtel"),
        ("crème", "Café Crème at the Hôtel"),
        ("東京", "東京タワーで会いましょう"),
        ("タワー", "東京タワーで会いましょう"),
        ("会い", "東京タワーで会いましょう"),
        ("회의", "마지막 회의는 금요일"),
        ("believ", "unbelievable throughput numbers"),
        ("ughpu", "unbelievable throughput numbers"),
    ] {
        let hits = search_n(&server, &[("q", q)], 1).await;
        assert_eq!(texts(&hits), [want], "{q}");
    }
    let hits = search_n(&server, &[("q", "東京")], 1).await;
    assert_eq!(hits[0]["snippet"], "<mark>東京</mark>タワーで会いましょう");
}

#[tokio::test]
async fn relevance_then_recency_ranks_and_snippets_are_escaped() {
    let server = start_server().await;
    say(
        &server,
        "r",
        "ann",
        "a long note that mentions rollback once among many other words here",
    )
    .await;
    say(&server, "r", "bob", "rollback rollback").await;
    say(
        &server,
        "r",
        "cid",
        "<script>alert('rollback')</script> & more",
    )
    .await;
    say(&server, "r", "dee", "same words again").await;
    say(&server, "r", "eve", "same words again").await;
    search_n(&server, &[("q", "from:eve")], 1).await;

    let hits = search_n(&server, &[("q", "rollback")], 3).await;
    assert_eq!(hits[0]["user"], "bob", "the most relevant first: {hits:?}");
    // Equal relevance: the newer first.
    let hits = search_n(&server, &[("q", "\"same words\"")], 2).await;
    assert_eq!(
        (hits[0]["user"].as_str(), hits[1]["user"].as_str()),
        (Some("eve"), Some("dee"))
    );

    let hits = search_n(&server, &[("q", "rollback from:cid")], 1).await;
    assert_eq!(hits[0]["text"], "<script>alert('rollback')</script> & more");
    assert_eq!(
        hits[0]["snippet"],
        "&lt;script&gt;alert(&#39;<mark>rollback</mark>&#39;)&lt;/script&gt; &amp; more"
    );
}

#[tokio::test]
async fn pages_follow_the_cursor_to_the_end() {
    let server = start_server().await;
    for i in 0..25 {
        say(&server, "p", "ann", &format!("status report number {i}")).await;
    }
    search_n(&server, &[("q", "\"number 24\"")], 1).await;
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    let mut pages = 0;
    loop {
        let mut params = vec![("q", "report"), ("limit", "10")];
        if let Some(c) = &cursor {
            params.push(("cursor", c.as_str()));
        }
        let body = search(&server, &params).await;
        let hits = body["results"].as_array().unwrap();
        pages += 1;
        seen.extend(hits.iter().map(|h| h["seq"].as_u64().unwrap()));
        match body["next"].as_str() {
            Some(next) => {
                assert_eq!(hits.len(), 10);
                cursor = Some(next.to_owned());
            }
            None => break,
        }
    }
    seen.sort_unstable();
    assert_eq!((pages, seen), (3, (1..=25).collect::<Vec<u64>>()));
}

#[tokio::test]
async fn only_what_the_caller_may_read_and_pages_are_never_short_for_it() {
    let server = token_server(SECRET).await;
    let mut ada = sign_in(&server, sign(SECRET, "ada", None)).await;
    let mut bob = sign_in(&server, sign(SECRET, "bob", None)).await;
    // Many private matches, newer and more relevant than the public ones.
    for i in 0..3 {
        post_as(&server, "ada", "pub", &format!("plan {i}")).await;
    }
    post_as(&server, "ada", "other", "plan elsewhere").await;
    let mut room = String::new();
    for i in 0..8 {
        let dm = ada
            .direct("bob", &format!("secret plan plan plan {i}"), None)
            .await;
        room = dm.room.clone().expect("the conversation");
    }
    let _ = bob.recv().await;
    let (ada_t, bob_t, eve_t) = (
        sign(SECRET, "ada", None),
        sign(SECRET, "bob", None),
        sign(SECRET, "eve", None),
    );
    let bearer = |token: &str, params: &[(&str, &str)]| {
        let (token, p) = (token.to_owned(), path(params));
        let server = &server;
        async move {
            let (status, body) = get_json_bearer(server, &p, &token).await;
            assert_eq!(status, 200, "{body}");
            body
        }
    };
    // Both members find the conversation's messages.
    for t in [&ada_t, &bob_t] {
        retry("the members find their conversation", || async {
            let body = bearer(t, &[("q", "secret")]).await;
            (body["results"].as_array().unwrap().len() == 8).then_some(())
        })
        .await;
    }
    // A stranger never does: by word, by substring, by `in:` the conversation, by `from:`.
    for q in [
        "secret",
        "ecre",
        &format!("in:{room}"),
        "from:ada secret",
        "plan",
    ] {
        let body = bearer(&eve_t, &[("q", q)]).await;
        let hits = body["results"].as_array().unwrap();
        assert!(
            hits.iter()
                .all(|h| !h["room"].as_str().unwrap().starts_with("dm-")),
            "{q}: {body}"
        );
    }
    // The page is cut after the filter: three public results, then the fourth on page two.
    let body = bearer(&eve_t, &[("q", "plan"), ("limit", "3")]).await;
    assert_eq!(body["results"].as_array().unwrap().len(), 3, "{body}");
    let next = body["next"].as_str().expect("a next page").to_owned();
    let body = bearer(&eve_t, &[("q", "plan"), ("limit", "3"), ("cursor", &next)]).await;
    assert_eq!(body["results"].as_array().unwrap().len(), 1, "{body}");
    assert!(body.get("next").is_none(), "{body}");
    // A token's `rooms` claim holds.
    let only_pub = sign(SECRET, "eve", Some(&["pub"]));
    let body = bearer(&only_pub, &[("q", "plan")]).await;
    let hits = body["results"].as_array().unwrap();
    assert_eq!(hits.len(), 3, "{body}");
    assert!(hits.iter().all(|h| h["room"] == "pub"));
    // Without a token: 401.
    let (status, _) = get_json(&server, &path(&[("q", "plan")])).await;
    assert_eq!(status, 401);
}

async fn post_as(server: &TestServer, user: &str, room: &str, text: &str) {
    let res = reqwest::Client::new()
        .post(server.http(&format!("/api/rooms/{room}/messages")))
        .bearer_auth(sign(SECRET, user, None))
        .json(&json!({"text": text}))
        .send()
        .await
        .expect("post");
    assert_eq!(res.status().as_u16(), 201);
}

#[tokio::test]
async fn the_index_is_rebuilt_after_its_file_is_removed() {
    let mut node = launch().unlimited().start().await.expect("banter");
    let dir = node.data_dir().expect("a data directory").to_owned();
    say(&node, "ops", "ann", "the migration finished").await;
    say(&node, "ops", "bob", "numéro deux").await;
    search_n(&node, &[("q", "numero")], 1).await;

    // Removed while stopped: `banter reindex` builds it again from the messages.
    node.kill9();
    let index = dir.join("search.db");
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", index.display()));
    }
    let out = banter()
        .arg("--data-dir")
        .arg(&dir)
        .arg("reindex")
        .output()
        .await
        .expect("banter reindex");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("indexed 1 rooms"));
    assert!(index.exists());
    node.restart().await.expect("restarted");
    search_n(&node, &[("q", "migration")], 1).await;

    // Removed with no reindex: the server catches up by itself at start.
    node.kill9();
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", index.display()));
    }
    node.restart().await.expect("restarted");
    search_n(&node, &[("q", "numéro")], 1).await;
    search_n(&node, &[("q", "migration")], 1).await;
}

#[tokio::test]
async fn every_node_of_a_cluster_answers_alike() {
    let redis = Redis::start(Persistence::Off);
    let a = node(&redis, &[]).await;
    let b = node(&redis, &[]).await;
    say(&a, "ops", "ann", "posted on node a").await;
    say(&b, "ops", "bob", "posted on node b").await;
    say(&b, "dev", "cid", "another room, node b").await;
    for n in [&a, &b] {
        let hits = search_n(n, &[("q", "node")], 3).await;
        assert_eq!(hits.len(), 3);
        search_n(n, &[("q", "posted in:ops")], 2).await;
    }
    // A node started later builds its index from the room streams.
    let c = node(&redis, &[]).await;
    let on_c = search_n(&c, &[("q", "node")], 3).await;
    let on_a = search_n(&a, &[("q", "node")], 3).await;
    let key = |h: &Vec<Value>| -> Vec<(String, u64)> {
        h.iter()
            .map(|x| {
                (
                    x["room"].as_str().unwrap().to_owned(),
                    x["seq"].as_u64().unwrap(),
                )
            })
            .collect()
    };
    assert_eq!(key(&on_a), key(&on_c));

    // An edit on one node and a deletion on another reach every node's index.
    let http = reqwest::Client::new();
    let res = http
        .patch(a.http("/api/rooms/ops/messages/1?user=ann"))
        .json(&json!({"text": "rewritten on node a"}))
        .send()
        .await
        .expect("edit");
    assert_eq!(res.status().as_u16(), 201);
    let res = http
        .delete(b.http("/api/rooms/ops/messages/2?user=bob"))
        .send()
        .await
        .expect("delete");
    assert_eq!(res.status().as_u16(), 201);
    for n in [&a, &b, &c] {
        search_n(n, &[("q", "rewritten")], 1).await;
        search_n(n, &[("q", "posted")], 0).await;
        search_n(n, &[("q", "node")], 2).await;
    }
}

/// Whether any byte of the search index's files spells `word`.
fn in_index_files(dir: &std::path::Path, word: &str) -> bool {
    ["search.db", "search.db-wal"].iter().any(|f| {
        let bytes = std::fs::read(dir.join(f)).unwrap_or_default();
        bytes.windows(word.len()).any(|w| w == word.as_bytes())
    })
}

#[tokio::test]
async fn an_edit_is_found_by_its_new_text_and_a_deletion_leaves_no_trace() {
    let server = start_server().await;
    say(&server, "r", "ann", "zanzibarian travel plans").await;
    say(&server, "r", "bob", "unrelated chatter").await;
    search_n(&server, &[("q", "zanzibarian")], 1).await;
    let http = reqwest::Client::new();
    let url = server.http("/api/rooms/r/messages/1?user=ann");
    let res = http
        .patch(&url)
        .json(&json!({"text": "mombasan travel plans"}))
        .send()
        .await
        .expect("edit");
    assert_eq!(res.status().as_u16(), 201);
    search_n(&server, &[("q", "mombasan")], 1).await;
    search_n(&server, &[("q", "zanzibarian")], 0).await;
    search_n(&server, &[("q", "anzibar")], 0).await;

    let res = http.delete(&url).send().await.expect("delete");
    assert_eq!(res.status().as_u16(), 201);
    search_n(&server, &[("q", "travel")], 0).await;
    search_n(&server, &[("q", "mombasan")], 0).await;
    search_n(&server, &[("q", "from:ann")], 0).await;
    let dir = server.data.path().to_owned();
    retry(
        "no byte of the deleted texts in the index files",
        || async {
            (!in_index_files(&dir, "zanzibarian") && !in_index_files(&dir, "mombasan"))
                .then_some(())
        },
    )
    .await;
    search_n(&server, &[("q", "chatter")], 1).await;
}
