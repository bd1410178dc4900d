//! Images at upload (PNG, JPEG, GIF, WebP: the inline types of [`super::kind`]): their width and
//! height, read from the header; a thumbnail, decoded under `image::Limits` (no side over what
//! `--max-image-pixels` allows, no allocation over 4 bytes a pixel of it), so a decompression
//! bomb (a few KB that claim a gigapixel) is refused before anything is allocated for it; and
//! the metadata that may hold a location removed from what is kept and served.
//!
//! Location removal works on the bytes, without decoding: a JPEG loses its APP1 segments (EXIF,
//! where GPS lives, and XMP) and APP13 (IPTC), but for its orientation (`orientation.rs`); a PNG its `eXIf` and text chunks (`tEXt`, `zTXt`,
//! `iTXt`, where XMP lives); a WebP its `EXIF` and `XMP ` chunks (and the VP8X flags saying
//! they are there). The pixels are untouched. GIF has no such metadata. The thumbnail is
//! re-encoded from pixels (PNG), so it carries none either.

use std::fs::File;
use std::io::{self, BufReader, BufWriter, Read, Seek, SeekFrom, Write};

use image::ImageDecoder as _;
use std::path::Path;

use image::{ImageReader, Limits};
use sha2::{Digest, Sha256};

/// Why an image was refused.
#[derive(Debug, thiserror::Error)]
pub enum ImageError {
    #[error("the image is {0}×{1} pixels: more than --max-image-pixels allows")]
    TooLarge(u32, u32),
    #[error("the image cannot be read: {0}")]
    Bad(String),
    #[error("the image needs more memory to decode than --max-image-pixels allows: {0}")]
    Limits(String),
    #[error(transparent)]
    Io(#[from] io::Error),
}

/// Width and height from the header of the image at `path`, refused when over `max_pixels`.
pub fn dimensions(path: &Path, max_pixels: u64) -> Result<(u32, u32), ImageError> {
    let (w, h) = ImageReader::open(path)?
        .with_guessed_format()?
        .into_dimensions()
        .map_err(|e| ImageError::Bad(e.to_string()))?;
    if u64::from(w) * u64::from(h) > max_pixels {
        return Err(ImageError::TooLarge(w, h));
    }
    Ok((w, h))
}

/// Writes a PNG thumbnail (longest side `size`) of the image at `src` to `dst`, decoding under
/// limits from `max_pixels`, turned upright as its EXIF orientation says; returns the image's
/// width and height as shown (upright).
pub fn thumbnail(
    src: &Path,
    dst: &Path,
    size: u32,
    max_pixels: u64,
) -> Result<(u32, u32), ImageError> {
    let mut reader = ImageReader::open(src)?.with_guessed_format()?;
    let mut limits = Limits::default();
    let side = u32::try_from(max_pixels).unwrap_or(u32::MAX);
    limits.max_image_width = Some(side);
    limits.max_image_height = Some(side);
    limits.max_alloc = Some(max_pixels.saturating_mul(4).saturating_add(1 << 20));
    let mut budget = limits.clone();
    reader.limits(limits);
    let refused = |e: image::ImageError| match e {
        // Within the pixel count but over the memory it may take (e.g. 16 bits a channel).
        image::ImageError::Limits(l) => ImageError::Limits(l.to_string()),
        e => ImageError::Bad(e.to_string()),
    };
    let mut decoder = reader.into_decoder().map_err(refused)?;
    // The decoded pixels' allocation, checked before it is made (as `ImageReader::decode` does).
    budget.reserve(decoder.total_bytes()).map_err(refused)?;
    let orientation = decoder
        .orientation()
        .unwrap_or(image::metadata::Orientation::NoTransforms);
    let img = image::DynamicImage::from_decoder(decoder).map_err(refused)?;
    // The thumbnail is turned, not the image: turning it would take a second full buffer.
    let mut thumb = img.thumbnail(size, size);
    thumb.apply_orientation(orientation);
    use image::metadata::Orientation as O;
    let turned = matches!(
        orientation,
        O::Rotate90 | O::Rotate270 | O::Rotate90FlipH | O::Rotate270FlipH
    );
    let (w, h) = (img.width(), img.height());
    let shown = if turned { (h, w) } else { (w, h) };
    let mut out = BufWriter::new(File::create(dst)?);
    thumb
        .write_to(&mut out, image::ImageFormat::Png)
        .map_err(|e| ImageError::Bad(e.to_string()))?;
    out.flush()?;
    Ok(shown)
}

/// A writer that hashes and counts what passes through.
pub struct Hashing<W> {
    inner: W,
    pub hasher: Sha256,
    pub len: u64,
}

impl<W: Write> Hashing<W> {
    pub fn new(inner: W) -> Self {
        Hashing {
            inner,
            hasher: Sha256::new(),
            len: 0,
        }
    }
}

impl<W: Write> Write for Hashing<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hasher.update(&buf[..n]);
        self.len += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// Copies the image of type `content_type` at `src` to `dst` without its location-bearing
/// metadata (see the module docs); returns the hex SHA-256 and length of what was written.
pub fn strip(content_type: &str, src: &Path, dst: &Path) -> io::Result<(String, u64)> {
    let mut input = BufReader::new(File::open(src)?);
    let mut out = Hashing::new(BufWriter::new(File::create(dst)?));
    match content_type {
        "image/jpeg" => strip_jpeg(&mut input, &mut out)?,
        "image/png" => strip_png(&mut input, &mut out)?,
        "image/webp" => strip_webp(&mut input, &mut out)?,
        _ => {
            io::copy(&mut input, &mut out)?;
        }
    }
    out.flush()?;
    Ok((hex(&out.hasher.finalize()), out.len))
}

/// Lower-case hex.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn bad(what: &str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, what.to_owned())
}

/// JPEG: segments up to the scan are copied but APP1 and APP13 (an EXIF orientation is kept:
/// `orientation.rs`); the scan and the rest as is.
fn strip_jpeg(input: &mut impl Read, out: &mut impl Write) -> io::Result<()> {
    let mut soi = [0u8; 2];
    input.read_exact(&mut soi)?;
    if soi != [0xFF, 0xD8] {
        return Err(bad("not a JPEG"));
    }
    out.write_all(&soi)?;
    let mut oriented = false;
    loop {
        let mut marker = [0u8; 2];
        input.read_exact(&mut marker)?;
        while marker[1] == 0xFF {
            // Fill bytes before a marker.
            marker[1] = read_u8(input)?;
        }
        if marker[0] != 0xFF {
            return Err(bad("a JPEG marker was expected"));
        }
        let mut len = [0u8; 2];
        input.read_exact(&mut len)?;
        let body = usize::from(u16::from_be_bytes(len)).saturating_sub(2);
        let drop = matches!(marker[1], 0xE1 | 0xED);
        if drop && marker[1] == 0xE1 && !oriented {
            // EXIF lives in an APP1: its orientation alone is written back.
            let mut segment = Vec::with_capacity(body);
            input.take(body as u64).read_to_end(&mut segment)?;
            if let Some(o) = super::orientation::from_app1(&segment) {
                super::orientation::write_app1(out, o)?;
                oriented = true;
            }
            continue;
        }
        if drop {
            io::copy(&mut input.take(body as u64), &mut io::sink())?;
            continue;
        }
        out.write_all(&marker)?;
        out.write_all(&len)?;
        io::copy(&mut input.take(body as u64), out)?;
        if marker[1] == 0xDA {
            // Start of scan: the rest is entropy-coded data and later segments.
            io::copy(input, out)?;
            return Ok(());
        }
    }
}

fn read_u8(input: &mut impl Read) -> io::Result<u8> {
    let mut b = [0u8; 1];
    input.read_exact(&mut b)?;
    Ok(b[0])
}

/// PNG: chunks copied but `eXIf`, `tEXt`, `zTXt` and `iTXt`.
fn strip_png(input: &mut impl Read, out: &mut impl Write) -> io::Result<()> {
    let mut sig = [0u8; 8];
    input.read_exact(&mut sig)?;
    out.write_all(&sig)?;
    loop {
        let mut head = [0u8; 8];
        match input.read_exact(&mut head) {
            Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => return Ok(()),
            other => other?,
        }
        let len = u64::from(u32::from_be_bytes([head[0], head[1], head[2], head[3]]));
        let kind = &head[4..8];
        // Data and CRC.
        let rest = len + 4;
        if matches!(kind, b"eXIf" | b"tEXt" | b"zTXt" | b"iTXt") {
            io::copy(&mut input.take(rest), &mut io::sink())?;
        } else {
            out.write_all(&head)?;
            io::copy(&mut input.take(rest), out)?;
        }
        if kind == b"IEND" {
            return Ok(());
        }
    }
}

/// WebP: the RIFF chunks copied but `EXIF` and `XMP ` (the RIFF size and VP8X flags fixed).
fn strip_webp<R: Read + Seek>(input: &mut R, out: &mut impl Write) -> io::Result<()> {
    let mut head = [0u8; 12];
    input.read_exact(&mut head)?;
    if &head[..4] != b"RIFF" || &head[8..12] != b"WEBP" {
        return Err(bad("not a WebP"));
    }
    let chunks = webp_chunks(input)?;
    let kept: u64 = chunks
        .iter()
        .filter(|c| !c.dropped())
        .map(|c| 8 + c.padded())
        .sum();
    out.write_all(b"RIFF")?;
    out.write_all(&u32::try_from(4 + kept).unwrap_or(u32::MAX).to_le_bytes())?;
    out.write_all(b"WEBP")?;
    for c in chunks.iter().filter(|c| !c.dropped()) {
        input.seek(SeekFrom::Start(c.at + 8))?;
        out.write_all(&c.fourcc)?;
        out.write_all(&c.len.to_le_bytes())?;
        if &c.fourcc == b"VP8X" {
            let mut data = vec![0u8; c.padded() as usize];
            input.read_exact(&mut data)?;
            // Bit 3: EXIF present, bit 2: XMP present.
            if let Some(flags) = data.first_mut() {
                *flags &= !0x0C;
            }
            out.write_all(&data)?;
        } else {
            io::copy(&mut input.take(c.padded()), out)?;
        }
    }
    Ok(())
}

struct Chunk {
    at: u64,
    fourcc: [u8; 4],
    len: u32,
}

impl Chunk {
    fn dropped(&self) -> bool {
        &self.fourcc == b"EXIF" || &self.fourcc == b"XMP "
    }

    fn padded(&self) -> u64 {
        u64::from(self.len) + u64::from(self.len & 1)
    }
}

fn webp_chunks<R: Read + Seek>(input: &mut R) -> io::Result<Vec<Chunk>> {
    let mut chunks = Vec::new();
    let mut at = 12u64;
    loop {
        input.seek(SeekFrom::Start(at))?;
        let mut h = [0u8; 8];
        match input.read_exact(&mut h) {
            Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => return Ok(chunks),
            other => other?,
        }
        let c = Chunk {
            at,
            fourcc: [h[0], h[1], h[2], h[3]],
            len: u32::from_le_bytes([h[4], h[5], h[6], h[7]]),
        };
        at += 8 + c.padded();
        chunks.push(c);
        if chunks.len() > 10_000 {
            return Err(bad("too many WebP chunks"));
        }
    }
}
