//! Reference server for Banter's benchmark (`just bench`): the naive axum pattern, as in axum's
//! `chat` example. One `tokio::sync::broadcast` channel of `String`s for everybody; per socket,
//! `socket.split()` and a task pair: a send task forwarding every broadcast `String` to the
//! socket, and a receive task publishing every text frame received; whichever ends first aborts
//! the other (`tokio::select!`).
//!
//! It speaks the classic `{user, message}` chat shape by relaying whatever text clients send,
//! untouched, to every connected client, the sender included (no protocol, no validation, no
//! `seq`, no history). `GET /` upgrades to a WebSocket with axum's default settings (buffers
//! untuned), on purpose: this is the pattern people copy, not a tuned server.
//!
//! The channel holds [`CAPACITY`] messages. A receiver more than that many behind gets
//! `RecvError::Lagged`, which ends the send task's `while let Ok(..)` loop and so drops the
//! client: that is what the naive pattern does, and it is kept.
//!
//! Usage: `naive-axum [PORT]` (default 8080), listening on 127.0.0.1.

use axum::Router;
use axum::extract::State;
use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::response::Response;
use axum::routing::get;
use futures_util::{SinkExt, StreamExt};
use tokio::sync::broadcast;

/// Broadcast channel capacity. axum's example uses 100; 1024 gives a slow member a little more
/// slack before it lags (and is dropped) under bursts, at no cost to the design: all receivers
/// share one ring of `CAPACITY` `String`s (each receiver clones the `String` it reads).
const CAPACITY: usize = 1024;

#[tokio::main]
async fn main() {
    let port: u16 = match std::env::args().nth(1) {
        Some(p) => p.parse().expect("PORT must be a number"),
        None => 8080,
    };
    let (tx, _rx) = broadcast::channel::<String>(CAPACITY);
    let app = Router::new().route("/", get(upgrade)).with_state(tx);
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
        .await
        .expect("bind");
    println!(
        "naive-axum broadcast server listening on ws://127.0.0.1:{port}/ (pid {})",
        std::process::id()
    );
    axum::serve(listener, app).await.expect("serve");
}

async fn upgrade(ws: WebSocketUpgrade, State(tx): State<broadcast::Sender<String>>) -> Response {
    ws.on_upgrade(move |socket| handle(socket, tx))
}

async fn handle(socket: WebSocket, tx: broadcast::Sender<String>) {
    let (mut sender, mut receiver) = socket.split();
    let mut rx = tx.subscribe();

    // Every broadcast message to this client; ends on `Lagged` (the client is dropped) or when
    // the socket fails.
    let mut send_task = tokio::spawn(async move {
        while let Ok(msg) = rx.recv().await {
            if sender.send(Message::Text(msg.into())).await.is_err() {
                break;
            }
        }
    });

    // Every text frame from this client to everybody. Pings are answered by axum itself; other
    // non-text frames are ignored; a close or an error ends the task.
    let mut recv_task = tokio::spawn(async move {
        while let Some(Ok(msg)) = receiver.next().await {
            match msg {
                Message::Text(text) => {
                    let _ = tx.send(text.to_string());
                }
                Message::Close(_) => break,
                _ => {}
            }
        }
    });

    tokio::select! {
        _ = &mut send_task => recv_task.abort(),
        _ = &mut recv_task => send_task.abort(),
    }
}
