//! FITS `CHECKSUM`/`DATASUM` (FITS Standard 4.0, Appendix J): writing them through
//! cfitsio, and checking a written file independently of cfitsio.
//!
//! Both keywords rest on one 32-bit ones' complement sum of the big-endian words of a
//! unit. `DATASUM` is that sum over the data unit, as a decimal string; `CHECKSUM` is
//! an ASCII encoding chosen so that the sum over the whole HDU is −0 (`0xFFFFFFFF`).

use std::io::Read;

use fitsio::FitsFile;
use fitsio::hdu::FitsHdu;

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

/// Writes `DATASUM` (the caller's sum of the data unit) and `CHECKSUM` into `hdu`.
/// Call it last: any later change to the header or data invalidates both.
///
/// We write both cards ourselves before cfitsio's `ffpcks` fills in `CHECKSUM`:
/// left to itself, `ffpcks` puts the wall-clock time into their comments, which would
/// make the file depend on when it was written rather than only on the frame.
pub(super) fn write_checksum(
    file: &mut FitsFile,
    hdu: &FitsHdu,
    datasum: u32,
) -> Result<(), fitsio::errors::Error> {
    // Writing a key also makes `hdu` cfitsio's current HDU, the one `ffpcks` sums.
    hdu.write_key(file, "DATASUM", (datasum.to_string(), "data unit checksum"))?;
    hdu.write_key(file, "CHECKSUM", ("0000000000000000", "HDU checksum"))?;
    let mut status = 0;
    // SAFETY: `as_raw` hands out the live `fitsfile*` owned by `file`, which we hold
    // by `&mut` for the whole call, so nothing else uses or closes it meanwhile; the
    // pointer is not kept after the call. `ffpcks` only reads and writes the current
    // HDU through it and reports failure in `status`, which we check.
    unsafe {
        fitsio::sys::ffpcks(file.as_raw(), &mut status);
    }
    fitsio::errors::check_status(status)
}

/// What a read-back found wrong; the message is shown to the operator.
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
/// This is our own implementation, not cfitsio's, on purpose: cfitsio cannot report
/// a failed final flush (fitsio closes files in `Drop`), so reading the file back is
/// how we know the disk holds exactly the pixels we meant before it gets a final name.
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
    use fitsio::hdu::HduInfo;
    use fitsio::images::ImageType;

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

    /// A small u16 image written with cfitsio, then checked with our own reader.
    fn write_small(path: &std::path::Path, pixels: &[u16]) -> u32 {
        let mut f = FitsFile::create(path).open().unwrap();
        let mut hdu = f.primary_hdu().unwrap();
        hdu.info = HduInfo::ImageInfo { shape: vec![], image_type: ImageType::UnsignedShort };
        let hdu = hdu.resize(&mut f, &[3, 5]).unwrap();
        hdu.write_image(&mut f, pixels).unwrap();
        let mut sum = OnesSum::default();
        for p in pixels {
            sum.update(&(p ^ 0x8000).to_be_bytes());
        }
        write_checksum(&mut f, &hdu, sum.value()).unwrap();
        sum.value()
    }

    #[test]
    fn written_checksum_verifies_and_catches_a_flipped_bit() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("small.fits");
        let pixels: Vec<u16> = (0..15).map(|i| i * 4000 + 7).collect();
        let datasum = write_small(&path, &pixels);

        let bytes = std::fs::read(&path).unwrap();
        let n = verify_single_hdu(&bytes[..], 30, datasum).unwrap();
        assert_eq!(n, bytes.len() as u64);
        let header = String::from_utf8_lossy(&bytes[..BLOCK]);
        assert!(header.contains(&format!("DATASUM = '{datasum}'")), "{header}");
        assert!(!header.contains("CHECKSUM= '0000000000000000'"), "CHECKSUM was not filled in");
        // No wall-clock time in the comments (cfitsio's default would add one).
        assert!(!header.contains("updated"), "{header}");

        let data_start = bytes.len() - BLOCK;
        let mut flipped = bytes.clone();
        flipped[data_start + 3] ^= 0x01;
        let err = verify_single_hdu(&flipped[..], 30, datasum).unwrap_err();
        assert!(err.to_string().contains("DATASUM"), "{err}");

        let mut header_flip = bytes.clone();
        let object = header.find("NAXIS1").unwrap();
        header_flip[object + 28] ^= 0x01; // inside the value field of NAXIS1
        let err = verify_single_hdu(&header_flip[..], 30, datasum).unwrap_err();
        assert!(err.to_string().contains("CHECKSUM"), "{err}");

        let err = verify_single_hdu(&bytes[..bytes.len() - BLOCK], 30, datasum).unwrap_err();
        assert!(err.to_string().contains("data unit holds 0 bytes"), "{err}");
    }
}
