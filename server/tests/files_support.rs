//! Helpers of `files.rs` and `files_s3.rs`: uploads and downloads over HTTP, images made for
//! the tests (a PNG, a PNG header claiming a gigapixel, a JPEG with an EXIF GPS position), and
//! looks into the data directory.
#![allow(dead_code)]

use std::io::Cursor;
use std::path::{Path, PathBuf};

use banter_testkit::Endpoint;
use reqwest::StatusCode;
use serde_json::Value;
use sha2::{Digest, Sha256};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// `POST /api/rooms/{room}/files?name=…&user=…` with `bytes` as `content_type`.
pub async fn upload_raw(
    server: &impl Endpoint,
    room: &str,
    user: &str,
    name: &str,
    content_type: &str,
    bytes: Vec<u8>,
) -> reqwest::Response {
    reqwest::Client::new()
        .post(format!("http://{}/api/rooms/{room}/files", server.addr()))
        .query(&[("name", name), ("user", user)])
        .header("content-type", content_type)
        .body(bytes)
        .send()
        .await
        .expect("upload")
}

/// [`upload_raw`], answered as its status and JSON.
pub async fn upload(
    server: &impl Endpoint,
    room: &str,
    user: &str,
    name: &str,
    content_type: &str,
    bytes: Vec<u8>,
) -> (StatusCode, Value) {
    let res = upload_raw(server, room, user, name, content_type, bytes).await;
    let status = res.status();
    (status, res.json().await.unwrap_or(Value::Null))
}

/// An upload with a chunked body (no `content-length`), over a plain socket; its status.
pub async fn upload_streamed(
    server: &impl Endpoint,
    room: &str,
    user: &str,
    bytes: Vec<u8>,
) -> StatusCode {
    let mut s = tokio::net::TcpStream::connect(server.addr()).await.unwrap();
    let head = format!(
        "POST /api/rooms/{room}/files?name=s.bin&user={user} HTTP/1.1\r\nhost: x\r\n\
         content-type: application/zip\r\ntransfer-encoding: chunked\r\nconnection: close\r\n\r\n"
    );
    s.write_all(head.as_bytes()).await.unwrap();
    for chunk in bytes.chunks(500) {
        // The server may answer and close before the whole body is sent.
        if s.write_all(format!("{:x}\r\n", chunk.len()).as_bytes())
            .await
            .is_err()
            || s.write_all(chunk).await.is_err()
            || s.write_all(b"\r\n").await.is_err()
        {
            break;
        }
    }
    let _ = s.write_all(b"0\r\n\r\n").await;
    let mut answer = Vec::new();
    let _ = s.read_to_end(&mut answer).await;
    let line = String::from_utf8_lossy(&answer);
    let code: u16 = line
        .split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .expect("a status line");
    StatusCode::from_u16(code).unwrap()
}

/// `GET /api/files/{id}{suffix}`.
pub async fn fetch(server: &impl Endpoint, id: &str, suffix: &str) -> reqwest::Response {
    reqwest::get(format!("http://{}/api/files/{id}{suffix}", server.addr()))
        .await
        .expect("get")
}

/// `DELETE /api/rooms/{room}/messages/{seq}?user=…`, which must be stored.
pub async fn delete(server: &impl Endpoint, room: &str, seq: u64, user: &str) {
    let res = reqwest::Client::new()
        .delete(format!(
            "http://{}/api/rooms/{room}/messages/{seq}",
            server.addr()
        ))
        .query(&[("user", user)])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::CREATED);
}

pub fn header(res: &reqwest::Response, name: &str) -> String {
    res.headers()
        .get(name)
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default()
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// A real PNG of `w`×`h` pixels.
pub fn png(w: u32, h: u32) -> Vec<u8> {
    let img = image::RgbImage::from_fn(w, h, |x, y| image::Rgb([x as u8, y as u8, 90]));
    let mut out = Cursor::new(Vec::new());
    img.write_to(&mut out, image::ImageFormat::Png).unwrap();
    out.into_inner()
}

/// A 16-bit RGBA PNG of `w`×`h` zero pixels: small on disk, 8 bytes a pixel decoded.
pub fn png16_zeros(w: u32, h: u32) -> Vec<u8> {
    let img = image::ImageBuffer::<image::Rgba<u16>, Vec<u16>>::new(w, h);
    let mut out = Cursor::new(Vec::new());
    img.write_to(&mut out, image::ImageFormat::Png).unwrap();
    out.into_inner()
}

fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = 0xFFFF_FFFFu32;
    for &b in bytes {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

fn png_chunk(out: &mut Vec<u8>, kind: &[u8; 4], data: &[u8]) {
    out.extend_from_slice(&(data.len() as u32).to_be_bytes());
    let mut body = kind.to_vec();
    body.extend_from_slice(data);
    out.extend_from_slice(&body);
    out.extend_from_slice(&crc32(&body).to_be_bytes());
}

/// A PNG that claims `w`×`h` grayscale pixels and holds a few bytes of data: what a
/// decompression bomb looks like before it is inflated.
pub fn png_header_only(w: u32, h: u32) -> Vec<u8> {
    let mut out = b"\x89PNG\r\n\x1a\n".to_vec();
    let mut ihdr = Vec::new();
    ihdr.extend_from_slice(&w.to_be_bytes());
    ihdr.extend_from_slice(&h.to_be_bytes());
    ihdr.extend_from_slice(&[8, 0, 0, 0, 0]);
    png_chunk(&mut out, b"IHDR", &ihdr);
    // A zlib stream of a few zero bytes.
    png_chunk(
        &mut out,
        b"IDAT",
        &[0x78, 0x9c, 0x63, 0x60, 0x00, 0x00, 0x00, 0x02, 0x00, 0x01],
    );
    png_chunk(&mut out, b"IEND", &[]);
    out
}

/// The bytes of the GPS latitude written by [`jpeg_with_gps`]: 51° 30' 26" as rationals.
pub const GPS_MARK: &[u8] = &[
    0, 0, 0, 51, 0, 0, 0, 1, 0, 0, 0, 30, 0, 0, 0, 1, 0, 0, 0, 26,
];

/// A JPEG of `w`×`h` with an EXIF APP1 segment holding a GPS IFD (latitude N 51° 30' 26").
pub fn jpeg_with_gps(w: u32, h: u32) -> Vec<u8> {
    jpeg_with_exif(w, h, &gps_tiff())
}

/// A JPEG of `w`×`h` whose EXIF APP1 segment (right after its start) holds `tiff`.
fn jpeg_with_exif(w: u32, h: u32, tiff: &[u8]) -> Vec<u8> {
    let img = image::RgbImage::from_fn(w, h, |x, y| image::Rgb([x as u8, y as u8, 30]));
    let mut plain = Cursor::new(Vec::new());
    img.write_to(&mut plain, image::ImageFormat::Jpeg).unwrap();
    let plain = plain.into_inner();
    let mut app1 = b"Exif\0\0".to_vec();
    app1.extend_from_slice(tiff);
    let mut out = plain[..2].to_vec();
    out.extend_from_slice(&[0xFF, 0xE1]);
    out.extend_from_slice(&((app1.len() + 2) as u16).to_be_bytes());
    out.extend_from_slice(&app1);
    out.extend_from_slice(&plain[2..]);
    out
}

/// A JPEG of `w`×`h` pixels stored turned, as phones store a portrait photo: its EXIF says
/// orientation 6 (show it turned 90° clockwise) and holds a GPS position ([`GPS_MARK`]).
pub fn jpeg_turned_with_gps(w: u32, h: u32) -> Vec<u8> {
    // Big-endian TIFF: IFD0 at 8 with Orientation = 6 and GPSInfo -> 38; the GPS IFD at 38
    // (latitude ref and latitude -> 68); the rationals at 68.
    let mut tiff: Vec<u8> = b"MM\0\x2a\0\0\0\x08".to_vec();
    tiff.extend_from_slice(&[0, 2]);
    tiff.extend_from_slice(&[0x01, 0x12, 0, 3, 0, 0, 0, 1, 0, 6, 0, 0]);
    tiff.extend_from_slice(&[0x88, 0x25, 0, 4, 0, 0, 0, 1, 0, 0, 0, 38]);
    tiff.extend_from_slice(&[0, 0, 0, 0]);
    tiff.extend_from_slice(&[0, 2]);
    tiff.extend_from_slice(&[0, 1, 0, 2, 0, 0, 0, 2, b'N', 0, 0, 0]);
    tiff.extend_from_slice(&[0, 2, 0, 5, 0, 0, 0, 3, 0, 0, 0, 68]);
    tiff.extend_from_slice(&[0, 0, 0, 0]);
    assert_eq!(tiff.len(), 68);
    tiff.extend_from_slice(GPS_MARK);
    jpeg_with_exif(w, h, &tiff)
}

/// A TIFF (EXIF) block with a GPS IFD holding [`GPS_MARK`]. Big-endian: IFD0 at 8 with one
/// entry (GPSInfo → 26), the GPS IFD at 26 with two entries (GPSLatitudeRef "N", GPSLatitude →
/// 56), then the three rationals at 56.
pub fn gps_tiff() -> Vec<u8> {
    let mut tiff: Vec<u8> = b"MM\0\x2a\0\0\0\x08".to_vec();
    tiff.extend_from_slice(&[0, 1]);
    tiff.extend_from_slice(&[0x88, 0x25, 0, 4, 0, 0, 0, 1, 0, 0, 0, 26]);
    tiff.extend_from_slice(&[0, 0, 0, 0]);
    tiff.extend_from_slice(&[0, 2]);
    tiff.extend_from_slice(&[0, 1, 0, 2, 0, 0, 0, 2, b'N', 0, 0, 0]);
    tiff.extend_from_slice(&[0, 2, 0, 5, 0, 0, 0, 3, 0, 0, 0, 56]);
    tiff.extend_from_slice(&[0, 0, 0, 0]);
    assert_eq!(tiff.len(), 56);
    tiff.extend_from_slice(GPS_MARK);
    tiff.extend_from_slice(&[0, 0, 0, 0]);
    tiff
}

/// A PNG of `w`×`h` with an `eXIf` chunk holding a GPS position.
pub fn png_with_gps(w: u32, h: u32) -> Vec<u8> {
    let plain = png(w, h);
    // The signature and IHDR (8 + 25 bytes), then the eXIf chunk, then the rest.
    let mut out = plain[..33].to_vec();
    png_chunk(&mut out, b"eXIf", &gps_tiff());
    out.extend_from_slice(&plain[33..]);
    out
}

/// A WebP of `w`×`h` (lossless) in the extended format, with an `EXIF` chunk holding a GPS
/// position.
pub fn webp_with_gps(w: u32, h: u32) -> Vec<u8> {
    let img = image::RgbaImage::from_fn(w, h, |x, y| image::Rgba([x as u8, y as u8, 60, 255]));
    let mut plain = Cursor::new(Vec::new());
    img.write_to(&mut plain, image::ImageFormat::WebP).unwrap();
    let plain = plain.into_inner();
    assert_eq!(&plain[12..16], b"VP8L", "a simple lossless WebP");
    let image_chunk = &plain[12..];
    let mut vp8x = vec![0x08 | 0x10, 0, 0, 0];
    vp8x.extend_from_slice(&(w - 1).to_le_bytes()[..3]);
    vp8x.extend_from_slice(&(h - 1).to_le_bytes()[..3]);
    let mut body = b"WEBP".to_vec();
    riff_chunk(&mut body, b"VP8X", &vp8x);
    body.extend_from_slice(image_chunk);
    riff_chunk(&mut body, b"EXIF", &gps_tiff());
    let mut out = b"RIFF".to_vec();
    out.extend_from_slice(&(body.len() as u32).to_le_bytes());
    out.extend_from_slice(&body);
    out
}

fn riff_chunk(out: &mut Vec<u8>, kind: &[u8; 4], data: &[u8]) {
    out.extend_from_slice(kind);
    out.extend_from_slice(&(data.len() as u32).to_le_bytes());
    out.extend_from_slice(data);
    if data.len() % 2 == 1 {
        out.push(0);
    }
}

pub fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

/// Every file under `dir`.
pub fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return out;
    };
    for e in entries.flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p);
        }
    }
    out
}

/// Files kept in the server's data directory (temporary uploads aside).
pub fn stored_files(server: &banter_testkit::Banter) -> usize {
    let dir = server.data_dir().unwrap().join("files");
    walk(&dir)
        .into_iter()
        .filter(|p| !p.starts_with(dir.join("tmp")))
        .count()
}
