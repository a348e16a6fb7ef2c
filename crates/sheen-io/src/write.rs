//! Writing WAV and FLAC (flacenc, streamed) files atomically.
//!
//! WAV: the header is hound's (written by hound into memory at creation,
//! its two size fields patched on finish exactly as hound's `finalize`
//! does); the samples are converted a block at a time into one byte buffer
//! (little-endian, as hound writes them), so the files are byte-identical
//! to hound's while costing one buffered write per block instead of one
//! call per sample.
//!
//! Follows the "Foundation" issue's rules:
//!
//! * **Atomic.** Samples go to a hidden temporary file in the target folder
//!   (`.NAME.sheen-tmp-PID-N`); [`AudioWriter::finish`] flushes, fsyncs and
//!   renames it over the final name (then fsyncs the folder). Dropping a
//!   writer without `finish` — or any error in `finish` — deletes the
//!   temporary file, so no partial output ever appears under the final name.
//! * **Never overwrite an input.** [`AudioWriter::create`] takes the job's
//!   input paths and refuses an output that is the same file as any of them:
//!   same device and inode when the output exists (this catches hard links
//!   and symlinks), same canonical path otherwise.
//! * **Float → integer:** `round(x · 2^(bits−1))` (nearest, ties away from
//!   zero), clamped to `[−2^(bits−1), 2^(bits−1) − 1]`; every clamped sample
//!   is counted ([`AudioWriter::clipped_samples`]). No dither here: the
//!   caller dithers (sheen-dsp) before writing. 32-bit float output stores
//!   the value as `f32` unchanged (values beyond `f32::MAX` are clamped and
//!   counted). NaN or infinite input samples are refused.

use crate::flac::{FlacError, FlacStream};
use crate::read::{MAX_CHANNELS, MAX_RATE_HZ, MIN_RATE_HZ};
use crate::Error;
use std::fs::{File, OpenOptions};
use std::io::{BufWriter, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

/// Stored sample format.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SampleFormat {
    /// 16-bit signed integer.
    I16,
    /// 24-bit signed integer.
    I24,
    /// 32-bit IEEE float (WAV only).
    F32,
}

impl SampleFormat {
    /// Bits per stored sample.
    pub fn bits(self) -> u32 {
        match self {
            SampleFormat::I16 => 16,
            SampleFormat::I24 => 24,
            SampleFormat::F32 => 32,
        }
    }
}

/// Output container.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Container {
    /// RIFF WAVE (WAVE_FORMAT_EXTENSIBLE for more than 2 channels or more
    /// than 16 bits). Holds at most 4 GiB of sample data.
    Wav,
    /// FLAC (integer samples only).
    Flac,
}

impl Container {
    /// The container named by `path`'s extension (case-insensitive):
    /// `.wav`/`.wave` → WAV, `.flac` → FLAC, anything else → `None`.
    pub fn from_path(path: &Path) -> Option<Container> {
        let ext = path.extension()?.to_str()?.to_ascii_lowercase();
        match ext.as_str() {
            "wav" | "wave" => Some(Container::Wav),
            "flac" => Some(Container::Flac),
            _ => None,
        }
    }
}

/// What to write.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct WriteSpec {
    /// Sample rate, Hz ([`MIN_RATE_HZ`]…[`MAX_RATE_HZ`]).
    pub sample_rate_hz: u32,
    /// Channels (1…[`MAX_CHANNELS`]).
    pub channels: usize,
    /// Stored sample format (FLAC: `I16` or `I24`).
    pub format: SampleFormat,
    /// Container.
    pub container: Container,
}

enum Encoder {
    Wav {
        out: BufWriter<File>,
        /// Offset of the data chunk's size field (hound's header: 40 or 64).
        data_len_offset: u64,
        /// Bytes of sample data written.
        data_bytes: u64,
        /// `data_bytes` when the kernel was last asked to start writing
        /// the file out ([`start_writeback`]).
        handed: u64,
    },
    Flac(Box<FlacStream<BufWriter<File>>>),
}

/// Sample data between requests to start writing a WAV file out, bytes.
const WRITEBACK_BYTES: u64 = 4 << 20;

/// Asks the kernel to start writing `file`'s dirty pages to disk now
/// (Linux `sync_file_range(SYNC_FILE_RANGE_WRITE)`: it does not wait, and
/// promises nothing), so the `fsync` of [`AudioWriter::finish`] has little
/// left to wait for while the writing overlaps the rest of the job.
/// Durability still rests on that `fsync`; the file's contents are
/// unaffected. Does nothing elsewhere or on failure.
fn start_writeback(file: &File) {
    #[cfg(target_os = "linux")]
    {
        use std::os::fd::AsRawFd;
        // SAFETY: a valid open descriptor (borrowed from `file` for the
        // call); the flag only starts writeback of the whole file (offset
        // 0, length 0 = to its end), touching no memory of ours.
        unsafe {
            libc::sync_file_range(file.as_raw_fd(), 0, 0, libc::SYNC_FILE_RANGE_WRITE);
        }
    }
    #[cfg(not(target_os = "linux"))]
    let _ = file;
}

/// An atomic, streaming audio file writer. See the module documentation.
pub struct AudioWriter {
    path: PathBuf,
    tmp: PathBuf,
    spec: WriteSpec,
    encoder: Option<Encoder>,
    /// `finish` succeeded: the temporary file is now the output.
    done: bool,
    /// An encoder or I/O error happened: the file is unusable.
    failed: bool,
    frames: u64,
    /// Most frames the container can hold.
    max_frames: u64,
    clipped: u64,
    interleaved: Vec<i32>,
    /// WAV sample bytes of the current block.
    bytes: Vec<u8>,
    /// The current block quantised, per channel (integer formats).
    quantised: Vec<Vec<i32>>,
}

impl std::fmt::Debug for AudioWriter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AudioWriter")
            .field("path", &self.path)
            .field("spec", &self.spec)
            .field("frames", &self.frames)
            .field("clipped", &self.clipped)
            .finish_non_exhaustive()
    }
}

static TMP_COUNTER: AtomicU64 = AtomicU64::new(0);

impl AudioWriter {
    /// Starts writing `path` (through a temporary file in the same folder).
    ///
    /// `inputs` are the input files of the job: the call fails with
    /// [`Error::WouldOverwriteInput`] if `path` is one of them. Also fails
    /// for an invalid spec (FLAC with `F32`, channels outside 1…8, rate
    /// outside 8000…384000 Hz), a directory at `path`, or a missing folder.
    pub fn create(path: &Path, spec: WriteSpec, inputs: &[&Path]) -> Result<Self, Error> {
        let invalid = |problem: String| Error::InvalidSpec {
            path: path.to_path_buf(),
            problem,
        };
        if spec.container == Container::Flac && spec.format == SampleFormat::F32 {
            return Err(invalid(
                "FLAC cannot store 32-bit float samples (use 16 or 24 bits)".into(),
            ));
        }
        if spec.channels == 0 || spec.channels > MAX_CHANNELS {
            return Err(invalid(format!(
                "{} channels (1 to {MAX_CHANNELS} are supported)",
                spec.channels
            )));
        }
        if !(MIN_RATE_HZ..=MAX_RATE_HZ).contains(&spec.sample_rate_hz) {
            return Err(invalid(format!(
                "sample rate {} Hz (supported: {MIN_RATE_HZ} to {MAX_RATE_HZ} Hz)",
                spec.sample_rate_hz
            )));
        }
        let (dir, file_name) = check_destination(path, inputs)?;

        let write_err = |source: std::io::Error| Error::Write {
            path: path.to_path_buf(),
            source,
        };
        let (tmp, file) = create_temp(&dir, &file_name).map_err(write_err)?;
        // From here on, failing must remove the temporary file.
        let cleanup = |e: Error| {
            let _ = std::fs::remove_file(&tmp);
            e
        };
        let bytes_per_frame = u64::from(spec.format.bits() / 8) * spec.channels as u64;
        let (encoder, max_frames) = match spec.container {
            Container::Wav => {
                let header = wav_header(&spec).map_err(|e| cleanup(hound_error(path, e)))?;
                let mut out = BufWriter::with_capacity(1 << 16, file);
                out.write_all(&header).map_err(|e| cleanup(write_err(e)))?;
                // RIFF sizes are 32-bit: the data chunk and the whole file
                // must stay below 4 GiB (header: at most 68 bytes).
                let max = (u64::from(u32::MAX) - 68) / bytes_per_frame;
                let data_len_offset = header.len() as u64 - 4;
                (
                    Encoder::Wav {
                        out,
                        data_len_offset,
                        data_bytes: 0,
                        handed: 0,
                    },
                    max,
                )
            }
            Container::Flac => {
                let stream = FlacStream::new(
                    BufWriter::new(file),
                    spec.sample_rate_hz,
                    spec.channels,
                    spec.format.bits() as usize,
                )
                .map_err(|e| cleanup(flac_error(path, e)))?;
                // STREAMINFO's total-samples field has 36 bits.
                (Encoder::Flac(Box::new(stream)), (1u64 << 36) - 1)
            }
        };
        Ok(AudioWriter {
            path: path.to_path_buf(),
            tmp,
            spec,
            encoder: Some(encoder),
            done: false,
            failed: false,
            frames: 0,
            max_frames,
            clipped: 0,
            interleaved: Vec::new(),
            bytes: Vec::new(),
            quantised: vec![Vec::new(); spec.channels],
        })
    }

    /// The spec being written.
    pub fn spec(&self) -> &WriteSpec {
        &self.spec
    }

    /// Frames written so far.
    pub fn frames_written(&self) -> u64 {
        self.frames
    }

    /// Writes one planar block: one slice per channel, all the same length
    /// (frames), full scale = 1.0. Refuses a block of the wrong shape or one
    /// holding NaN/infinite samples (nothing of that block is written).
    pub fn write(&mut self, block: &[&[f64]]) -> Result<(), Error> {
        self.write_block(block, false)
    }

    /// As [`AudioWriter::write`], for a block whose every finite sample is
    /// already what the file stores ([`stored_extend`]'s output for this
    /// file's format): integer formats then skip the rounding and clamping
    /// (storing a stored value changes nothing, so the bytes are those
    /// [`AudioWriter::write`] writes; test `stored_extend_is_stored_value`).
    /// Non-finite samples are refused as by [`AudioWriter::write`]; a value
    /// that is not a stored one is a caller's error (checked in debug
    /// builds).
    pub fn write_stored(&mut self, block: &[&[f64]]) -> Result<(), Error> {
        self.write_block(block, true)
    }

    fn write_block(&mut self, block: &[&[f64]], stored: bool) -> Result<(), Error> {
        let channels = self.spec.channels;
        if block.len() != channels {
            return Err(self.invalid_block(format!(
                "{} channels given, the file has {channels}",
                block.len()
            )));
        }
        let frames = block[0].len();
        if let Some((c, ch)) = block.iter().enumerate().find(|(_, b)| b.len() != frames) {
            return Err(self.invalid_block(format!(
                "channel {c} has {} frames, channel 0 has {frames}",
                ch.len()
            )));
        }
        for (c, ch) in block.iter().enumerate() {
            // a branch-free scan first (vectorised); the position only on
            // failure
            if ch.iter().fold(true, |ok, x| ok & x.is_finite()) {
                continue;
            }
            if let Some(i) = ch.iter().position(|x| !x.is_finite()) {
                let what = if ch[i].is_nan() { "NaN" } else { "infinite" };
                return Err(self.invalid_block(format!(
                    "sample {} of channel {c} is {what}",
                    self.frames + i as u64
                )));
            }
        }
        if self.frames + frames as u64 > self.max_frames {
            return Err(self.invalid_block(format!(
                "the {} container holds at most {} frames of this format",
                match self.spec.container {
                    Container::Wav => "WAV",
                    Container::Flac => "FLAC",
                },
                self.max_frames
            )));
        }
        if self.failed {
            return Err(self.invalid_block("an earlier write failed".into()));
        }
        let path = self.path.clone();
        let encoder = match self.encoder.as_mut() {
            Some(e) => e,
            None => return Err(self.invalid_block("the writer is finished".into())),
        };
        let format = self.spec.format;
        if format != SampleFormat::F32 {
            let bits = format.bits();
            for (q, ch) in self.quantised.iter_mut().zip(block) {
                q.resize(frames, 0);
                if stored {
                    debug_assert!(ch.iter().all(|&x| stored_value(x, format) == x));
                    stored_to_int(ch, bits, q);
                } else {
                    self.clipped += quantize_block(ch, bits, q);
                }
            }
        }
        match encoder {
            Encoder::Wav {
                out,
                data_bytes,
                handed,
                ..
            } => {
                self.bytes.clear();
                match format {
                    SampleFormat::F32 => wav_f32_bytes(block, &mut self.bytes, &mut self.clipped),
                    _ => wav_int_bytes(format, &self.quantised, frames, &mut self.bytes),
                }
                if let Err(e) = out.write_all(&self.bytes) {
                    self.failed = true;
                    return Err(Error::Write { path, source: e });
                }
                *data_bytes += self.bytes.len() as u64;
                if *data_bytes - *handed >= WRITEBACK_BYTES {
                    start_writeback(out.get_ref());
                    *handed = *data_bytes;
                }
            }
            Encoder::Flac(stream) => {
                self.interleaved.clear();
                self.interleaved.resize(frames * channels, 0);
                for (c, q) in self.quantised.iter().enumerate() {
                    for (i, &v) in q[..frames].iter().enumerate() {
                        self.interleaved[i * channels + c] = v;
                    }
                }
                if let Err(e) = stream.push(&self.interleaved) {
                    self.failed = true;
                    return Err(flac_error(&path, e));
                }
            }
        }
        self.frames += frames as u64;
        Ok(())
    }

    /// Samples clamped so far when converting to the integer format (or
    /// beyond the `f32` range): each clamped sample of each channel counts.
    pub fn clipped_samples(&self) -> u64 {
        self.clipped
    }

    /// Completes the file: finalises the header, flushes, fsyncs, and renames
    /// the temporary file to the final path (then fsyncs the folder).
    /// Returns the final path. On error the temporary file is removed and
    /// nothing appears under the final name.
    pub fn finish(mut self) -> Result<PathBuf, Error> {
        if self.failed {
            return Err(self.invalid_block("an earlier write failed".into()));
        }
        let path = self.path.clone();
        let write_err = |source: std::io::Error| Error::Write {
            path: path.clone(),
            source,
        };
        let file = match self.encoder.take() {
            Some(Encoder::Wav {
                mut out,
                data_len_offset,
                data_bytes,
                ..
            }) => {
                // hound's `update_header`: RIFF size = data + header − 8,
                // then the data chunk's size (both fit: see `max_frames`)
                let riff = data_bytes + data_len_offset + 4 - 8;
                out.seek(SeekFrom::Start(4)).map_err(write_err)?;
                out.write_all(&(riff as u32).to_le_bytes())
                    .map_err(write_err)?;
                out.seek(SeekFrom::Start(data_len_offset))
                    .map_err(write_err)?;
                out.write_all(&(data_bytes as u32).to_le_bytes())
                    .map_err(write_err)?;
                out.into_inner().map_err(|e| write_err(e.into_error()))?
            }
            Some(Encoder::Flac(stream)) => {
                let out = stream.finish().map_err(|e| flac_error(&path, e))?;
                out.into_inner().map_err(|e| write_err(e.into_error()))?
            }
            None => {
                return Err(Error::InvalidBlock {
                    path,
                    problem: "the writer is finished".into(),
                })
            }
        };
        file.sync_all().map_err(write_err)?;
        drop(file);
        std::fs::rename(&self.tmp, &self.path).map_err(write_err)?;
        self.done = true;
        // Make the rename durable; not all platforms/filesystems allow
        // syncing a directory, so failure here is not an error.
        if let Some(dir) = self.path.parent() {
            let dir = if dir.as_os_str().is_empty() {
                Path::new(".")
            } else {
                dir
            };
            if let Ok(d) = File::open(dir) {
                let _ = d.sync_all();
            }
        }
        Ok(self.path.clone())
    }

    fn invalid_block(&self, problem: String) -> Error {
        Error::InvalidBlock {
            path: self.path.clone(),
            problem,
        }
    }
}

impl Drop for AudioWriter {
    fn drop(&mut self) {
        if !self.done {
            // Close our handles first (hound's drop writes its header into
            // the temporary file, harmlessly), then remove it.
            drop(self.encoder.take());
            let _ = std::fs::remove_file(&self.tmp);
        }
    }
}

/// Checks that `path` can be written without touching any of `inputs`:
/// it names a file (not a folder) in an existing folder and is none of the
/// inputs. Returns the folder and the file name.
fn check_destination(
    path: &Path,
    inputs: &[&Path],
) -> Result<(PathBuf, std::ffi::OsString), Error> {
    let file_name = match path.file_name() {
        Some(n) => n.to_owned(),
        None => {
            return Err(Error::InvalidSpec {
                path: path.to_path_buf(),
                problem: "the path names no file".into(),
            })
        }
    };
    if path.is_dir() {
        return Err(Error::IsDirectory {
            path: path.to_path_buf(),
        });
    }
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    if !dir.is_dir() {
        return Err(Error::NoSuchFolder {
            path: path.to_path_buf(),
            dir,
        });
    }
    for input in inputs {
        if same_file(path, &dir, &file_name, input) {
            return Err(Error::WouldOverwriteInput {
                path: path.to_path_buf(),
                input: input.to_path_buf(),
            });
        }
    }

    Ok((dir, file_name))
}

/// Writes a text document (a session, a chain, a report) atomically: to a
/// temporary file in the target folder, then renamed over `path`. Refuses
/// to write over any of `inputs`; on failure nothing is left behind.
pub fn write_text(path: &Path, text: &str, inputs: &[&Path]) -> Result<(), Error> {
    let (dir, file_name) = check_destination(path, inputs)?;
    let write_err = |source: std::io::Error| Error::Write {
        path: path.to_path_buf(),
        source,
    };
    let (tmp, mut file) = create_temp(&dir, &file_name).map_err(write_err)?;
    let result = (|| {
        use std::io::Write as _;
        file.write_all(text.as_bytes())?;
        file.sync_all()?;
        drop(file);
        std::fs::rename(&tmp, path)
    })();
    if let Err(e) = result {
        let _ = std::fs::remove_file(&tmp);
        return Err(write_err(e));
    }
    Ok(())
}

/// Writes a whole planar signal to `path` (see [`AudioWriter`]); returns the
/// number of clipped samples.
pub fn write_all(
    path: &Path,
    spec: WriteSpec,
    inputs: &[&Path],
    planar: &[Vec<f64>],
) -> Result<u64, Error> {
    const CHUNK: usize = 65_536;
    let mut w = AudioWriter::create(path, spec, inputs)?;
    if planar.len() != spec.channels {
        return Err(w.invalid_block(format!(
            "{} channels given, the file has {}",
            planar.len(),
            spec.channels
        )));
    }
    let frames = planar.first().map_or(0, Vec::len);
    let mut start = 0;
    loop {
        let end = (start + CHUNK).min(frames);
        let block: Vec<&[f64]> = planar
            .iter()
            .map(|c| c.get(start..end).unwrap_or(&[]))
            .collect();
        w.write(&block)?;
        if end >= frames {
            break;
        }
        start = end;
    }
    let clipped = w.clipped_samples();
    w.finish()?;
    Ok(clipped)
}

/// Encodes a whole planar signal into the bytes of a WAV or FLAC file in
/// memory (for short excerpts embedded elsewhere, e.g. an HTML report),
/// with the same conversion as [`AudioWriter`] (round to nearest, clamp,
/// no dither). Returns the bytes and the number of clamped samples.
/// Errors name `<memory>` as the file.
pub fn encode_in_memory(spec: WriteSpec, planar: &[Vec<f64>]) -> Result<(Vec<u8>, u64), Error> {
    use std::io::Cursor;
    let path = Path::new("<memory>");
    let invalid = |problem: String| Error::InvalidSpec {
        path: path.to_path_buf(),
        problem,
    };
    if planar.len() != spec.channels || spec.channels == 0 || spec.channels > MAX_CHANNELS {
        return Err(invalid(format!(
            "{} channels given for a {}-channel spec (1 to {MAX_CHANNELS} are supported)",
            planar.len(),
            spec.channels
        )));
    }
    if !(MIN_RATE_HZ..=MAX_RATE_HZ).contains(&spec.sample_rate_hz) {
        return Err(invalid(format!(
            "sample rate {} Hz (supported: {MIN_RATE_HZ} to {MAX_RATE_HZ} Hz)",
            spec.sample_rate_hz
        )));
    }
    let frames = planar[0].len();
    if planar.iter().any(|c| c.len() != frames) {
        return Err(invalid("channels of different lengths".into()));
    }
    if planar.iter().flatten().any(|x| !x.is_finite()) {
        return Err(invalid("a sample is NaN or infinite".into()));
    }
    let bits = spec.format.bits();
    let mut clipped = 0u64;
    match spec.container {
        Container::Wav => {
            let mut bytes = wav_header(&spec).map_err(|e| hound_error(path, e))?;
            let data_len_offset = bytes.len() - 4;
            let block: Vec<&[f64]> = planar.iter().map(Vec::as_slice).collect();
            wav_bytes(spec.format, &block, &mut bytes, &mut clipped);
            let data_bytes = bytes.len() - data_len_offset - 4;
            let riff = u32::try_from(bytes.len() - 8)
                .map_err(|_| invalid("too long for a WAV file (4 GiB)".into()))?;
            // the sizes hound's `update_header` writes (see `finish`)
            bytes[4..8].copy_from_slice(&riff.to_le_bytes());
            bytes[data_len_offset..data_len_offset + 4]
                .copy_from_slice(&(data_bytes as u32).to_le_bytes());
            Ok((bytes, clipped))
        }
        Container::Flac => {
            if spec.format == SampleFormat::F32 {
                return Err(invalid(
                    "FLAC cannot store 32-bit float samples (use 16 or 24 bits)".into(),
                ));
            }
            let mut stream = FlacStream::new(
                Cursor::new(Vec::new()),
                spec.sample_rate_hz,
                spec.channels,
                bits as usize,
            )
            .map_err(|e| flac_error(path, e))?;
            let mut inter = Vec::with_capacity(8192 * spec.channels);
            for start in (0..frames).step_by(8192) {
                inter.clear();
                for i in start..(start + 8192).min(frames) {
                    for ch in planar {
                        inter.push(quantize(ch[i], bits, &mut clipped));
                    }
                }
                stream.push(&inter).map_err(|e| flac_error(path, e))?;
            }
            let cur = stream.finish().map_err(|e| flac_error(path, e))?;
            Ok((cur.into_inner(), clipped))
        }
    }
}

/// hound's WAV header for `spec` with an empty data chunk (44 or 68 bytes;
/// the size fields are patched when the file is finished).
fn wav_header(spec: &WriteSpec) -> Result<Vec<u8>, hound::Error> {
    let wav_spec = hound::WavSpec {
        channels: spec.channels as u16,
        sample_rate: spec.sample_rate_hz,
        bits_per_sample: spec.format.bits() as u16,
        sample_format: match spec.format {
            SampleFormat::F32 => hound::SampleFormat::Float,
            _ => hound::SampleFormat::Int,
        },
    };
    let mut cur = std::io::Cursor::new(Vec::new());
    hound::WavWriter::new(&mut cur, wav_spec)?.finalize()?;
    Ok(cur.into_inner())
}

/// Appends the WAV data bytes of the quantised planar block `q`
/// (`q[ch][..frames]`, from [`quantize_block`]) to `out`: interleaved,
/// little endian, 2 or 3 bytes per sample (the bytes hound's
/// `write_sample` writes for the same values).
fn wav_int_bytes(format: SampleFormat, q: &[Vec<i32>], frames: usize, out: &mut Vec<u8>) {
    let width = (format.bits() / 8) as usize;
    let stride = width * q.len();
    let base = out.len();
    out.resize(base + frames * stride, 0);
    let dst = &mut out[base..];
    for (c, ch) in q.iter().enumerate() {
        let at = c * width;
        match format {
            SampleFormat::I16 => {
                for (f, &v) in dst.chunks_exact_mut(stride).zip(&ch[..frames]) {
                    f[at..at + 2].copy_from_slice(&(v as i16).to_le_bytes());
                }
            }
            _ => {
                for (f, &v) in dst.chunks_exact_mut(stride).zip(&ch[..frames]) {
                    f[at..at + 3].copy_from_slice(&v.to_le_bytes()[..3]);
                }
            }
        }
    }
}

/// Appends the WAV data bytes of planar `block` (interleaved, little
/// endian; integers quantised with [`quantize_block`], floats as `f32`
/// clamped to its range) to `out`, counting clamped samples.
fn wav_bytes(format: SampleFormat, block: &[&[f64]], out: &mut Vec<u8>, clipped: &mut u64) {
    if format == SampleFormat::F32 {
        return wav_f32_bytes(block, out, clipped);
    }
    let frames = block.first().map_or(0, |c| c.len());
    let q: Vec<Vec<i32>> = block
        .iter()
        .map(|c| {
            let mut q = vec![0; frames];
            *clipped += quantize_block(c, format.bits(), &mut q);
            q
        })
        .collect();
    wav_int_bytes(format, &q, frames, out);
}

/// Appends the WAV data bytes of planar `block` as 32-bit floats
/// (interleaved, little endian, clamped to the `f32` range), counting
/// clamped samples.
fn wav_f32_bytes(block: &[&[f64]], out: &mut Vec<u8>, clipped: &mut u64) {
    let frames = block.first().map_or(0, |c| c.len());
    out.reserve(frames * block.len() * 4);
    let max = f64::from(f32::MAX);
    for i in 0..frames {
        for ch in block {
            let x = ch[i];
            let y = if x.abs() > max {
                *clipped += 1;
                max.copysign(x)
            } else {
                x
            };
            out.extend_from_slice(&(y as f32).to_bits().to_le_bytes());
        }
    }
}

/// [`quantize`] of every sample of `x` into `q` (same length), returning
/// the number clamped: the same values, computed without branches so the
/// loop vectorises ([`round_ties_away`]), with AVX2 where the processor
/// has it. A NaN gives 0 and is not counted (as `NaN as i32`; the writer
/// refuses NaN before quantising anyway).
pub(crate) fn quantize_block(x: &[f64], bits: u32, q: &mut [i32]) -> u64 {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") {
        // SAFETY: AVX2 is present (checked just above).
        return unsafe { quantize_block_avx2(x, bits, q) };
    }
    quantize_lanes(x, bits, q)
}

/// [`quantize_lanes`] compiled for AVX2.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn quantize_block_avx2(x: &[f64], bits: u32, q: &mut [i32]) -> u64 {
    quantize_lanes(x, bits, q)
}

/// The body of [`quantize_block`]: four independent lanes (their clip
/// counts summed at the end), the integer conversion without the
/// saturating cast: the clamped value `c` is an integer of at most 24 bits,
/// so `c + 1.5·2^52` is exact and its low 32 bits are `c` in two's
/// complement.
#[inline(always)]
fn quantize_lanes(x: &[f64], bits: u32, q: &mut [i32]) -> u64 {
    const MAGIC: f64 = 6_755_399_441_055_744.0; // 1.5 · 2^52
    let scale = (1i64 << (bits - 1)) as f64;
    let (min, max) = (-scale, scale - 1.0);
    let one = |v: f64| -> (i32, i64) {
        let r = round_ties_away((v * scale).clamp(min - 1.0, max + 1.0));
        let out = i64::from(r > max) + i64::from(r < min);
        let c = r.clamp(min, max);
        // NaN gives 0, as `as i32` does
        let c = if c.is_nan() { 0.0 } else { c };
        ((c + MAGIC).to_bits() as u32 as i32, out)
    };
    let n = x.len().min(q.len());
    let (x, q) = (&x[..n], &mut q[..n]);
    let mut counts = [0i64; 4];
    let mut xs = x.chunks_exact(4);
    let mut qs = q.chunks_exact_mut(4);
    for (xc, qc) in (&mut xs).zip(&mut qs) {
        for j in 0..4 {
            let (v, out) = one(xc[j]);
            qc[j] = v;
            counts[j] += out;
        }
    }
    let mut clipped = counts.iter().sum::<i64>();
    for (o, &v) in qs.into_remainder().iter_mut().zip(xs.remainder()) {
        let (v, out) = one(v);
        *o = v;
        clipped += out;
    }
    clipped as u64
}

/// The integers of stored values `x` (each `k / 2^(bits−1)` with `k` in
/// the signed `bits`-bit range) into `q` (same length): `x · 2^(bits−1)` is
/// exactly `k`, so `k + 1.5·2^52` is exact and its low 32 bits are `k` in
/// two's complement (what [`quantize_block`] gives for the same values).
fn stored_to_int(x: &[f64], bits: u32, q: &mut [i32]) {
    const MAGIC: f64 = 6_755_399_441_055_744.0; // 1.5 · 2^52
    let scale = (1i64 << (bits - 1)) as f64;
    for (o, &v) in q.iter_mut().zip(x) {
        *o = (v * scale + MAGIC).to_bits() as u32 as i32;
    }
}

/// `y` rounded to the nearest integer, ties away from zero, for
/// `|y| < 2^51`, without branches (so loops over it vectorise): `r`, the
/// nearest with ties to even (`(y + 1.5·2^52) − 1.5·2^52`, exact in that
/// range), moved one step away from zero where `y` is a tie that went
/// towards zero (`y − r = ±0.5` with the sign of `y`).
#[inline(always)]
fn round_ties_away(y: f64) -> f64 {
    const MAGIC: f64 = 6_755_399_441_055_744.0; // 1.5 · 2^52
    let r = (y + MAGIC) - MAGIC;
    let d = y - r;
    let up = f64::from(u8::from(d == 0.5 && y > 0.0));
    let down = f64::from(u8::from(d == -0.5 && y < 0.0));
    r + up - down
}

/// Appends [`stored_value`] of every finite sample of `x` to `out` and
/// returns how many of them the writer clamps (what
/// [`AudioWriter::clipped_samples`] counts for `x`); a NaN or infinite
/// sample is appended unchanged (not counted), so writing the result
/// fails exactly where writing `x` would. Writing the appended values
/// gives the file `x` gives (they are what the file stores, and storing
/// them again changes nothing), and measuring them measures the file.
/// Vectorised (AVX2 where the processor has it); bit for bit
/// [`stored_value`] (test `stored_extend_is_stored_value`).
pub fn stored_extend(x: &[f64], format: SampleFormat, out: &mut Vec<f64>) -> u64 {
    let base = out.len();
    out.reserve(x.len());
    // written straight into the spare room (no zeroing first)
    let dst = &mut out.spare_capacity_mut()[..x.len()];
    #[cfg(target_arch = "x86_64")]
    let clipped = if std::arch::is_x86_feature_detected!("avx2") {
        // SAFETY: AVX2 is present (checked just above).
        unsafe { stored_lanes_avx2(x, format, dst) }
    } else {
        stored_lanes(x, format, dst)
    };
    #[cfg(not(target_arch = "x86_64"))]
    let clipped = stored_lanes(x, format, dst);
    // SAFETY: `stored_lanes` wrote every one of the `x.len()` values
    // (`dst` is exactly as long as `x`).
    unsafe { out.set_len(base + x.len()) };
    clipped
}

/// [`stored_lanes`] compiled for AVX2.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn stored_lanes_avx2(
    x: &[f64],
    format: SampleFormat,
    out: &mut [std::mem::MaybeUninit<f64>],
) -> u64 {
    stored_lanes(x, format, out)
}

/// The body of [`stored_extend`] into `out` (same length as `x`; every
/// value of it written): four independent lanes, their counts summed at
/// the end.
#[inline(always)]
fn stored_lanes(x: &[f64], format: SampleFormat, out: &mut [std::mem::MaybeUninit<f64>]) -> u64 {
    let bits = match format {
        SampleFormat::I16 => 16,
        SampleFormat::I24 => 24,
        SampleFormat::F32 => 0,
    };
    let scale = if bits > 0 {
        (1i64 << (bits - 1)) as f64
    } else {
        1.0
    };
    let inv = 1.0 / scale;
    let (min, max) = (-scale, scale - 1.0);
    let fmax = f64::from(f32::MAX);
    let one = |v: f64| -> (f64, i64) {
        let finite = v.is_finite();
        let (s, out) = if bits == 0 {
            (f64::from(v.clamp(-fmax, fmax) as f32), v.abs() > fmax)
        } else {
            let r = round_ties_away((v * scale).clamp(min - 1.0, max + 1.0));
            (r.clamp(min, max) * inv, (r > max) | (r < min))
        };
        (if finite { s } else { v }, i64::from(out & finite))
    };
    let n = x.len().min(out.len());
    let (x, out) = (&x[..n], &mut out[..n]);
    let mut counts = [0i64; 4];
    let mut xs = x.chunks_exact(4);
    let mut os = out.chunks_exact_mut(4);
    for (xc, oc) in (&mut xs).zip(&mut os) {
        for j in 0..4 {
            let (v, c) = one(xc[j]);
            oc[j].write(v);
            counts[j] += c;
        }
    }
    let mut clipped = counts.iter().sum::<i64>();
    for (o, &v) in os.into_remainder().iter_mut().zip(xs.remainder()) {
        let (v, c) = one(v);
        o.write(v);
        clipped += c;
    }
    clipped as u64
}

/// `round(x · 2^(bits−1))` clamped to the signed `bits`-bit range; counts
/// clamped samples in `clipped`.
#[inline]
pub(crate) fn quantize(x: f64, bits: u32, clipped: &mut u64) -> i32 {
    let scale = (1i64 << (bits - 1)) as f64;
    let (min, max) = (-scale, scale - 1.0);
    // clamping to one step beyond the range first keeps every decision
    // below (round(y) > max ⇔ round(min(y, max + 1)) > max, likewise for
    // min) and bounds `y` for the integer rounding
    let y = (x * scale).clamp(min - 1.0, max + 1.0);
    let v = round_half_away(y);
    let (min, max) = (min as i64, max as i64);
    if v > max {
        *clipped += 1;
        max as i32
    } else if v < min {
        *clipped += 1;
        min as i32
    } else {
        v as i32
    }
}

/// The value sample `x` (finite) reads back as after being stored in
/// `format` by [`AudioWriter`]: `quantize(x) / 2^(bits−1)` for integers,
/// `f32` (clamped to its range) for float files.
#[inline]
pub fn stored_value(x: f64, format: SampleFormat) -> f64 {
    let bits = match format {
        SampleFormat::I16 => 16,
        SampleFormat::I24 => 24,
        SampleFormat::F32 => {
            let max = f64::from(f32::MAX);
            return f64::from(x.clamp(-max, max) as f32);
        }
    };
    let scale = (1i64 << (bits - 1)) as f64;
    let mut unused = 0;
    f64::from(quantize(x, bits, &mut unused)) / scale
}

/// `y.round()` (nearest, ties away from zero) as an integer, for
/// `|y| < 2^52`, without a library call or a branch on the fraction: the
/// truncation is exact, and so is `y − trunc(y)`.
#[inline]
fn round_half_away(y: f64) -> i64 {
    let t = y as i64;
    let f = y - t as f64;
    t + i64::from(f >= 0.5) - i64::from(f <= -0.5)
}

fn hound_error(path: &Path, e: hound::Error) -> Error {
    match e {
        hound::Error::IoError(source) => Error::Write {
            path: path.to_path_buf(),
            source,
        },
        other => Error::Encode {
            path: path.to_path_buf(),
            detail: other.to_string(),
        },
    }
}

fn flac_error(path: &Path, e: FlacError) -> Error {
    match e {
        FlacError::Io(source) => Error::Write {
            path: path.to_path_buf(),
            source,
        },
        FlacError::Encode(detail) => Error::Encode {
            path: path.to_path_buf(),
            detail,
        },
    }
}

/// Creates a new, hidden temporary file next to the output.
fn create_temp(dir: &Path, file_name: &std::ffi::OsStr) -> std::io::Result<(PathBuf, File)> {
    let pid = std::process::id();
    let mut last_err = None;
    for _ in 0..16 {
        let n = TMP_COUNTER.fetch_add(1, Ordering::Relaxed);
        let mut name = std::ffi::OsString::from(".");
        name.push(file_name);
        name.push(format!(".sheen-tmp-{pid}-{n}"));
        let tmp = dir.join(name);
        match OpenOptions::new()
            .read(true)
            .write(true)
            .create_new(true)
            .open(&tmp)
        {
            Ok(f) => return Ok((tmp, f)),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => last_err = Some(e),
            Err(e) => return Err(e),
        }
    }
    Err(last_err.unwrap_or_else(|| std::io::Error::other("no free temporary name")))
}

/// Whether the output (`path`, in `dir`, named `file_name`) is the same file
/// as `input`.
fn same_file(path: &Path, dir: &Path, file_name: &std::ffi::OsStr, input: &Path) -> bool {
    let Ok(in_meta) = std::fs::metadata(input) else {
        // An input that does not exist cannot be overwritten... unless it
        // is spelled differently but names the same place.
        return lexically_same(path, input);
    };
    if let Ok(out_meta) = std::fs::metadata(path) {
        #[cfg(unix)]
        {
            use std::os::unix::fs::MetadataExt;
            return out_meta.dev() == in_meta.dev() && out_meta.ino() == in_meta.ino();
        }
        #[cfg(not(unix))]
        {
            let _ = (out_meta, in_meta);
            return match (std::fs::canonicalize(path), std::fs::canonicalize(input)) {
                (Ok(a), Ok(b)) => a == b,
                _ => lexically_same(path, input),
            };
        }
    }
    // The output does not exist yet: compare where it would be created.
    match (std::fs::canonicalize(dir), std::fs::canonicalize(input)) {
        (Ok(d), Ok(i)) => d.join(file_name) == i,
        _ => lexically_same(path, input),
    }
}

fn lexically_same(a: &Path, b: &Path) -> bool {
    let norm = |p: &Path| -> PathBuf { p.components().collect() };
    norm(a) == norm(b)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The block quantiser as it was before its lanes (stop 14): the
    /// reference of `fast_block_quantiser_equals_reference`.
    fn quantize_block_reference(x: &[f64], bits: u32, q: &mut [i32]) -> u64 {
        let scale = (1i64 << (bits - 1)) as f64;
        let (min, max) = (-scale, scale - 1.0);
        let mut clipped = 0u64;
        for (o, &v) in q.iter_mut().zip(x) {
            let r = round_ties_away((v * scale).clamp(min - 1.0, max + 1.0));
            clipped += u64::from(r > max) + u64::from(r < min);
            *o = r.clamp(min, max) as i32;
        }
        clipped
    }

    /// The lane-wise quantiser (AVX2 and the portable build) gives the
    /// previous block quantiser's values and clip count bit for bit.
    /// Reference: [`quantize_block_reference`] (stop 14's code, itself
    /// proven equal to [`quantize`]), on ties and near-ties around zero and
    /// full scale, exact full scale, values beyond it and beyond `i32`,
    /// infinities, NaN (0, not counted), zeros of both signs and noise, for
    /// every length 0..=9 and offset (the remainder lanes).
    #[test]
    fn fast_block_quantiser_equals_reference() {
        let mut vals = vec![
            0.0,
            -0.0,
            1.0,
            -1.0,
            1.5,
            -3.0,
            f64::MAX,
            -f64::MAX,
            f64::INFINITY,
            f64::NEG_INFINITY,
            f64::NAN,
            -f64::NAN,
            f64::from_bits(0x7ff0_0000_dead_beef),
            1e-300,
            5e9,
            -5e9,
        ];
        for bits in [16u32, 24] {
            let scale = (1i64 << (bits - 1)) as f64;
            for k in -20i64..20 {
                for base in [k as f64, scale - 20.0 + k as f64, -scale - 20.0 + k as f64] {
                    let h = (base + 0.5) / scale;
                    vals.extend([h, h.next_up(), h.next_down(), -h, base / scale]);
                }
            }
        }
        let mut z = sheen_testkit::Lcg(0x9E37_79B9_7F4A_7C15);
        for _ in 0..5_000 {
            vals.push((z.unit() * 2.0 - 1.0) * 1.01);
        }
        for bits in [16u32, 24] {
            let mut want = vec![0; vals.len()];
            let want_clipped = quantize_block_reference(&vals, bits, &mut want);
            for (name, f) in [
                (
                    "dispatch",
                    quantize_block as fn(&[f64], u32, &mut [i32]) -> u64,
                ),
                ("portable", |x: &[f64], b: u32, q: &mut [i32]| {
                    quantize_lanes(x, b, q)
                }),
            ] {
                let mut got = vec![7; vals.len()];
                assert_eq!(f(&vals, bits, &mut got), want_clipped, "{name} {bits}");
                assert_eq!(got, want, "{name} {bits}");
                for at in 0..4 {
                    for len in 0..=9 {
                        let x = &vals[at..at + len];
                        let mut w = vec![0; len];
                        let mut g = vec![7; len];
                        let c = quantize_block_reference(x, bits, &mut w);
                        assert_eq!(f(x, bits, &mut g), c, "{name} {bits} {at} {len}");
                        assert_eq!(g, w, "{name} {bits} {at} {len}");
                    }
                }
            }
        }
    }
    /// [`stored_extend`] appends [`stored_value`] of each finite sample
    /// (bit for bit) and counts what the writer counts; non-finite samples
    /// pass unchanged, uncounted; writing its output gives the same file
    /// and no clip count. References: [`stored_value`] (the rule) and
    /// [`quantize`]'s / the float writer's counts, on ties and near-ties,
    /// full scale, values beyond it and beyond `f32`, zeros of both signs,
    /// NaN and infinities and noise, at every length 0..=9 and offset (the
    /// remainder lanes), appended after existing values.
    #[test]
    fn stored_extend_is_stored_value() {
        let mut x = vec![
            0.0,
            -0.0,
            1.0,
            -1.0,
            1.5,
            -1.5,
            1e300,
            -1e300,
            3.5e38,
            -3.5e38,
            1e-300,
            f64::NAN,
            f64::INFINITY,
            f64::NEG_INFINITY,
        ];
        for bits in [16, 24] {
            let scale = (1i64 << (bits - 1)) as f64;
            for k in [
                0.0,
                1.0,
                2.0,
                1000.0,
                scale - 2.0,
                scale - 1.0,
                scale,
                scale + 1.0,
            ] {
                for d in [-0.5, 0.5, 0.49999999999, 0.50000000001, 0.0] {
                    x.push((k + d) / scale);
                    x.push(-(k + d) / scale);
                }
            }
        }
        let mut z = sheen_testkit::Lcg(11);
        for _ in 0..5_000 {
            x.push(z.centred() * 2.2);
        }
        let check = |x: &[f64], format: SampleFormat| {
            let mut got = vec![42.0];
            let clipped = stored_extend(x, format, &mut got);
            assert_eq!(got.len(), x.len() + 1);
            assert_eq!(got[0], 42.0);
            let mut want_clipped = 0u64;
            for (&v, &g) in x.iter().zip(&got[1..]) {
                if !v.is_finite() {
                    assert_eq!(v.to_bits(), g.to_bits());
                    continue;
                }
                assert_eq!(
                    stored_value(v, format).to_bits(),
                    g.to_bits(),
                    "{format:?} {v:e}"
                );
                want_clipped += match format {
                    SampleFormat::F32 => u64::from(v.abs() > f64::from(f32::MAX)),
                    _ => {
                        let mut c = 0;
                        quantize(v, format.bits(), &mut c);
                        c
                    }
                };
            }
            assert_eq!(clipped, want_clipped, "{format:?}");
        };
        for format in [SampleFormat::I16, SampleFormat::I24, SampleFormat::F32] {
            check(&x, format);
            for at in 0..4 {
                for len in 0..=9 {
                    check(&x[at..at + len], format);
                }
            }
        }
        // writing the stored values gives the file the raw values give
        let finite: Vec<f64> = x.iter().copied().filter(|v| v.is_finite()).collect();
        let dir = tempfile::tempdir().unwrap();
        for (k, &fmt) in FORMATS.iter().enumerate() {
            let mut st = Vec::new();
            let clipped = stored_extend(&finite, fmt.1, &mut st);
            let a = dir.path().join(format!("raw{k}.{}", ext(fmt.0)));
            let b = dir.path().join(format!("st{k}.{}", ext(fmt.0)));
            let mut wa = AudioWriter::create(&a, spec(48_000, 1, fmt), &[]).unwrap();
            wa.write(&[&finite]).unwrap();
            assert_eq!(wa.clipped_samples(), clipped, "{fmt:?}");
            wa.finish().unwrap();
            let mut wb = AudioWriter::create(&b, spec(48_000, 1, fmt), &[]).unwrap();
            wb.write(&[&st]).unwrap();
            assert_eq!(wb.clipped_samples(), 0, "{fmt:?}");
            wb.finish().unwrap();
            assert_eq!(
                std::fs::read(&a).unwrap(),
                std::fs::read(&b).unwrap(),
                "{fmt:?}"
            );
            // and so does `write_stored` (no rounding or clamping)
            let c = dir.path().join(format!("ws{k}.{}", ext(fmt.0)));
            let mut wc = AudioWriter::create(&c, spec(48_000, 1, fmt), &[]).unwrap();
            for part in st.chunks(1000) {
                wc.write_stored(&[part]).unwrap();
            }
            assert_eq!(wc.clipped_samples(), 0, "{fmt:?}");
            wc.finish().unwrap();
            assert_eq!(
                std::fs::read(&a).unwrap(),
                std::fs::read(&c).unwrap(),
                "{fmt:?}"
            );
        }
    }
    use crate::test_util::{max_abs_diff, signal};
    use crate::{read_all, AudioReader};

    const FORMATS: [(Container, SampleFormat); 5] = [
        (Container::Wav, SampleFormat::I16),
        (Container::Wav, SampleFormat::I24),
        (Container::Wav, SampleFormat::F32),
        (Container::Flac, SampleFormat::I16),
        (Container::Flac, SampleFormat::I24),
    ];

    fn spec(
        rate: u32,
        channels: usize,
        (container, format): (Container, SampleFormat),
    ) -> WriteSpec {
        WriteSpec {
            sample_rate_hz: rate,
            channels,
            format,
            container,
        }
    }

    fn ext(c: Container) -> &'static str {
        match c {
            Container::Wav => "wav",
            Container::Flac => "flac",
        }
    }

    /// Round trip through every writable format, 1/2/6/8 channels, 8 kHz to
    /// 384 kHz. Reference: the written signal. Tolerance: integer formats
    /// within 0.5 LSB (round-to-nearest, 2^−(bits−1) full scale per LSB);
    /// F32 exactly the `f32` of the input.
    #[test]
    fn round_trip_all_formats_channels_rates() {
        let dir = tempfile::tempdir().unwrap();
        let frames = 3001; // not a multiple of any block or packet size
        for (k, &fmt) in FORMATS.iter().enumerate() {
            for &channels in &[1usize, 2, 6, 8] {
                for &rate in &[8000u32, 44100, 48000, 96000, 192000, 384000] {
                    let x = signal(
                        channels,
                        frames,
                        rate,
                        (k * 100 + channels) as u64 + rate as u64,
                    );
                    let path = dir
                        .path()
                        .join(format!("rt_{k}_{channels}_{rate}.{}", ext(fmt.0)));
                    let clipped = write_all(&path, spec(rate, channels, fmt), &[], &x).unwrap();
                    assert_eq!(clipped, 0);
                    let (info, y) = read_all(&path).unwrap();
                    let what = format!("{fmt:?} {channels} ch {rate} Hz");
                    assert_eq!(info.sample_rate_hz, rate, "{what}");
                    assert_eq!(info.channels, channels, "{what}");
                    assert_eq!(info.frames, Some(frames as u64), "{what}");
                    assert_eq!(info.bits_per_sample, Some(fmt.1.bits()), "{what}");
                    match fmt.1 {
                        SampleFormat::F32 => {
                            let x32: Vec<Vec<f64>> = x
                                .iter()
                                .map(|c| c.iter().map(|&s| f64::from(s as f32)).collect())
                                .collect();
                            assert_eq!(max_abs_diff(&x32, &y), 0.0, "{what}");
                        }
                        f => {
                            let lsb = 1.0 / f64::from(1u32 << (f.bits() - 1));
                            let d = max_abs_diff(&x, &y);
                            assert!(d <= 0.5 * lsb * (1.0 + 1e-9), "{what}: {d} > 0.5 LSB");
                        }
                    }
                }
            }
        }
    }

    /// hound's own writer, one `write_sample` per sample (the values
    /// [`quantize`]d, floats clamped to the `f32` range): the independent
    /// reference for the block writer's WAV bytes.
    fn hound_wav(spec: WriteSpec, x: &[Vec<f64>]) -> Vec<u8> {
        let bits = spec.format.bits();
        let wav_spec = hound::WavSpec {
            channels: spec.channels as u16,
            sample_rate: spec.sample_rate_hz,
            bits_per_sample: bits as u16,
            sample_format: match spec.format {
                SampleFormat::F32 => hound::SampleFormat::Float,
                _ => hound::SampleFormat::Int,
            },
        };
        let mut cur = std::io::Cursor::new(Vec::new());
        let mut w = hound::WavWriter::new(&mut cur, wav_spec).unwrap();
        let mut clipped = 0;
        let max = f64::from(f32::MAX);
        for i in 0..x[0].len() {
            for ch in x {
                match spec.format {
                    SampleFormat::F32 => w.write_sample(ch[i].clamp(-max, max) as f32),
                    SampleFormat::I16 => w.write_sample(quantize(ch[i], 16, &mut clipped) as i16),
                    SampleFormat::I24 => w.write_sample(quantize(ch[i], 24, &mut clipped)),
                }
                .unwrap();
            }
        }
        w.finalize().unwrap();
        cur.into_inner()
    }

    /// Reference: [`write_all`] — the in-memory encoder gives exactly the
    /// bytes of the file [`AudioWriter`] writes, for every format; and for
    /// WAV both are the bytes of hound's own per-sample writer
    /// ([`hound_wav`]); also for a WAV file long enough for the early
    /// writeback requests.
    #[test]
    fn in_memory_equals_file() {
        let dir = tempfile::tempdir().unwrap();
        for (k, &fmt) in FORMATS.iter().enumerate() {
            let x = signal(2, 10_001, 48_000, k as u64 + 7);
            let path = dir.path().join(format!("m{k}.{}", ext(fmt.0)));
            write_all(&path, spec(48_000, 2, fmt), &[], &x).unwrap();
            let (bytes, clipped) = encode_in_memory(spec(48_000, 2, fmt), &x).unwrap();
            assert_eq!(clipped, 0);
            assert_eq!(bytes, std::fs::read(&path).unwrap(), "{fmt:?}");
            if fmt.0 == Container::Wav {
                assert_eq!(bytes, hound_wav(spec(48_000, 2, fmt), &x), "{fmt:?}");
            }
        }
        // long enough for the early writeback requests (WRITEBACK_BYTES):
        // the same bytes
        let x = signal(2, 1_100_000, 48_000, 3);
        let fmt = (Container::Wav, SampleFormat::I16);
        let path = dir.path().join("long.wav");
        write_all(&path, spec(48_000, 2, fmt), &[], &x).unwrap();
        let (bytes, _) = encode_in_memory(spec(48_000, 2, fmt), &x).unwrap();
        assert!(bytes.len() as u64 > WRITEBACK_BYTES);
        assert!(bytes == std::fs::read(&path).unwrap());
        let bad = encode_in_memory(spec(48_000, 1, FORMATS[0]), &[vec![f64::NAN]]);
        assert!(bad.unwrap_err().to_string().contains("<memory>"));
    }

    /// Quantisation rule: round to nearest, clamp, count. Reference: the
    /// definition in the module documentation; exact.
    #[test]
    fn quantize_rounds_clamps_and_counts() {
        let mut clipped = 0;
        assert_eq!(quantize(0.0, 16, &mut clipped), 0);
        assert_eq!(quantize(0.49 / 32768.0, 16, &mut clipped), 0);
        assert_eq!(quantize(0.51 / 32768.0, 16, &mut clipped), 1);
        assert_eq!(quantize(-1.5 / 32768.0, 16, &mut clipped), -2);
        assert_eq!(quantize(32767.0 / 32768.0, 16, &mut clipped), 32767);
        assert_eq!(quantize(-1.0, 16, &mut clipped), -32768);
        assert_eq!(clipped, 0);
        assert_eq!(quantize(1.0, 16, &mut clipped), 32767);
        assert_eq!(quantize(-1.0001, 16, &mut clipped), -32768);
        assert_eq!(quantize(7.0, 24, &mut clipped), (1 << 23) - 1);
        assert_eq!(quantize(f64::MAX, 24, &mut clipped), (1 << 23) - 1);
        assert_eq!(clipped, 4);
    }

    /// The library-free rounding equals `f64::round` (ties away from zero)
    /// on halves, near-halves and pseudo-random values across the 24-bit
    /// range. Reference: `f64::round`'s definition.
    #[test]
    fn fast_rounding_equals_round() {
        let mut vals = vec![
            0.5,
            -0.5,
            1.5,
            -1.5,
            2.5,
            -2.5,
            0.49999999999999994,
            -0.49999999999999994,
        ];
        for k in -40i64..40 {
            let h = k as f64 + 0.5;
            vals.extend([h, h.next_up(), h.next_down(), k as f64]);
        }
        let mut z = sheen_testkit::Lcg(0x9E37_79B9_7F4A_7C15);
        for _ in 0..100_000 {
            let u = z.unit();
            vals.push((u * 2.0 - 1.0) * 8_388_609.0);
        }
        for v in vals {
            assert_eq!(round_half_away(v) as f64, v.round(), "{v}");
        }
    }

    /// The vectorised block quantiser gives [`quantize`]'s values and clip
    /// count, and the file reads back as [`stored_extend`]'s values
    /// (themselves [`stored_value`] bit for bit, see
    /// `stored_extend_is_stored_value`). Reference: the scalar definitions, on halves and
    /// near-halves of both integer formats, values beyond full scale, and
    /// pseudo-random values.
    #[test]
    fn block_quantiser_equals_scalar() {
        let mut vals = vec![0.0, -0.0, 1.0, -1.0, 1.5, -3.0, f64::MAX, -f64::MAX, 1e-300];
        for bits in [16u32, 24] {
            let scale = (1i64 << (bits - 1)) as f64;
            for k in -40i64..40 {
                for base in [k as f64, scale - 40.0 + k as f64] {
                    let h = (base + 0.5) / scale;
                    vals.extend([h, h.next_up(), h.next_down(), -h, base / scale]);
                }
            }
        }
        let mut z = sheen_testkit::Lcg(0x9E37_79B9_7F4A_7C15);
        for _ in 0..20_000 {
            vals.push((z.unit() * 2.0 - 1.0) * 1.01);
        }
        for bits in [16u32, 24] {
            let mut q = vec![0; vals.len()];
            let clipped = quantize_block(&vals, bits, &mut q);
            let mut want = 0;
            for (&v, &got) in vals.iter().zip(&q) {
                assert_eq!(got, quantize(v, bits, &mut want), "{v} at {bits} bits");
            }
            assert_eq!(clipped, want);
        }
        let dir = tempfile::tempdir().unwrap();
        for (k, &fmt) in FORMATS.iter().enumerate() {
            let path = dir.path().join(format!("st{k}.{}", ext(fmt.0)));
            let mut w = AudioWriter::create(&path, spec(48_000, 1, fmt), &[]).unwrap();
            let finite: Vec<f64> = vals.iter().copied().filter(|v| v.abs() < 2.0).collect();
            let mut st = Vec::new();
            stored_extend(&finite, fmt.1, &mut st);
            w.write(&[&finite]).unwrap();
            w.finish().unwrap();
            let (_, y) = read_all(&path).unwrap();
            assert!(y[0].iter().zip(&st).all(|(a, b)| a == b), "{fmt:?}");
            assert_eq!(y[0].len(), st.len(), "{fmt:?}");
        }
    }

    /// Clipped samples are counted per sample and per channel, and clamped
    /// to full scale in the file (integer) or kept (F32).
    #[test]
    fn clipping_is_counted_and_clamped() {
        let dir = tempfile::tempdir().unwrap();
        let x = vec![vec![0.5, 1.2, -3.0, 0.0], vec![1.0, 0.0, 0.0, -1.0]];
        for fmt in FORMATS {
            let path = dir.path().join(format!("clip_{:?}.{}", fmt.1, ext(fmt.0)));
            let clipped = write_all(&path, spec(48000, 2, fmt), &[], &x).unwrap();
            let (_, y) = read_all(&path).unwrap();
            if fmt.1 == SampleFormat::F32 {
                assert_eq!(clipped, 0);
                assert_eq!(y[0][1], 1.2f32 as f64);
            } else {
                // 1.2, −3.0 and +1.0 do not fit; −1.0 does.
                assert_eq!(clipped, 3, "{fmt:?}");
                let max = 1.0 - 1.0 / f64::from(1u32 << (fmt.1.bits() - 1));
                assert_eq!(y[0][1], max);
                assert_eq!(y[0][2], -1.0);
                assert_eq!(y[1][0], max);
                assert_eq!(y[1][3], -1.0);
            }
        }
    }

    /// Writing in blocks of 1, 7 or everything gives the same bytes (the
    /// FLAC encoder's blocking is independent of the caller's).
    #[test]
    fn block_size_does_not_change_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let x = signal(2, 10_000, 44100, 7);
        for fmt in FORMATS {
            let mut files = Vec::new();
            for step in [1usize, 7, 10_000] {
                let path = dir
                    .path()
                    .join(format!("b{step}_{:?}.{}", fmt.1, ext(fmt.0)));
                let mut w = AudioWriter::create(&path, spec(44100, 2, fmt), &[]).unwrap();
                for start in (0..10_000).step_by(step) {
                    let end = (start + step).min(10_000);
                    w.write(&[&x[0][start..end], &x[1][start..end]]).unwrap();
                }
                assert_eq!(w.frames_written(), 10_000);
                w.finish().unwrap();
                files.push(std::fs::read(&path).unwrap());
            }
            assert!(files.windows(2).all(|w| w[0] == w[1]), "{fmt:?}");
        }
    }

    /// The FLAC STREAMINFO written on finish is right: symphonia's decoder
    /// verifies the MD5 of the decoded samples against it (RFC 9639 §8.2),
    /// and the total-samples field matches.
    #[test]
    fn flac_streaminfo_md5_verifies() {
        use symphonia::core::codecs::audio::AudioDecoderOptions;
        use symphonia::core::formats::probe::Hint;
        use symphonia::core::formats::{FormatOptions, TrackType};
        use symphonia::core::io::MediaSourceStream;
        use symphonia::core::meta::MetadataOptions;

        let dir = tempfile::tempdir().unwrap();
        for (bits, fmt) in [(16, SampleFormat::I16), (24, SampleFormat::I24)] {
            for frames in [1usize, 4096, 4097, 20_000] {
                let x = signal(2, frames, 48000, frames as u64);
                let path = dir.path().join(format!("md5_{bits}_{frames}.flac"));
                write_all(&path, spec(48000, 2, (Container::Flac, fmt)), &[], &x).unwrap();
                let file = std::fs::File::open(&path).unwrap();
                let mss = MediaSourceStream::new(Box::new(file), Default::default());
                let mut format = symphonia::default::get_probe()
                    .probe(
                        &Hint::new(),
                        mss,
                        FormatOptions::default(),
                        MetadataOptions::default(),
                    )
                    .unwrap();
                let track = format.default_track(TrackType::Audio).unwrap();
                assert_eq!(track.num_frames, Some(frames as u64));
                let params = track
                    .codec_params
                    .as_ref()
                    .unwrap()
                    .audio()
                    .unwrap()
                    .clone();
                let mut dec = symphonia::default::get_codecs()
                    .make_audio_decoder(&params, &AudioDecoderOptions::default().verify(true))
                    .unwrap();
                while let Some(p) = format.next_packet().unwrap() {
                    dec.decode(&p).unwrap();
                }
                assert_eq!(
                    dec.finalize().verify_ok,
                    Some(true),
                    "{bits} bit, {frames} frames"
                );
            }
        }
    }

    /// A writer dropped without `finish` leaves nothing behind (no output,
    /// no temporary file); a finished one leaves exactly the output.
    #[test]
    fn dropped_writer_leaves_no_file() {
        let dir = tempfile::tempdir().unwrap();
        let x = signal(2, 5000, 48000, 1);
        for fmt in FORMATS {
            let path = dir.path().join(format!("drop.{}", ext(fmt.0)));
            let mut w = AudioWriter::create(&path, spec(48000, 2, fmt), &[]).unwrap();
            w.write(&[&x[0], &x[1]]).unwrap();
            // A failing write (wrong shape) does not finish the file either.
            assert!(matches!(w.write(&[&x[0]]), Err(Error::InvalidBlock { .. })));
            drop(w);
            assert!(!path.exists());
            assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0, "{fmt:?}");
        }
        let path = dir.path().join("kept.wav");
        let w = AudioWriter::create(&path, spec(48000, 2, FORMATS[0]), &[]).unwrap();
        // The output name does not exist until finish.
        assert!(!path.exists());
        assert_eq!(w.finish().unwrap(), path);
        let names: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, vec![std::ffi::OsString::from("kept.wav")]);
    }

    /// A failed write leaves a previous file of the same name untouched.
    #[test]
    fn failed_write_keeps_previous_output() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("old.wav");
        std::fs::write(&path, b"previous").unwrap();
        let mut w = AudioWriter::create(&path, spec(48000, 1, FORMATS[0]), &[]).unwrap();
        let bad = [0.0, f64::NAN];
        let e = w.write(&[&bad]).unwrap_err();
        assert!(
            e.to_string().contains("old.wav") && e.to_string().contains("NaN"),
            "{e}"
        );
        drop(w);
        assert_eq!(std::fs::read(&path).unwrap(), b"previous");
    }

    /// The writer refuses to overwrite an input: same path, another spelling
    /// of it, a hard link and a symlink; it accepts other outputs.
    /// Text documents: written whole, never over an input, nothing left
    /// behind on refusal.
    #[test]
    fn write_text_is_atomic_and_refuses_inputs() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("doc.toml");
        write_text(&out, "a = 1\n", &[]).unwrap();
        assert_eq!(std::fs::read_to_string(&out).unwrap(), "a = 1\n");
        write_text(&out, "a = 2\n", &[]).unwrap();
        assert_eq!(std::fs::read_to_string(&out).unwrap(), "a = 2\n");
        let e = write_text(&out, "b", &[&out]).unwrap_err().to_string();
        assert!(e.contains("doc.toml"), "{e}");
        assert_eq!(std::fs::read_to_string(&out).unwrap(), "a = 2\n");
        assert!(write_text(dir.path(), "x", &[]).is_err());
        let names: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
        assert_eq!(names.len(), 1, "no temporary file left");
    }

    #[test]
    fn refuses_to_overwrite_inputs() {
        let dir = tempfile::tempdir().unwrap();
        let input = dir.path().join("in.wav");
        write_all(&input, spec(48000, 1, FORMATS[0]), &[], &[vec![0.1; 100]]).unwrap();
        let before = std::fs::read(&input).unwrap();
        let s = spec(48000, 1, FORMATS[0]);

        let mut same: Vec<PathBuf> = vec![input.clone(), dir.path().join(".").join("in.wav")];
        let sub = dir.path().join("sub");
        std::fs::create_dir(&sub).unwrap();
        same.push(sub.join("..").join("in.wav"));
        let hard = dir.path().join("hard.wav");
        std::fs::hard_link(&input, &hard).unwrap();
        same.push(hard);
        #[cfg(unix)]
        {
            let sym = dir.path().join("sym.wav");
            std::os::unix::fs::symlink(&input, &sym).unwrap();
            same.push(sym);
        }
        for out in &same {
            let e = AudioWriter::create(out, s, &[Path::new("other.wav"), &input]).unwrap_err();
            assert!(
                matches!(e, Error::WouldOverwriteInput { .. }),
                "{}: {e}",
                out.display()
            );
            assert!(e.to_string().contains("refusing to overwrite"), "{e}");
        }
        // Any other output is fine, and the input was never touched.
        let out = dir.path().join("out.wav");
        assert!(AudioWriter::create(&out, s, &[&input]).is_ok());
        assert_eq!(std::fs::read(&input).unwrap(), before);
        assert!(!out.exists());
    }

    /// Invalid specs and destinations are refused with precise errors that
    /// name the file.
    #[test]
    fn invalid_specs_and_destinations() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("x.flac");
        let e = AudioWriter::create(
            &p,
            spec(48000, 2, (Container::Flac, SampleFormat::F32)),
            &[],
        )
        .unwrap_err();
        assert!(
            matches!(e, Error::InvalidSpec { .. })
                && e.to_string().starts_with(&p.display().to_string()),
            "{e}"
        );
        for (rate, ch) in [(48000, 0), (48000, 9), (7999, 2), (384_001, 2)] {
            let e = AudioWriter::create(&p, spec(rate, ch, FORMATS[0]), &[]).unwrap_err();
            assert!(matches!(e, Error::InvalidSpec { .. }), "{e}");
        }
        let e = AudioWriter::create(dir.path(), spec(48000, 2, FORMATS[0]), &[]).unwrap_err();
        assert!(matches!(e, Error::IsDirectory { .. }), "{e}");
        let missing = dir.path().join("nope").join("x.wav");
        let e = AudioWriter::create(&missing, spec(48000, 2, FORMATS[0]), &[]).unwrap_err();
        assert!(matches!(e, Error::NoSuchFolder { .. }), "{e}");
        assert!(e.to_string().contains("nope"), "{e}");
        // Block shape errors.
        let mut w =
            AudioWriter::create(&p.with_extension("wav"), spec(48000, 2, FORMATS[0]), &[]).unwrap();
        let a = [0.0; 3];
        let b = [0.0; 4];
        assert!(matches!(
            w.write(&[&a, &b]),
            Err(Error::InvalidBlock { .. })
        ));
        assert!(matches!(
            w.write(&[&a, &a, &a]),
            Err(Error::InvalidBlock { .. })
        ));
        let inf = [f64::INFINITY];
        let e = w.write(&[&inf, &inf]).unwrap_err();
        assert!(e.to_string().contains("infinite"), "{e}");
        assert_eq!(w.frames_written(), 0);
    }

    /// `Container::from_path` follows the extension, case-insensitively.
    #[test]
    fn container_from_extension() {
        assert_eq!(
            Container::from_path(Path::new("a/b.WAV")),
            Some(Container::Wav)
        );
        assert_eq!(
            Container::from_path(Path::new("b.wave")),
            Some(Container::Wav)
        );
        assert_eq!(
            Container::from_path(Path::new("b.Flac")),
            Some(Container::Flac)
        );
        assert_eq!(Container::from_path(Path::new("b.mp3")), None);
        assert_eq!(Container::from_path(Path::new("b")), None);
    }

    /// A zero-length output is a valid, empty file; reading it reports no
    /// audio.
    #[test]
    fn empty_outputs() {
        let dir = tempfile::tempdir().unwrap();
        for fmt in FORMATS {
            let path = dir.path().join(format!("empty_{:?}.{}", fmt.1, ext(fmt.0)));
            write_all(&path, spec(48000, 2, fmt), &[], &[vec![], vec![]]).unwrap();
            let e = AudioReader::open(&path).unwrap_err();
            assert!(matches!(e, Error::NoAudio { .. }), "{fmt:?}: {e}");
            assert!(
                e.to_string().ends_with("contains no audio (0 frames)"),
                "{e}"
            );
        }
    }
}
