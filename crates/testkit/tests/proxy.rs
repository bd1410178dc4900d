//! The cuttable proxy as a test uses it, in front of a real TCP echo server: bytes go through,
//! `cut` drops open connections (new ones still pass), `refuse` closes new ones at once until
//! `restore`.

use std::net::SocketAddr;

use banter_testkit::{Proxy, WAIT};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// An echo server on a free port.
async fn echo() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((mut s, _)) = listener.accept().await {
            tokio::spawn(async move {
                let (mut r, mut w) = s.split();
                let _ = tokio::io::copy(&mut r, &mut w).await;
            });
        }
    });
    addr
}

/// Sends `text` and reads as many bytes back; `None` if the connection ended first.
async fn round_trip(s: &mut TcpStream, text: &str) -> Option<String> {
    s.write_all(text.as_bytes()).await.ok()?;
    let mut buf = vec![0u8; text.len()];
    let read = tokio::time::timeout(WAIT, s.read_exact(&mut buf)).await;
    read.expect("an answer or a close in time").ok()?;
    Some(String::from_utf8(buf).unwrap())
}

/// Whether the connection is closed (reads end) rather than open and silent.
async fn closed(s: &mut TcpStream) -> bool {
    let mut buf = [0u8; 16];
    match tokio::time::timeout(WAIT, s.read(&mut buf)).await {
        Ok(Ok(0) | Err(_)) => true,
        Ok(Ok(_)) => false,
        Err(_) => false,
    }
}

#[tokio::test]
async fn cut_refuse_and_restore_act_as_a_network_failure() {
    let proxy = Proxy::start(echo().await).await;
    let mut a = TcpStream::connect(proxy.addr).await.unwrap();
    assert_eq!(round_trip(&mut a, "hello").await.as_deref(), Some("hello"));
    assert_eq!(proxy.open(), 1);

    proxy.cut();
    assert!(closed(&mut a).await, "a cut connection ends");
    let mut b = TcpStream::connect(proxy.addr).await.unwrap();
    assert_eq!(round_trip(&mut b, "again").await.as_deref(), Some("again"));

    proxy.refuse();
    proxy.cut();
    assert!(closed(&mut b).await);
    let mut c = TcpStream::connect(proxy.addr).await.unwrap();
    assert!(closed(&mut c).await, "refused while down");

    proxy.restore();
    let mut d = TcpStream::connect(proxy.addr).await.unwrap();
    assert_eq!(round_trip(&mut d, "back").await.as_deref(), Some("back"));
}
