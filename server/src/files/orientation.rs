//! A JPEG's EXIF orientation, kept through the location stripping (`image.rs`): a phone stores a
//! portrait photo as landscape pixels with an Orientation tag, and dropping the whole EXIF
//! segment would show it turned. So the tag alone is read from the APP1 segment being dropped
//! ([`from_app1`]) and written back as a minimal EXIF segment holding nothing else
//! ([`write_app1`]): no position, no camera, no time.

use std::io::{self, Write};

/// The EXIF tag of the orientation (a SHORT in IFD0).
const ORIENTATION: u16 = 0x0112;

/// The orientation (2 to 8; 1, the upright default, is not worth keeping) in an APP1 segment's
/// body, when it is EXIF and holds one.
pub fn from_app1(segment: &[u8]) -> Option<u16> {
    let tiff = segment.strip_prefix(b"Exif\0\0")?;
    let big = match tiff.get(..2)? {
        b"MM" => true,
        b"II" => false,
        _ => return None,
    };
    let u16_at = |i: usize| -> Option<u16> {
        let b: [u8; 2] = tiff.get(i..i.checked_add(2)?)?.try_into().ok()?;
        Some(if big {
            u16::from_be_bytes(b)
        } else {
            u16::from_le_bytes(b)
        })
    };
    let u32_at = |i: usize| -> Option<u32> {
        let b: [u8; 4] = tiff.get(i..i.checked_add(4)?)?.try_into().ok()?;
        Some(if big {
            u32::from_be_bytes(b)
        } else {
            u32::from_le_bytes(b)
        })
    };
    let ifd = usize::try_from(u32_at(4)?).ok()?;
    let entries = usize::from(u16_at(ifd)?);
    (0..entries.min(256))
        .map(|k| ifd + 2 + 12 * k)
        .find(|&e| u16_at(e) == Some(ORIENTATION) && u16_at(e + 2) == Some(3))
        .and_then(|e| u16_at(e + 8))
        .filter(|o| (2..=8).contains(o))
}

/// Writes an APP1 segment whose EXIF holds only `orientation` (big-endian TIFF, IFD0 of one
/// entry).
pub fn write_app1(out: &mut impl Write, orientation: u16) -> io::Result<()> {
    let mut seg: Vec<u8> = vec![0xFF, 0xE1, 0, 34];
    seg.extend_from_slice(b"Exif\0\0MM\0\x2a\0\0\0\x08\0\x01");
    seg.extend_from_slice(&ORIENTATION.to_be_bytes());
    seg.extend_from_slice(&[0, 3, 0, 0, 0, 1]);
    seg.extend_from_slice(&orientation.to_be_bytes());
    seg.extend_from_slice(&[0, 0, 0, 0, 0, 0]);
    debug_assert_eq!(seg.len(), 36);
    out.write_all(&seg)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_orientation_alone_goes_through() {
        let mut app1 = Vec::new();
        write_app1(&mut app1, 6).unwrap();
        assert_eq!(from_app1(&app1[4..]), Some(6));
        let mut little = b"Exif\0\0II\x2a\0\x08\0\0\0\x01\0".to_vec();
        little.extend_from_slice(&[0x12, 0x01, 3, 0, 1, 0, 0, 0, 8, 0, 0, 0, 0, 0, 0, 0]);
        assert_eq!(from_app1(&little), Some(8));
        assert_eq!(from_app1(b"http://ns.adobe.com/xap/1.0/\0<x/>"), None);
        assert_eq!(from_app1(b"Exif\0\0MM\0\x2a\xff\xff\xff\xff"), None);
    }
}
