//! Streaming FLAC encoder on top of `flacenc`'s frame encoder.
//!
//! `flacenc::encode_with_fixed_block_size` builds the whole `Stream` in
//! memory, so it is not used. Instead this follows the FLAC format
//! specification (RFC 9639) directly: `fLaC`, one STREAMINFO metadata block
//! (§8.2; written as a placeholder, then rewritten in place on `finish` with
//! the final frame sizes, total samples and MD5), then one frame per block
//! of [`BLOCK_SIZE`] frames, each encoded by
//! `flacenc::encode_fixed_size_frame` and written out at once. Memory is one
//! block of samples plus one encoded frame, whatever the stream's length.
//!
//! flacenc refuses sample rates above 96 kHz (its `StreamInfo` check), though
//! FLAC allows up to 1 048 575 Hz. For such rates the frames are encoded as
//! if at 96 kHz and each frame header's 4-bit sample-rate code (§9.1.2) is
//! then patched to the true rate's code (176.4 and 192 kHz) or to `0000`
//! ("get from STREAMINFO"), with the header CRC-8 (§9.1.8) and frame CRC-16
//! (§9.3) recomputed. The sample data is unaffected by the rate.

use flacenc::bitsink::MemSink;
use flacenc::component::{BitRepr, StreamInfo};
use flacenc::config;
use flacenc::error::{Verified, Verify};
use flacenc::source::{Context, Fill, FrameBuf};
use std::io::{Seek, SeekFrom, Write};

/// Frames per FLAC block: the reference encoder's default (libFLAC -5).
pub(crate) const BLOCK_SIZE: usize = 4096;

/// Byte offset of the STREAMINFO payload: after `fLaC` and the 4-byte
/// metadata block header.
const STREAMINFO_OFFSET: u64 = 8;

/// Highest rate flacenc's `StreamInfo` accepts, Hz.
const FLACENC_MAX_RATE_HZ: u32 = 96_000;

/// Why a FLAC stream could not be written.
#[derive(Debug)]
pub(crate) enum FlacError {
    /// The underlying writer failed.
    Io(std::io::Error),
    /// The encoder rejected its input or configuration.
    Encode(String),
}

impl From<std::io::Error> for FlacError {
    fn from(e: std::io::Error) -> Self {
        FlacError::Io(e)
    }
}

fn enc(e: impl std::fmt::Display) -> FlacError {
    FlacError::Encode(e.to_string())
}

/// Streams FLAC frames to `W`. Samples are interleaved, already quantised
/// to `bits_per_sample` signed integers.
pub(crate) struct FlacStream<W: Write + Seek> {
    out: W,
    config: Verified<config::Encoder>,
    /// What flacenc encodes frames against (rate capped at 96 kHz).
    encoder_info: StreamInfo,
    sample_rate_hz: u32,
    channels: usize,
    bits_per_sample: usize,
    /// Frame-header sample-rate code to patch in (rates above 96 kHz).
    rate_code: Option<u8>,
    ctx: Context,
    framebuf: FrameBuf,
    /// Interleaved samples waiting to fill a block (< one block).
    pending: Vec<i32>,
    frame_number: usize,
    total_frames: u64,
    min_frame_bytes: usize,
    max_frame_bytes: usize,
    sink: MemSink<u8>,
    bytes: Vec<u8>,
}

impl<W: Write + Seek> FlacStream<W> {
    /// Writes the stream header (with a placeholder STREAMINFO).
    pub(crate) fn new(
        mut out: W,
        sample_rate_hz: u32,
        channels: usize,
        bits_per_sample: usize,
    ) -> Result<Self, FlacError> {
        let (encoder_rate, rate_code) = if sample_rate_hz > FLACENC_MAX_RATE_HZ {
            let code = match sample_rate_hz {
                176_400 => 0b0010,
                192_000 => 0b0011,
                _ => 0b0000,
            };
            (FLACENC_MAX_RATE_HZ, Some(code))
        } else {
            (sample_rate_hz, None)
        };
        let encoder_info =
            StreamInfo::new(encoder_rate as usize, channels, bits_per_sample).map_err(enc)?;
        let mut cfg = config::Encoder::default();
        cfg.block_size = BLOCK_SIZE;
        cfg.multithread = false;
        let config = cfg.into_verified().map_err(|(_, e)| enc(e))?;
        let framebuf = FrameBuf::with_size(channels, BLOCK_SIZE).map_err(enc)?;
        let stream = FlacStream {
            out,
            config,
            encoder_info,
            sample_rate_hz,
            channels,
            bits_per_sample,
            rate_code,
            ctx: Context::new(bits_per_sample, channels),
            framebuf,
            pending: Vec::with_capacity(BLOCK_SIZE * channels),
            frame_number: 0,
            total_frames: 0,
            min_frame_bytes: usize::MAX,
            max_frame_bytes: 0,
            sink: MemSink::<u8>::new(),
            bytes: Vec::new(),
        };
        let placeholder = stream.streaminfo([0; 16]);
        out = stream.out;
        out.write_all(b"fLaC")?;
        // Metadata block header: last block, type 0 (STREAMINFO), 34 bytes.
        out.write_all(&[0x80, 0x00, 0x00, 34])?;
        out.write_all(&placeholder)?;
        Ok(FlacStream { out, ..stream })
    }

    /// Queues interleaved samples; encodes and writes every full block.
    pub(crate) fn push(&mut self, mut interleaved: &[i32]) -> Result<(), FlacError> {
        let block_len = BLOCK_SIZE * self.channels;
        while !interleaved.is_empty() {
            let take = (block_len - self.pending.len()).min(interleaved.len());
            self.pending.extend_from_slice(&interleaved[..take]);
            interleaved = &interleaved[take..];
            if self.pending.len() == block_len {
                self.encode_pending()?;
            }
        }
        Ok(())
    }

    fn encode_pending(&mut self) -> Result<(), FlacError> {
        if self.pending.is_empty() {
            return Ok(());
        }
        self.framebuf.fill_interleaved(&self.pending).map_err(enc)?;
        self.ctx.fill_interleaved(&self.pending).map_err(enc)?;
        let frame = flacenc::encode_fixed_size_frame(
            &self.config,
            &self.framebuf,
            self.frame_number,
            &self.encoder_info,
        )
        .map_err(enc)?;
        self.sink.clear();
        frame.write(&mut self.sink).map_err(enc)?;
        self.bytes.clear();
        self.bytes.extend_from_slice(self.sink.as_slice());
        if let Some(code) = self.rate_code {
            patch_rate_code(&mut self.bytes, code)?;
        }
        self.out.write_all(&self.bytes)?;
        self.min_frame_bytes = self.min_frame_bytes.min(self.bytes.len());
        self.max_frame_bytes = self.max_frame_bytes.max(self.bytes.len());
        self.total_frames += (self.pending.len() / self.channels) as u64;
        self.frame_number += 1;
        self.pending.clear();
        Ok(())
    }

    /// STREAMINFO payload (RFC 9639 §8.2), 34 bytes.
    fn streaminfo(&self, md5: [u8; 16]) -> [u8; 34] {
        let (min_frame, max_frame) = if self.frame_number == 0 {
            (0, 0)
        } else {
            (self.min_frame_bytes as u64, self.max_frame_bytes as u64)
        };
        let mut b = [0u8; 34];
        // As libFLAC: the block sizes state the fixed block size even when
        // the last block is shorter.
        b[0..2].copy_from_slice(&(BLOCK_SIZE as u16).to_be_bytes());
        b[2..4].copy_from_slice(&(BLOCK_SIZE as u16).to_be_bytes());
        b[4..7].copy_from_slice(&min_frame.to_be_bytes()[5..8]);
        b[7..10].copy_from_slice(&max_frame.to_be_bytes()[5..8]);
        // 20 bits rate, 3 bits channels−1, 5 bits bps−1, 36 bits samples.
        let packed: u64 = (u64::from(self.sample_rate_hz) & 0xF_FFFF) << 44
            | ((self.channels as u64 - 1) & 0x7) << 41
            | ((self.bits_per_sample as u64 - 1) & 0x1F) << 36
            | (self.total_frames & 0xF_FFFF_FFFF);
        b[10..18].copy_from_slice(&packed.to_be_bytes());
        b[18..34].copy_from_slice(&md5);
        b
    }

    /// Encodes the last (short) block, rewrites STREAMINFO, flushes, and
    /// returns the writer.
    pub(crate) fn finish(mut self) -> Result<W, FlacError> {
        self.encode_pending()?;
        let info = self.streaminfo(self.ctx.md5_digest());
        self.out.flush()?;
        self.out.seek(SeekFrom::Start(STREAMINFO_OFFSET))?;
        self.out.write_all(&info)?;
        self.out.seek(SeekFrom::End(0))?;
        self.out.flush()?;
        Ok(self.out)
    }
}

/// Replaces the 4-bit sample-rate code of an encoded frame (which must have
/// been encoded with a rate code that adds no header bytes) and recomputes
/// both CRCs.
fn patch_rate_code(frame: &mut [u8], code: u8) -> Result<(), FlacError> {
    let bad = || FlacError::Encode("unexpected FLAC frame header".into());
    if frame.len() < 8 || frame[0] != 0xFF || frame[1] & 0xFE != 0xF8 {
        return Err(bad());
    }
    let old_rate = frame[2] & 0x0F;
    if old_rate == 0 || old_rate >= 0b1100 {
        return Err(bad());
    }
    // Coded frame number: UTF-8-like, 1 to 7 bytes.
    let lead = frame[4].leading_ones() as usize;
    let number_len = match lead {
        0 => 1,
        2..=7 => lead,
        _ => return Err(bad()),
    };
    let block_extra = match frame[2] >> 4 {
        0b0110 => 1,
        0b0111 => 2,
        _ => 0,
    };
    let crc8_at = 4 + number_len + block_extra;
    if crc8_at + 3 > frame.len() {
        return Err(bad());
    }
    frame[2] = (frame[2] & 0xF0) | (code & 0x0F);
    frame[crc8_at] = crc8(&frame[..crc8_at]);
    let n = frame.len();
    let crc = crc16(&frame[..n - 2]);
    frame[n - 2..].copy_from_slice(&crc.to_be_bytes());
    Ok(())
}

/// CRC-8, polynomial x^8 + x^2 + x + 1, initial 0 (RFC 9639 §9.1.8).
fn crc8(data: &[u8]) -> u8 {
    let mut crc = 0u8;
    for &b in data {
        crc ^= b;
        for _ in 0..8 {
            crc = if crc & 0x80 != 0 {
                (crc << 1) ^ 0x07
            } else {
                crc << 1
            };
        }
    }
    crc
}

/// CRC-16, polynomial x^16 + x^15 + x^2 + 1, initial 0 (RFC 9639 §9.3).
fn crc16(data: &[u8]) -> u16 {
    let mut crc = 0u16;
    for &b in data {
        crc ^= u16::from(b) << 8;
        for _ in 0..8 {
            crc = if crc & 0x8000 != 0 {
                (crc << 1) ^ 0x8005
            } else {
                crc << 1
            };
        }
    }
    crc
}

#[cfg(test)]
mod tests {
    use super::*;

    /// CRC check values of the catalogue of parametrised CRC algorithms
    /// (CRC-8/SMBUS 0xF4, CRC-16/UMTS 0xFEE8 for "123456789"); exact.
    #[test]
    fn crc_check_values() {
        assert_eq!(crc8(b"123456789"), 0xF4);
        assert_eq!(crc16(b"123456789"), 0xFEE8);
    }

    /// Patching a flacenc frame with the code it already has (1011, 96 kHz)
    /// reproduces its bytes, so header parsing and both CRCs agree with
    /// flacenc's; a different code changes exactly byte 2 and the CRCs.
    #[test]
    fn patch_agrees_with_flacenc_crcs() {
        let info = StreamInfo::new(96_000, 2, 16).unwrap();
        let mut cfg = config::Encoder::default();
        cfg.multithread = false;
        let cfg = cfg.into_verified().unwrap();
        for (frames, number) in [(4096usize, 0usize), (4096, 200), (77, 70_000)] {
            let samples: Vec<i32> = (0..2 * frames as i32)
                .map(|i| (i * 37 % 2001) - 1000)
                .collect();
            let mut fb = FrameBuf::with_size(2, 4096).unwrap();
            fb.fill_interleaved(&samples).unwrap();
            let frame = flacenc::encode_fixed_size_frame(&cfg, &fb, number, &info).unwrap();
            let mut sink = MemSink::<u8>::new();
            frame.write(&mut sink).unwrap();
            let original = sink.as_slice().to_vec();
            let mut same = original.clone();
            patch_rate_code(&mut same, 0b1011).unwrap();
            let diff: Vec<usize> = (0..same.len())
                .filter(|&i| same[i] != original[i])
                .collect();
            assert!(
                diff.is_empty(),
                "frames {frames} number {number}: bytes {diff:?} differ of {}",
                same.len()
            );
            let mut other = original.clone();
            patch_rate_code(&mut other, 0b0000).unwrap();
            assert_eq!(other[2] & 0x0F, 0);
            let n = other.len();
            assert_eq!(other[3..n - 2].len(), original[3..n - 2].len());
        }
    }
}
