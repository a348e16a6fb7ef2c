//! A direct reader of the sample data of plain PCM / IEEE-float WAV files
//! (16/24/32-bit integer, 32/64-bit float, plain or WAVE_FORMAT_EXTENSIBLE
//! headers): the `data` chunk is read in large blocks and converted straight
//! into planar `f64`, without symphonia's packet decode and its copies.
//!
//! It is only a fast path behind [`crate::AudioReader`]: the file is first
//! opened, checked and its first packet decoded by symphonia as always (so
//! every header error stays symphonia's and sheen's), then this module
//! re-parses the RIFF header and takes over *only* when its reading agrees
//! with symphonia's on every point (channels, rate, bits, declared frames)
//! and the whole `data` chunk is present in the file. Anything else
//! (truncated files, odd headers, 8-bit, A-law, RF64, …) stays on symphonia.
//!
//! The samples are the ones symphonia gives, bit for bit: integers are
//! sign-extended and divided by `2^(bits-1)` (symphonia's `FromSample`
//! conversions), floats are widened with `as f64`.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::Path;

/// Bytes read per block at most (a whole number of frames is taken from
/// it).
const BLOCK_BYTES: usize = 1 << 18;
/// Bytes read per block at least: a read of a few thousand frames refills
/// about what it asks for, so the block is still in the L1/L2 cache when
/// it is converted (a 256 KiB block per stem of a 16-track mix is not).
const MIN_BLOCK_BYTES: usize = 1 << 15;

/// The stored sample encoding.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Encoding {
    I16,
    I24,
    I32,
    F32,
    F64,
}

impl Encoding {
    fn width(self) -> usize {
        match self {
            Self::I16 => 2,
            Self::I24 => 3,
            Self::I32 | Self::F32 => 4,
            Self::F64 => 8,
        }
    }

    /// Bits per sample as sheen reports it ([`crate::AudioInfo::bits_per_sample`]).
    pub(crate) fn bits(self) -> u32 {
        self.width() as u32 * 8
    }
}

/// What the RIFF header says about the audio data.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Layout {
    pub encoding: Encoding,
    pub channels: usize,
    pub rate_hz: u32,
    /// Byte offset of the first sample in the file.
    pub data_start: u64,
    /// Frames in the `data` chunk.
    pub frames: u64,
}

impl Layout {
    /// Bytes per frame.
    pub fn frame_bytes(&self) -> usize {
        self.encoding.width() * self.channels
    }
}

const GUID_TAIL: [u8; 14] = [
    0x00, 0x00, 0x00, 0x00, 0x10, 0x00, 0x80, 0x00, 0x00, 0xaa, 0x00, 0x38, 0x9b, 0x71,
];

fn u16_at(b: &[u8], i: usize) -> u16 {
    u16::from_le_bytes([b[i], b[i + 1]])
}

fn u32_at(b: &[u8], i: usize) -> u32 {
    u32::from_le_bytes([b[i], b[i + 1], b[i + 2], b[i + 3]])
}

/// Parses the RIFF/WAVE header of `path`. `None` for anything but a
/// complete, plain PCM (16/24/32-bit) or float (32/64-bit) file whose
/// `data` chunk lies wholly inside the file and the RIFF chunk.
pub(crate) fn probe(path: &Path) -> Option<Layout> {
    let mut f = File::open(path).ok()?;
    let file_len = f.metadata().ok()?.len();
    let mut head = [0u8; 12];
    f.read_exact(&mut head).ok()?;
    if &head[0..4] != b"RIFF" || &head[8..12] != b"WAVE" {
        return None;
    }
    let riff_len = u32_at(&head, 4);
    if riff_len == u32::MAX {
        return None; // streamed (unknown length): leave it to symphonia
    }
    let riff_end = 8 + u64::from(riff_len);
    let mut pos = 12u64;
    let mut fmt: Option<(Encoding, usize, u32)> = None;
    loop {
        let mut ch = [0u8; 8];
        f.seek(SeekFrom::Start(pos)).ok()?;
        f.read_exact(&mut ch).ok()?;
        let len = u64::from(u32_at(&ch, 4));
        let body = pos + 8;
        match &ch[0..4] {
            b"fmt " => {
                if fmt.is_some() || !(16..=40).contains(&len) {
                    return None;
                }
                let mut b = vec![0u8; len as usize];
                f.read_exact(&mut b).ok()?;
                fmt = Some(parse_fmt(&b)?);
            }
            b"data" => {
                let (encoding, channels, rate_hz) = fmt?;
                let fb = (encoding.width() * channels) as u64;
                let end = body.checked_add(len)?;
                if len == u64::from(u32::MAX) || len % fb != 0 || end > file_len || end > riff_end {
                    return None;
                }
                return Some(Layout {
                    encoding,
                    channels,
                    rate_hz,
                    data_start: body,
                    frames: len / fb,
                });
            }
            _ => {}
        }
        // chunks are padded to an even length
        pos = body.checked_add(len + (len & 1))?;
        if pos + 8 > riff_end.min(file_len) {
            return None;
        }
    }
}

/// The `fmt ` chunk body: encoding, channels, rate; `None` unless plain.
fn parse_fmt(b: &[u8]) -> Option<(Encoding, usize, u32)> {
    let tag = u16_at(b, 0);
    let channels = usize::from(u16_at(b, 2));
    let rate = u32_at(b, 4);
    let block_align = usize::from(u16_at(b, 12));
    let bits = u16_at(b, 14);
    let float = match tag {
        1 => {
            if !matches!(b.len(), 16 | 18 | 40) {
                return None;
            }
            false
        }
        3 => {
            if !matches!(b.len(), 16 | 18 | 40) {
                return None;
            }
            if b.len() == 18 && u16_at(b, 16) != 0 {
                return None;
            }
            true
        }
        0xfffe => {
            if b.len() != 40 || u16_at(b, 16) != 22 || u16_at(b, 18) != bits {
                return None; // truncated valid bits (shifted) stay on symphonia
            }
            if b[26..40] != GUID_TAIL || b[25] != 0 {
                return None;
            }
            match b[24] {
                1 => false,
                3 => true,
                _ => return None,
            }
        }
        _ => return None,
    };
    let encoding = match (float, bits) {
        (false, 16) => Encoding::I16,
        (false, 24) => Encoding::I24,
        (false, 32) => Encoding::I32,
        (true, 32) => Encoding::F32,
        (true, 64) => Encoding::F64,
        _ => return None,
    };
    if channels == 0 || block_align != encoding.width() * channels {
        return None;
    }
    Some((encoding, channels, rate))
}

/// Streams the frames of a [`Layout`] from a frame onwards.
pub(crate) struct DirectPcm {
    file: File,
    layout: Layout,
    /// Frames not yet read from the file.
    left: u64,
    /// Bytes read from the file, whole frames; `bytes[pos..]` not yet used.
    bytes: Vec<u8>,
    pos: usize,
    /// The samples of the last [`Self::read`] are known to be finite (see
    /// [`Self::last_read_finite`]).
    finite: bool,
}

impl DirectPcm {
    /// Opens `path` positioned at frame `from` of `layout`.
    pub fn open(path: &Path, layout: Layout, from: u64) -> std::io::Result<Self> {
        let mut file = File::open(path)?;
        let at = layout.data_start + from * layout.frame_bytes() as u64;
        file.seek(SeekFrom::Start(at))?;
        Ok(Self {
            file,
            layout,
            left: layout.frames.saturating_sub(from),
            bytes: Vec::new(),
            pos: 0,
            finite: false,
        })
    }

    /// Appends up to `max` frames to the planar `out` (one `Vec` per
    /// channel); returns the frames appended, 0 at the end of the data.
    /// A file that ends before the declared data gives
    /// [`std::io::ErrorKind::UnexpectedEof`].
    pub fn read(&mut self, out: &mut [Vec<f64>], max: usize) -> std::io::Result<usize> {
        let fb = self.layout.frame_bytes();
        self.finite = false;
        if self.pos == self.bytes.len() {
            // refill with a block of whole frames: about what is asked for,
            // within MIN_BLOCK_BYTES..=BLOCK_BYTES
            let want = max.saturating_mul(fb).clamp(MIN_BLOCK_BYTES, BLOCK_BYTES) / fb;
            let k = self.left.min(want.max(1) as u64) as usize;
            self.bytes.resize(k * fb, 0);
            self.pos = 0;
            self.file.read_exact(&mut self.bytes)?;
            self.left -= k as u64;
        }
        let n = max.min((self.bytes.len() - self.pos) / fb);
        if n == 0 {
            return Ok(0);
        }
        let ch_n = self.layout.channels;
        let bytes = &self.bytes[self.pos..self.pos + n * fb];
        self.pos += n * fb;
        if let (Encoding::F32, [l, r, ..]) = (self.layout.encoding, &mut *out) {
            if ch_n == 2 {
                self.finite = stereo_f32(bytes, l, r);
                return Ok(n);
            }
        }
        // integer samples divided by a power of two are always finite
        self.finite = !matches!(self.layout.encoding, Encoding::F32 | Encoding::F64);
        if let (Encoding::I24, [l, r, ..]) = (self.layout.encoding, &mut *out) {
            if ch_n == 2 {
                stereo_i24(bytes, l, r);
                return Ok(n);
            }
        }
        for (ch, dst) in out.iter_mut().enumerate().take(ch_n) {
            match self.layout.encoding {
                Encoding::I16 => deinterleave::<2>(bytes, ch_n, ch, dst, |s| {
                    f64::from(i16::from_le_bytes(s)) / 32_768.0
                }),
                Encoding::I24 => deinterleave::<3>(bytes, ch_n, ch, dst, |s| {
                    f64::from(i32::from_le_bytes([0, s[0], s[1], s[2]]) >> 8) / 8_388_608.0
                }),
                Encoding::I32 => deinterleave::<4>(bytes, ch_n, ch, dst, |s| {
                    f64::from(i32::from_le_bytes(s)) / 2_147_483_648.0
                }),
                Encoding::F32 => {
                    deinterleave::<4>(bytes, ch_n, ch, dst, |s| f64::from(f32::from_le_bytes(s)))
                }
                Encoding::F64 => deinterleave::<8>(bytes, ch_n, ch, dst, f64::from_le_bytes),
            }
        }
        Ok(n)
    }

    /// True when every sample appended by the last [`Self::read`] is known
    /// to be finite (integer encodings always; stereo 32-bit float checked
    /// during the conversion). False: not checked, the caller must look.
    pub fn last_read_finite(&self) -> bool {
        self.finite
    }
}

/// Appends the frames of interleaved stereo 32-bit float `bytes` to `l`
/// and `r` (`f64::from`, exact) in one pass, and tells whether every
/// sample is finite (exponent field not all ones). Compiled for AVX2 when
/// the CPU has it (the same conversions, so the same values).
fn stereo_f32(bytes: &[u8], l: &mut Vec<f64>, r: &mut Vec<f64>) -> bool {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") {
        // SAFETY: the CPU supports AVX2 (checked just above).
        return unsafe { stereo_f32_avx2(bytes, l, r) };
    }
    stereo_f32_body(bytes, l, r)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
fn stereo_f32_avx2(bytes: &[u8], l: &mut Vec<f64>, r: &mut Vec<f64>) -> bool {
    stereo_f32_body(bytes, l, r)
}

#[inline(always)]
fn stereo_f32_body(bytes: &[u8], l: &mut Vec<f64>, r: &mut Vec<f64>) -> bool {
    // the largest |sample| bit pattern: finite iff below the infinity's
    let mut top = 0u32;
    stereo_append::<8>(bytes, l, r, |f| {
        let x = u32::from_le_bytes(first::<4>(f));
        let y = u32::from_le_bytes(first::<4>(&f[4..]));
        top = top.max(x & 0x7fff_ffff).max(y & 0x7fff_ffff);
        (f64::from(f32::from_bits(x)), f64::from(f32::from_bits(y)))
    });
    top < 0x7f80_0000
}

/// Appends to `l` and `r` the sample pair `conv` makes of each `W`-byte
/// stereo frame of `bytes`, written straight into their spare room (no
/// zeroing first).
#[inline(always)]
fn stereo_append<const W: usize>(
    bytes: &[u8],
    l: &mut Vec<f64>,
    r: &mut Vec<f64>,
    mut conv: impl FnMut(&[u8]) -> (f64, f64),
) {
    assert!(bytes.len().is_multiple_of(W), "whole stereo frames");
    let n = bytes.len() / W;
    l.reserve(n);
    r.reserve(n);
    let sl = &mut l.spare_capacity_mut()[..n];
    let sr = &mut r.spare_capacity_mut()[..n];
    for ((f, a), b) in bytes.chunks_exact(W).zip(sl.iter_mut()).zip(sr.iter_mut()) {
        let (x, y) = conv(f);
        a.write(x);
        b.write(y);
    }
    // SAFETY: `bytes` holds exactly `n` whole frames (`chunks_exact(W)` of
    // `W n` bytes), so the loop wrote the first `n` spare elements of both
    // vectors (`sl` and `sr` are `n` long, reserved above): those elements
    // are initialised and within capacity.
    unsafe {
        l.set_len(l.len() + n);
        r.set_len(r.len() + n);
    }
}

/// Appends the frames of interleaved stereo 24-bit integer `bytes` to `l`
/// and `r` in one pass: each sample `v / 2^23` (exact in `f64`), the values
/// of the per-channel conversion. Each sample is read as a 4-byte word
/// (the left one's low three bytes, the right one's high three, so no read
/// passes the frame's end) and sign-extended by shifts. Compiled for AVX2
/// when the CPU has it (the same conversions, so the same values).
fn stereo_i24(bytes: &[u8], l: &mut Vec<f64>, r: &mut Vec<f64>) {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") {
        // SAFETY: the CPU supports AVX2 (checked just above).
        return unsafe { stereo_i24_avx2(bytes, l, r) };
    }
    stereo_i24_body(bytes, l, r)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
fn stereo_i24_avx2(bytes: &[u8], l: &mut Vec<f64>, r: &mut Vec<f64>) {
    stereo_i24_body(bytes, l, r)
}

#[inline(always)]
fn stereo_i24_body(bytes: &[u8], l: &mut Vec<f64>, r: &mut Vec<f64>) {
    const SCALE: f64 = 1.0 / 8_388_608.0;
    stereo_append::<6>(bytes, l, r, |f| {
        let x = u32::from_le_bytes(first::<4>(f));
        let y = u32::from_le_bytes(first::<4>(&f[2..]));
        (
            f64::from(((x << 8) as i32) >> 8) * SCALE,
            f64::from((y as i32) >> 8) * SCALE,
        )
    });
}

/// The first `W` bytes of `f` (which holds at least `W`).
#[inline(always)]
fn first<const W: usize>(f: &[u8]) -> [u8; W] {
    f[..W].try_into().expect("W bytes")
}

/// Appends `conv(sample ch of frame i)` to `dst` for every frame `i` of the
/// interleaved `bytes` (`channels` samples of `W` bytes per frame), written
/// in place (no zero fill first).
#[inline(always)]
fn deinterleave<const W: usize>(
    bytes: &[u8],
    channels: usize,
    ch: usize,
    dst: &mut Vec<f64>,
    conv: impl Fn([u8; W]) -> f64,
) {
    let fb = W * channels;
    let off = ch * W;
    assert!(off + W <= fb && bytes.len().is_multiple_of(fb));
    let sample = |f: &[u8]| -> [u8; W] { f[off..off + W].try_into().expect("W bytes") };
    match channels {
        // the common layouts with the frame size known to the compiler
        1 => dst.extend(bytes.chunks_exact(W).map(|f| conv(sample(f)))),
        // constant offsets: no bounds check per sample, the loop vectorises
        2 if ch == 0 => dst.extend(bytes.chunks_exact(2 * W).map(|f| conv(first::<W>(f)))),
        2 => dst.extend(bytes.chunks_exact(2 * W).map(|f| conv(first::<W>(&f[W..])))),
        _ => dst.extend(bytes.chunks_exact(fb).map(|f| conv(sample(f)))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_util::{excerpts, f32_bytes, f64_bytes, ffmpeg, have_ffmpeg, signal};
    use crate::{AudioReader, Error};

    /// Reads all of `path` in reads of `step` frames; `direct` allows the
    /// direct reader. Returns the samples and whether it was used.
    fn read(path: &Path, direct: bool, step: usize) -> Result<(Vec<Vec<f64>>, bool), Error> {
        let mut r = AudioReader::open_with(path, direct)?;
        let used = r.is_direct();
        let mut all = vec![Vec::new(); r.info().channels];
        let mut buf = Vec::new();
        loop {
            let n = r.read(&mut buf, step)?;
            if n == 0 {
                break;
            }
            for (a, b) in all.iter_mut().zip(&buf) {
                a.extend_from_slice(b);
            }
        }
        Ok((all, used))
    }

    fn bits(x: &[Vec<f64>]) -> Vec<Vec<u64>> {
        x.iter()
            .map(|c| c.iter().map(|v| v.to_bits()).collect())
            .collect()
    }

    /// A WAV file: format `tag` (1, 3, or 0xfffe with `sub` 1/3 as the
    /// GUID's first byte), an odd-sized unknown chunk before `data`.
    fn wav(tag: u16, sub: u8, channels: u16, bits: u16, data: &[u8]) -> Vec<u8> {
        let block_align = channels * bits / 8;
        let mut fmt = Vec::new();
        fmt.extend_from_slice(&tag.to_le_bytes());
        fmt.extend_from_slice(&channels.to_le_bytes());
        fmt.extend_from_slice(&48_000u32.to_le_bytes());
        fmt.extend_from_slice(&(48_000 * u32::from(block_align)).to_le_bytes());
        fmt.extend_from_slice(&block_align.to_le_bytes());
        fmt.extend_from_slice(&bits.to_le_bytes());
        if tag == 0xfffe {
            fmt.extend_from_slice(&22u16.to_le_bytes());
            fmt.extend_from_slice(&bits.to_le_bytes());
            fmt.extend_from_slice(&((1u32 << channels) - 1).to_le_bytes());
            fmt.push(sub);
            fmt.push(0);
            fmt.extend_from_slice(&GUID_TAIL);
        }
        let list = b"ab\x00"; // an odd-sized unknown chunk, padded
        let mut v = Vec::new();
        v.extend_from_slice(b"RIFF");
        let len = 4 + 8 + fmt.len() + 8 + list.len() + 1 + 8 + data.len();
        v.extend_from_slice(&(len as u32).to_le_bytes());
        v.extend_from_slice(b"WAVEfmt ");
        v.extend_from_slice(&(fmt.len() as u32).to_le_bytes());
        v.extend_from_slice(&fmt);
        v.extend_from_slice(b"junk");
        v.extend_from_slice(&(list.len() as u32).to_le_bytes());
        v.extend_from_slice(list);
        v.push(0);
        v.extend_from_slice(b"data");
        v.extend_from_slice(&(data.len() as u32).to_le_bytes());
        v.extend_from_slice(data);
        v
    }

    /// `n` pseudo-random bytes, with the extreme integer codes (all ones,
    /// 0x80.. / 0x7f..) at the start.
    fn int_bytes(n: usize, width: usize) -> Vec<u8> {
        let mut s = 0x2545_f491_4f6c_dd1du64;
        let mut v: Vec<u8> = (0..n)
            .map(|_| {
                s ^= s << 13;
                s ^= s >> 7;
                s ^= s << 17;
                (s >> 32) as u8
            })
            .collect();
        let mut at = 0;
        for top in [0x80u8, 0x7f, 0xff, 0x00] {
            for k in 0..width {
                v[at + k] = if k + 1 == width {
                    top
                } else if top == 0x7f {
                    0xff
                } else if top == 0x80 {
                    0
                } else {
                    top
                };
            }
            at += width;
        }
        v
    }

    /// Reference: symphonia's decode of the same file (the direct reader
    /// off). Every encoding (16/24/32-bit int, 32/64-bit float), plain and
    /// WAVE_FORMAT_EXTENSIBLE headers, 1, 2 and 6 channels, a metadata
    /// chunk before the data (odd size, padded), read sizes 1, 1000 and 100 000 frames: the
    /// direct reader is used and every sample has the same bits.
    #[test]
    fn direct_wav_matches_symphonia_bit_for_bit() {
        let dir = tempfile::tempdir().unwrap();
        let frames = 40_000;
        for channels in [1u16, 2, 6] {
            let x = signal(usize::from(channels), frames, 48_000, u64::from(channels));
            let cases: [(&str, u16, u16, Vec<u8>); 5] = [
                (
                    "i16",
                    1,
                    16,
                    int_bytes(frames * 2 * usize::from(channels), 2),
                ),
                (
                    "i24",
                    1,
                    24,
                    int_bytes(frames * 3 * usize::from(channels), 3),
                ),
                (
                    "i32",
                    1,
                    32,
                    int_bytes(frames * 4 * usize::from(channels), 4),
                ),
                ("f32", 3, 32, f32_bytes(&x)),
                ("f64", 3, 64, f64_bytes(&x)),
            ];
            for (name, tag, b, data) in &cases {
                for ext in [false, true] {
                    let (t, sub) = if ext { (0xfffe, *tag as u8) } else { (*tag, 0) };
                    let p = dir.path().join(format!("{name}_{channels}_{ext}.wav"));
                    std::fs::write(&p, wav(t, sub, channels, *b, data)).unwrap();
                    let (reference, used) = read(&p, false, 4096).unwrap();
                    assert!(!used);
                    assert_eq!(reference[0].len(), frames, "{}", p.display());
                    for step in [1, 1000, 100_000] {
                        let (y, used) = read(&p, true, step).unwrap();
                        assert!(used, "{}: direct reader not used", p.display());
                        assert_eq!(bits(&y), bits(&reference), "{} step {step}", p.display());
                    }
                }
            }
        }
    }

    /// Reference: symphonia's errors. A NaN or infinity after the first
    /// packet gives the same error (frame, channel) on both paths; a file
    /// cut short of its declared data, 8-bit PCM and an EXTENSIBLE header
    /// with fewer valid bits stay on symphonia.
    #[test]
    fn direct_wav_errors_and_fallbacks() {
        let dir = tempfile::tempdir().unwrap();
        let mut x = signal(2, 30_000, 48_000, 9);
        x[1][20_001] = f64::NAN;
        let p = dir.path().join("nan.wav");
        std::fs::write(&p, wav(3, 0, 2, 32, &f32_bytes(&x))).unwrap();
        for step in [1000, 65_536] {
            let a = read(&p, false, step).unwrap_err().to_string();
            let b = read(&p, true, step).unwrap_err().to_string();
            assert_eq!(a, b);
            assert!(a.contains("20001") && a.contains("NaN"), "{a}");
        }
        x[1][20_001] = f64::NEG_INFINITY;
        std::fs::write(&p, wav(3, 0, 2, 64, &f64_bytes(&x))).unwrap();
        let a = read(&p, false, 4096).unwrap_err().to_string();
        assert_eq!(a, read(&p, true, 4096).unwrap_err().to_string());
        // truncated: same error, not direct
        let full = wav(1, 0, 2, 16, &int_bytes(2 * 2 * 30_000, 2));
        let p = dir.path().join("cut.wav");
        std::fs::write(&p, &full[..full.len() - 5000]).unwrap();
        assert!(probe(&p).is_none());
        let a = read(&p, false, 4096).unwrap_err().to_string();
        assert_eq!(a, read(&p, true, 4096).unwrap_err().to_string());
        // 8-bit and 20-of-24 valid bits: symphonia's decode
        let p = dir.path().join("u8.wav");
        std::fs::write(&p, wav(1, 0, 2, 8, &int_bytes(2 * 30_000, 1))).unwrap();
        assert!(!read(&p, true, 4096).unwrap().1);
        let mut v = wav(0xfffe, 1, 2, 24, &int_bytes(2 * 3 * 30_000, 3));
        v[38..40].copy_from_slice(&20u16.to_le_bytes()); // valid bits
        let p = dir.path().join("v20.wav");
        std::fs::write(&p, v).unwrap();
        assert!(probe(&p).is_none());
    }

    /// Reference: symphonia's decode. The first shared excerpt converted by
    /// ffmpeg to 16/24/32-bit int and 32/64-bit float WAV reads with the
    /// same bits on both paths. Skipped without ffmpeg or the excerpts.
    #[test]
    fn direct_wav_matches_symphonia_on_ffmpeg_files() {
        if !have_ffmpeg() {
            return;
        }
        let Some(files) = excerpts() else { return };
        let dir = tempfile::tempdir().unwrap();
        for codec in [
            "pcm_s16le",
            "pcm_s24le",
            "pcm_s32le",
            "pcm_f32le",
            "pcm_f64le",
        ] {
            let out = dir.path().join(format!("{codec}.wav"));
            let src = files[0].display().to_string();
            ffmpeg(&["-i", &src, "-t", "3", "-c:a", codec, out.to_str().unwrap()]);
            let (reference, _) = read(&out, false, 4096).unwrap();
            let (y, used) = read(&out, true, 4096).unwrap();
            assert!(used, "{codec}: direct reader not used");
            assert_eq!(bits(&y), bits(&reference), "{codec}");
        }
    }
}
