//! Reading the structure of a FITS file ourselves (FITS Standard 4.0 §3–4): the cards
//! of each header and where each HDU's data starts and ends. This is what tells a
//! truncated file from a complete one — cfitsio opens a file whose data is cut short
//! and only fails later, when the pixels are read.

use std::io::{self, Read};

/// Size of a FITS block: headers and data units are padded to whole blocks.
pub(super) const BLOCK: u64 = 2880;
const CARD: usize = 80;
/// More header blocks than this is not a frame but garbage that happens to start
/// like FITS (cfitsio's own limit is far above what any camera writes).
const MAX_HEADER_BLOCKS: usize = 1000;

/// One header card's keyword and value text (the part after `= `, comment removed;
/// strings without their quotes).
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Card {
    pub key: String,
    pub value: Option<String>,
}

/// Where one HDU sits in the file, in bytes from its start.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct HduSpan {
    pub data_start: u64,
    /// Unpadded length of the data unit.
    pub data_bytes: u64,
    /// The padded end: where the next HDU starts.
    pub end: u64,
}

#[derive(Debug, Clone)]
pub(super) struct Layout {
    /// Cards of the primary header.
    pub primary: Vec<Card>,
    pub hdus: Vec<HduSpan>,
}

/// What makes a file not (complete) FITS; the message goes to the `.reason` file.
#[derive(Debug, thiserror::Error, PartialEq)]
pub(super) enum LayoutError {
    #[error("the file is empty")]
    Empty,
    #[error("it does not start with `SIMPLE  =                    T`, so it is not a FITS file")]
    NotFits,
    #[error(
        "the header of HDU {hdu} has no END card before the file ends (truncated after {bytes} bytes)"
    )]
    HeaderCut { hdu: usize, bytes: u64 },
    #[error(
        "the file is {actual} bytes long but its headers describe {expected} bytes (HDU {hdu} is cut short): truncated"
    )]
    Truncated { hdu: usize, expected: u64, actual: u64 },
    #[error("the header of HDU {hdu} is not standard FITS: {what}")]
    Invalid { hdu: usize, what: String },
    #[error("{extra} bytes follow the last HDU and are not a complete extension")]
    Trailing { extra: u64 },
}

impl Layout {
    pub fn value(&self, key: &str) -> Option<&str> {
        self.primary.iter().find(|c| c.key == key).and_then(|c| c.value.as_deref())
    }

    pub fn has(&self, key: &str) -> bool {
        self.primary.iter().any(|c| c.key == key)
    }
}

/// Reads every HDU header of a file of `len` bytes and checks that the data units
/// they describe are all there.
pub(super) fn read_layout(mut r: impl Read + io::Seek, len: u64) -> Result<Layout, ReadError> {
    if len == 0 {
        return Err(LayoutError::Empty.into());
    }
    let mut hdus = Vec::new();
    let mut primary = Vec::new();
    let mut start = 0u64;
    while start < len {
        let hdu = hdus.len() + 1;
        r.seek(io::SeekFrom::Start(start))?;
        let Some((cards, header_bytes)) = read_header(&mut r, hdu, start)? else {
            // Not an extension: bytes after the last HDU (the standard forbids them).
            return Err(LayoutError::Trailing { extra: len - start }.into());
        };
        if hdu == 1 && !is_simple(&cards) {
            return Err(LayoutError::NotFits.into());
        }
        let data_bytes = data_bytes(&cards, hdu)?;
        let data_start = start + header_bytes;
        let end = data_start + data_bytes.div_ceil(BLOCK) * BLOCK;
        if end > len {
            return Err(LayoutError::Truncated { hdu, expected: end, actual: len }.into());
        }
        if hdu == 1 {
            primary = cards;
        }
        hdus.push(HduSpan { data_start, data_bytes, end });
        start = end;
    }
    Ok(Layout { primary, hdus })
}

/// A failure reading the layout: the file is bad, or reading it failed.
#[derive(Debug, thiserror::Error)]
pub(super) enum ReadError {
    #[error(transparent)]
    Bad(#[from] LayoutError),
    #[error("{0}")]
    Io(#[from] io::Error),
}

fn is_simple(cards: &[Card]) -> bool {
    cards.first().is_some_and(|c| c.key == "SIMPLE" && c.value.as_deref() == Some("T"))
}

/// Reads header blocks up to and including the one with `END`. Returns the cards
/// and the header's length in bytes; `None` if an extension's first block does not
/// start with `XTENSION`.
fn read_header(
    r: &mut impl Read,
    hdu: usize,
    start: u64,
) -> Result<Option<(Vec<Card>, u64)>, ReadError> {
    let mut cards = Vec::new();
    let mut block = vec![0u8; BLOCK as usize];
    for n in 0..MAX_HEADER_BLOCKS {
        let got = read_full(r, &mut block)?;
        if got < block.len() {
            if hdu == 1 && n == 0 && !block[..got].starts_with(b"SIMPLE") {
                return Err(LayoutError::NotFits.into());
            }
            if hdu > 1 && n == 0 && !block[..got].starts_with(b"XTENSION") {
                return Ok(None);
            }
            let bytes = start + (n as u64) * BLOCK + got as u64;
            return Err(LayoutError::HeaderCut { hdu, bytes }.into());
        }
        if n == 0 && hdu == 1 && !block.starts_with(b"SIMPLE  =") {
            return Err(LayoutError::NotFits.into());
        }
        if n == 0 && hdu > 1 && !block.starts_with(b"XTENSION=") {
            return Ok(None);
        }
        for raw in block.chunks_exact(CARD) {
            if let Some(bad) = raw.iter().find(|b| !(0x20..=0x7e).contains(*b)) {
                let what = format!(
                    "a header card holds byte 0x{bad:02x}; only printable ASCII is allowed"
                );
                return Err(if hdu == 1 && n == 0 && cards.is_empty() {
                    LayoutError::NotFits
                } else {
                    LayoutError::Invalid { hdu, what }
                }
                .into());
            }
            let card = parse_card(raw);
            if card.key == "END" {
                return Ok(Some((cards, (n as u64 + 1) * BLOCK)));
            }
            cards.push(card);
        }
    }
    let what = format!("no END card within {MAX_HEADER_BLOCKS} header blocks");
    Err(LayoutError::Invalid { hdu, what }.into())
}

fn read_full(r: &mut impl Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut got = 0;
    while got < buf.len() {
        match r.read(&mut buf[got..]) {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(got)
}

/// One 80-byte card (printable ASCII, checked by the caller).
fn parse_card(raw: &[u8]) -> Card {
    let text = String::from_utf8_lossy(raw);
    let key = text[..8].trim_end().to_string();
    let value = text.get(8..10).filter(|s| *s == "= ").map(|_| value_text(&text[10..]));
    Card { key, value }
}

/// The value field: a quoted string (with `''` for a quote, trailing blanks not
/// significant) or the text before a `/` comment.
fn value_text(field: &str) -> String {
    let t = field.trim_start();
    if let Some(rest) = t.strip_prefix('\'') {
        let mut out = String::new();
        let mut chars = rest.chars().peekable();
        while let Some(c) = chars.next() {
            if c == '\'' {
                if chars.peek() == Some(&'\'') {
                    chars.next();
                    out.push('\'');
                } else {
                    break;
                }
            } else {
                out.push(c);
            }
        }
        return out.trim_end().to_string();
    }
    t.split('/').next().unwrap_or("").trim().to_string()
}

fn int(cards: &[Card], key: &str, hdu: usize) -> Result<Option<i64>, LayoutError> {
    match cards.iter().find(|c| c.key == key).and_then(|c| c.value.as_deref()) {
        None => Ok(None),
        Some(v) => v.parse().map(Some).map_err(|_| LayoutError::Invalid {
            hdu,
            what: format!("{key} = {v} is not an integer"),
        }),
    }
}

/// Data unit length from BITPIX, NAXISn, PCOUNT and GCOUNT (Standard §4.4.1).
fn data_bytes(cards: &[Card], hdu: usize) -> Result<u64, LayoutError> {
    let invalid = |what: String| LayoutError::Invalid { hdu, what };
    let need = |key: &str| -> Result<i64, LayoutError> {
        int(cards, key, hdu)?.ok_or_else(|| invalid(format!("mandatory keyword {key} is missing")))
    };
    let bitpix = need("BITPIX")?;
    if ![8, 16, 32, 64, -32, -64].contains(&bitpix) {
        return Err(invalid(format!("BITPIX = {bitpix} is not one of 8 16 32 64 -32 -64")));
    }
    let naxis = need("NAXIS")?;
    if !(0..=999).contains(&naxis) {
        return Err(invalid(format!("NAXIS = {naxis} is outside 0..999")));
    }
    if naxis == 0 {
        return Ok(0);
    }
    let mut n: u64 = 1;
    for i in 1..=naxis {
        let len = need(&format!("NAXIS{i}"))?;
        let len =
            u64::try_from(len).map_err(|_| invalid(format!("NAXIS{i} = {len} is negative")))?;
        n = n.checked_mul(len).ok_or_else(|| invalid("the axes multiply past 2^64".into()))?;
    }
    let pcount = int(cards, "PCOUNT", hdu)?.unwrap_or(0);
    let gcount = int(cards, "GCOUNT", hdu)?.unwrap_or(1);
    let (pcount, gcount) = (u64::try_from(pcount), u64::try_from(gcount));
    let (Ok(pcount), Ok(gcount)) = (pcount, gcount) else {
        return Err(invalid("PCOUNT or GCOUNT is negative".into()));
    };
    let bytes = bitpix.unsigned_abs() / 8;
    n.checked_add(pcount)
        .and_then(|n| n.checked_mul(gcount))
        .and_then(|n| n.checked_mul(bytes))
        .ok_or_else(|| invalid("the data unit size overflows".into()))
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;
    use std::io::Cursor;

    /// A header block of these cards (each padded to 80), END, padded to a block.
    pub fn header(cards: &[&str]) -> Vec<u8> {
        let mut h = Vec::new();
        for c in cards.iter().chain(&["END"]) {
            let mut card = c.as_bytes().to_vec();
            card.resize(CARD, b' ');
            h.extend(card);
        }
        h.resize(h.len().div_ceil(BLOCK as usize) * BLOCK as usize, b' ');
        h
    }

    /// A complete 16-bit image file with `extra` header cards.
    pub fn image(w: usize, h: usize, extra: &[&str]) -> Vec<u8> {
        let (nx, ny) = (format!("NAXIS1  = {w:>20}"), format!("NAXIS2  = {h:>20}"));
        let mut cards = vec![
            "SIMPLE  =                    T",
            "BITPIX  =                   16",
            "NAXIS   =                    2",
            nx.as_str(),
            ny.as_str(),
        ];
        cards.extend_from_slice(extra);
        let mut f = header(&cards);
        let data = w * h * 2;
        f.extend((0..data).map(|i| (i % 251) as u8));
        f.resize(f.len().div_ceil(BLOCK as usize) * BLOCK as usize, 0);
        f
    }

    fn layout(bytes: &[u8]) -> Result<Layout, LayoutError> {
        read_layout(Cursor::new(bytes), bytes.len() as u64).map_err(|e| match e {
            ReadError::Bad(b) => b,
            ReadError::Io(e) => panic!("{e}"),
        })
    }

    #[test]
    fn a_complete_image_has_its_data_where_the_header_says() {
        let f = image(
            100,
            40,
            &["DATE-OBS= '2026-11-24T22:01:07.123' / start", "EXPTIME =                 30.0"],
        );
        let l = layout(&f).unwrap();
        assert_eq!(l.hdus, [HduSpan { data_start: 2880, data_bytes: 8000, end: 2880 * 4 }]);
        assert_eq!(l.value("DATE-OBS"), Some("2026-11-24T22:01:07.123"));
        assert_eq!(l.value("EXPTIME"), Some("30.0"));
        assert!(l.has("NAXIS2") && !l.has("OBJECT"));
    }

    #[test]
    fn strings_keep_quotes_and_lose_trailing_blanks() {
        assert_eq!(value_text(" 'O''Hara   ' / name"), "O'Hara");
        assert_eq!(value_text("                 12.5 / [s]"), "12.5");
        assert_eq!(value_text("'a/b'"), "a/b");
    }

    #[test]
    fn truncation_anywhere_is_found() {
        let f = image(100, 40, &[]);
        for cut in [f.len() - 1, f.len() - 2880, 2880 + 10, 2880] {
            assert!(
                matches!(layout(&f[..cut]), Err(LayoutError::Truncated { hdu: 1, .. })),
                "cut at {cut}: {:?}",
                layout(&f[..cut])
            );
        }
        assert!(matches!(layout(&f[..2000]), Err(LayoutError::HeaderCut { hdu: 1, bytes: 2000 })));
        assert_eq!(layout(&[]).unwrap_err(), LayoutError::Empty);
    }

    #[test]
    fn non_fits_and_trailing_junk_are_refused() {
        assert_eq!(layout(b"hello world, not a frame").unwrap_err(), LayoutError::NotFits);
        assert_eq!(layout(&vec![0u8; 5760]).unwrap_err(), LayoutError::NotFits);
        let mut f = image(10, 10, &[]);
        f.extend(vec![b' '; 2880]);
        assert_eq!(layout(&f).unwrap_err(), LayoutError::Trailing { extra: 2880 });
    }

    #[test]
    fn extensions_are_walked() {
        let mut f = image(10, 10, &[]);
        f.extend(header(&[
            "XTENSION= 'IMAGE   '",
            "BITPIX  =                  -32",
            "NAXIS   =                    1",
            "NAXIS1  =                 1000",
            "PCOUNT  =                    0",
            "GCOUNT  =                    1",
        ]));
        f.extend(vec![0u8; 4000]);
        let whole = f.len() + (2880 - 4000 % 2880);
        f.resize(whole, 0);
        let l = layout(&f).unwrap();
        assert_eq!(l.hdus.len(), 2);
        assert_eq!(l.hdus[1].data_bytes, 4000);
        assert!(matches!(layout(&f[..f.len() - 2880]), Err(LayoutError::Truncated { hdu: 2, .. })));
    }

    #[test]
    fn bad_structure_says_which_key() {
        let f = header(&[
            "SIMPLE  =                    T",
            "BITPIX  =                   12",
            "NAXIS   =                    0",
        ]);
        let e = layout(&f).unwrap_err().to_string();
        assert!(e.contains("BITPIX = 12"), "{e}");
        let f = header(&[
            "SIMPLE  =                    T",
            "BITPIX  =                   16",
            "NAXIS   =                    2",
            "NAXIS1  =                   10",
        ]);
        let e = layout(&f).unwrap_err().to_string();
        assert!(e.contains("NAXIS2 is missing"), "{e}");
    }
}
