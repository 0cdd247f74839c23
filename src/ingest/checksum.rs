//! FITS `CHECKSUM`/`DATASUM` (FITS Standard 4.0, Appendix J): the ones' complement
//! sum, the ASCII encoding of `CHECKSUM`, and reading the structure of a header to
//! check or fill in both.
//!
//! Both keywords rest on one 32-bit ones' complement sum of the big-endian words of a
//! unit. `DATASUM` is that sum over the data unit, as a decimal string; `CHECKSUM` is
//! an ASCII encoding chosen so that the sum over the whole HDU is −0 (`0xFFFFFFFF`).

#[cfg(test)]
use std::io::Read;

/// Size of a FITS block: headers and data units are padded to whole blocks.
pub(super) const BLOCK: usize = 2880;
/// One header card.
const CARD: usize = 80;

/// Running 32-bit ones' complement sum over a byte stream, fed in pieces of any
/// length (a piece may end inside a 4-byte word).
#[derive(Debug, Default, Clone)]
pub(super) struct OnesSum {
    sum: u64,
    partial: [u8; 4],
    filled: usize,
}

impl OnesSum {
    pub(super) fn update(&mut self, mut bytes: &[u8]) {
        if self.filled > 0 {
            let take = (4 - self.filled).min(bytes.len());
            self.partial[self.filled..self.filled + take].copy_from_slice(&bytes[..take]);
            self.filled += take;
            bytes = &bytes[take..];
            if self.filled < 4 {
                return;
            }
            self.sum += u64::from(u32::from_be_bytes(self.partial));
            self.filled = 0;
        }
        let mut words = bytes.chunks_exact(4);
        for w in &mut words {
            self.sum += u64::from(u32::from_be_bytes([w[0], w[1], w[2], w[3]]));
        }
        let rest = words.remainder();
        self.partial[..rest.len()].copy_from_slice(rest);
        self.filled = rest.len();
        // Fold the carries back in now, so the u64 never overflows however long the
        // stream (one piece adds at most 2^32 per word).
        self.sum = fold(self.sum);
    }

    /// Adds the plain (not yet folded) sum of whole big-endian words, summed by the
    /// caller while it had them in hand; keeps the stream's word alignment, so only
    /// valid while no part word is pending.
    pub(super) fn add_word_sum(&mut self, sum: u64) {
        debug_assert_eq!(self.filled, 0, "word sum added inside a word");
        self.sum = fold(self.sum + fold(sum));
    }

    /// The sum so far; a trailing part word counts as if padded with zeros, which is
    /// what FITS padding adds.
    pub(super) fn value(&self) -> u32 {
        let mut sum = self.sum;
        if self.filled > 0 {
            let mut word = [0u8; 4];
            word[..self.filled].copy_from_slice(&self.partial[..self.filled]);
            sum += u64::from(u32::from_be_bytes(word));
        }
        fold(sum) as u32
    }
}

fn fold(mut sum: u64) -> u64 {
    while sum >> 32 != 0 {
        sum = (sum & 0xFFFF_FFFF) + (sum >> 32);
    }
    sum
}

/// The 16 ASCII characters of a `CHECKSUM` value for `value` (FITS 4.0 Appendix J.2,
/// the algorithm of cfitsio's `ffesum`). To make an HDU sum to −0, encode the
/// complement of its sum taken with `CHECKSUM = '0000000000000000'`.
///
/// Each byte of `value` is spread over four characters near `'0'` whose sum is the
/// byte plus four `'0'`s, avoiding punctuation; the result is rotated one place right
/// because the value starts at byte 11 of its card, one short of a 4-byte word.
pub(super) fn encode(value: u32) -> [u8; 16] {
    const EXCLUDE: [u8; 13] =
        [0x3a, 0x3b, 0x3c, 0x3d, 0x3e, 0x3f, 0x40, 0x5b, 0x5c, 0x5d, 0x5e, 0x5f, 0x60];
    let mut asc = [0u8; 16];
    for (i, byte) in value.to_be_bytes().into_iter().enumerate() {
        let quotient = byte / 4 + b'0';
        let mut ch = [quotient; 4];
        ch[0] += byte % 4;
        // Move pairs apart (one up, one down: same sum) until none is punctuation.
        let mut moved = true;
        while moved {
            moved = false;
            for j in [0, 2] {
                if EXCLUDE.contains(&ch[j]) || EXCLUDE.contains(&ch[j + 1]) {
                    ch[j] += 1;
                    ch[j + 1] -= 1;
                    moved = true;
                }
            }
        }
        for (j, c) in ch.into_iter().enumerate() {
            asc[4 * j + i] = c;
        }
    }
    std::array::from_fn(|k| asc[(k + 15) % 16])
}

/// What a read-back found wrong.
#[cfg(test)]
#[derive(Debug, thiserror::Error)]
pub(super) enum VerifyError {
    #[error("could not read it back: {0}")]
    Io(#[from] std::io::Error),
    #[error("{0}")]
    Bad(String),
}

/// Reads a single-HDU FITS file and checks that its `CHECKSUM` makes the HDU sum to
/// −0, that `DATASUM` matches its data unit, that the data unit is `data_bytes` long
/// (plus padding) and sums to `expected_datasum`. Returns the bytes read.
///
/// The tests' independent checker of what the writer produced (the archive no longer
/// reads frames back: see `archive::write_and_place`).
#[cfg(test)]
pub(super) fn verify_single_hdu(
    mut reader: impl Read,
    data_bytes: u64,
    expected_datasum: u32,
) -> Result<u64, VerifyError> {
    let bad = |m: String| VerifyError::Bad(m);
    let mut hdu_sum = OnesSum::default();
    let mut block = vec![0u8; BLOCK];
    let mut datasum_card: Option<u32> = None;
    let mut header_blocks = 0u64;
    'header: loop {
        reader.read_exact(&mut block).map_err(|e| match e.kind() {
            std::io::ErrorKind::UnexpectedEof => bad("the header has no END card".into()),
            _ => VerifyError::Io(e),
        })?;
        header_blocks += 1;
        hdu_sum.update(&block);
        for card in block.chunks_exact(CARD) {
            let key = String::from_utf8_lossy(&card[..8]);
            match key.trim_end() {
                "END" => break 'header,
                "DATASUM" => {
                    datasum_card = Some(parse_datasum(card).ok_or_else(|| {
                        bad(format!("unreadable DATASUM card `{}`", String::from_utf8_lossy(card)))
                    })?)
                }
                _ => {}
            }
        }
    }
    let datasum_card = datasum_card.ok_or_else(|| bad("no DATASUM card".into()))?;

    let padded = data_bytes.div_ceil(BLOCK as u64) * BLOCK as u64;
    let mut data_sum = OnesSum::default();
    let mut buf = vec![0u8; 256 * BLOCK];
    let mut read = 0u64;
    loop {
        let n = reader.read(&mut buf)?;
        if n == 0 {
            break;
        }
        data_sum.update(&buf[..n]);
        read += n as u64;
    }
    if read != padded {
        return Err(bad(format!("data unit holds {read} bytes, expected {padded}")));
    }
    let data = data_sum.value();
    if data != datasum_card {
        return Err(bad(format!("DATASUM says {datasum_card} but the data unit sums to {data}")));
    }
    if data != expected_datasum {
        return Err(bad(format!(
            "data unit sums to {data} but the pixels written sum to {expected_datasum}"
        )));
    }
    hdu_sum.update(&data.to_be_bytes());
    if hdu_sum.value() != 0xFFFF_FFFF {
        return Err(bad(format!(
            "CHECKSUM does not verify (HDU sums to {:#010x})",
            hdu_sum.value()
        )));
    }
    Ok(header_blocks * BLOCK as u64 + read)
}

/// Checks a complete header against the data unit sum it claims: its `DATASUM` card
/// says `datasum`, and header plus data sum to −0. Microseconds; catches a header
/// changed after sealing.
pub(super) fn verify_header(header: &[u8], datasum: u32) -> Result<(), String> {
    let card = find_card(header, "DATASUM").ok_or("no DATASUM card")?;
    let claimed = parse_datasum(&header[card * CARD..][..CARD]).ok_or("unreadable DATASUM")?;
    if claimed != datasum {
        return Err(format!("DATASUM says {claimed} but the data unit sums to {datasum}"));
    }
    let mut sum = OnesSum::default();
    sum.update(header);
    sum.update(&datasum.to_be_bytes());
    if sum.value() != 0xFFFF_FFFF {
        return Err(format!("CHECKSUM does not verify (HDU sums to {:#010x})", sum.value()));
    }
    Ok(())
}

/// Index of the card `key` in a header (whole cards), if present before `END`.
pub(super) fn find_card(header: &[u8], key: &str) -> Option<usize> {
    for (i, card) in header.chunks_exact(CARD).enumerate() {
        let k = std::str::from_utf8(&card[..8]).ok()?.trim_end();
        if k == key {
            return Some(i);
        }
        if k == "END" {
            return None;
        }
    }
    None
}

/// The integer value of the card `key` (a fixed-format or free-format integer).
pub(super) fn card_int(header: &[u8], key: &str) -> Option<i64> {
    let card = &header[find_card(header, key)? * CARD..][..CARD];
    if &card[8..10] != b"= " {
        return None;
    }
    let value = std::str::from_utf8(&card[10..]).ok()?;
    value.split('/').next()?.trim().parse().ok()
}

/// Whether a header block holds the `END` card.
pub(super) fn has_end(block: &[u8]) -> bool {
    block.chunks_exact(CARD).any(|c| c.starts_with(b"END") && c[3..].iter().all(|&b| b == b' '))
}

/// Length of an HDU's data unit (before padding) from its header's structural
/// keywords (FITS 4.0 §4.4.1): |BITPIX|/8 × GCOUNT × (PCOUNT + NAXIS1 × … × NAXISn).
pub(super) fn data_unit_bytes(header: &[u8]) -> Result<u64, String> {
    let int = |k: &str| card_int(header, k).ok_or_else(|| format!("no readable {k} card"));
    let bitpix = int("BITPIX")?;
    let naxis = int("NAXIS")?;
    if !matches!(bitpix, 8 | 16 | 32 | 64 | -32 | -64) || !(0..=999).contains(&naxis) {
        return Err(format!("BITPIX {bitpix} / NAXIS {naxis} are not valid FITS"));
    }
    if naxis == 0 {
        return Ok(0);
    }
    let mut pixels: u64 = 1;
    for i in 1..=naxis {
        let n = u64::try_from(int(&format!("NAXIS{i}"))?).map_err(|_| "negative NAXISn")?;
        pixels = pixels.checked_mul(n).ok_or("NAXISn overflow")?;
    }
    let pcount = card_int(header, "PCOUNT").unwrap_or(0);
    let gcount = card_int(header, "GCOUNT").unwrap_or(1);
    let (p, g) = (u64::try_from(pcount), u64::try_from(gcount));
    let (Ok(p), Ok(g)) = (p, g) else { return Err("negative PCOUNT or GCOUNT".into()) };
    pixels
        .checked_add(p)
        .and_then(|n| n.checked_mul(g))
        .and_then(|n| n.checked_mul(bitpix.unsigned_abs() / 8))
        .ok_or_else(|| "data unit size overflows".into())
}

/// `DATASUM = '1234567'` → 1234567.
fn parse_datasum(card: &[u8]) -> Option<u32> {
    let text = std::str::from_utf8(card.get(10..)?).ok()?;
    let value = text.trim_start().strip_prefix('\'')?;
    let end = value.find('\'')?;
    value[..end].trim().parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ones_sum_wraps_carries_and_accepts_any_split() {
        // 0x80000000 + 0x80000001 overflows to 1, plus the end-around carry: 2.
        let bytes = [0x80, 0, 0, 0, 0x80, 0, 0, 1];
        let mut whole = OnesSum::default();
        whole.update(&bytes);
        assert_eq!(whole.value(), 2);
        for split in 0..bytes.len() {
            let mut parts = OnesSum::default();
            parts.update(&bytes[..split]);
            parts.update(&bytes[split..]);
            assert_eq!(parts.value(), 2, "split at {split}");
        }
        // A trailing half word counts as zero-padded.
        let mut short = OnesSum::default();
        short.update(&[0x12, 0x34]);
        assert_eq!(short.value(), 0x1234_0000);
    }
}
