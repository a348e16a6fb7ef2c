//! The one error type of `sheen-io`.
//!
//! Convention (from the "Foundation" issue): every message is one line that
//! starts with the file it is about, then says the problem, e.g.
//! `song.wav: file is empty`. Errors that concern no file (the resampler)
//! start with what was being done instead.

use std::path::PathBuf;

/// Errors of reading, writing and resampling audio.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The path does not exist.
    #[error("{}: no such file", path.display())]
    NotFound { path: PathBuf },

    /// The path is a directory where a file was expected.
    #[error("{}: is a directory", path.display())]
    IsDirectory { path: PathBuf },

    /// The operating system refused access.
    #[error("{}: permission denied", path.display())]
    PermissionDenied { path: PathBuf },

    /// The file has zero bytes.
    #[error("{}: file is empty", path.display())]
    Empty { path: PathBuf },

    /// No container format matched the file's content. `looks_like` is a
    /// guess at what the file is instead (e.g. `"text"`), when one can be made.
    #[error("{}: not a recognised audio format{}", path.display(), looks_like_suffix(looks_like))]
    UnrecognisedFormat {
        path: PathBuf,
        looks_like: Option<&'static str>,
    },

    /// The container was recognised but holds no audio track.
    #[error("{}: contains no audio track", path.display())]
    NoAudioTrack { path: PathBuf },

    /// The audio codec (or a feature of the container) cannot be decoded.
    #[error("{}: unsupported codec: {codec}", path.display())]
    UnsupportedCodec { path: PathBuf, codec: String },

    /// More channels than sheen handles.
    #[error("{}: too many channels: {channels} (at most {max} are supported)", path.display())]
    TooManyChannels {
        path: PathBuf,
        channels: usize,
        max: usize,
    },

    /// A sample rate outside the supported range, in Hz.
    #[error(
        "{}: unsupported sample rate {rate_hz} Hz (supported: {min_hz} to {max_hz} Hz)",
        path.display()
    )]
    UnsupportedRate {
        path: PathBuf,
        rate_hz: u32,
        min_hz: u32,
        max_hz: u32,
    },

    /// The file decodes to zero frames.
    #[error("{}: contains no audio (0 frames)", path.display())]
    NoAudio { path: PathBuf },

    /// The data stops before the end the header declares (`declared`
    /// frames), or ends in the middle of a packet. `decoded` frames were
    /// decoded (and returned) before the end.
    #[error("{}: truncated: {}", path.display(), truncated_detail(*declared, *decoded))]
    Truncated {
        path: PathBuf,
        declared: Option<u64>,
        decoded: u64,
    },

    /// A decoded sample is NaN or infinite (only float formats can hold
    /// these). `frame` is the 0-based frame index in the file.
    #[error("{}: sample {frame} of channel {channel} is {what}", path.display())]
    NonFiniteSample {
        path: PathBuf,
        frame: u64,
        channel: usize,
        what: &'static str,
    },

    /// The codec reported malformed data. `frame` is the number of frames
    /// decoded before the bad packet.
    #[error("{}: decode error after frame {frame}: {detail}", path.display())]
    Decode {
        path: PathBuf,
        frame: u64,
        detail: String,
    },

    /// The stream changes its sample rate or channel count part-way through.
    #[error("{}: stream changes format at frame {frame}: {detail}", path.display())]
    FormatChange {
        path: PathBuf,
        frame: u64,
        detail: String,
    },

    /// Reading failed at the operating-system level.
    #[error("{}: read error: {source}", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    /// Writing failed at the operating-system level.
    #[error("{}: cannot write: {source}", path.display())]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    /// The output path names one of the job's input files.
    #[error("{}: refusing to overwrite an input file ({})", path.display(), input.display())]
    WouldOverwriteInput { path: PathBuf, input: PathBuf },

    /// The folder the output should go into does not exist.
    #[error("{}: folder {} does not exist", path.display(), dir.display())]
    NoSuchFolder { path: PathBuf, dir: PathBuf },

    /// The requested output format cannot be written (e.g. FLAC with float
    /// samples, 0 channels).
    #[error("{}: cannot write this format: {problem}", path.display())]
    InvalidSpec { path: PathBuf, problem: String },

    /// A block handed to a writer does not match the writer's shape, or
    /// holds a NaN/infinite sample.
    #[error("{}: invalid block: {problem}", path.display())]
    InvalidBlock { path: PathBuf, problem: String },

    /// The encoder failed (should not happen for valid input).
    #[error("{}: encoder error: {detail}", path.display())]
    Encode { path: PathBuf, detail: String },

    /// Resampler set-up or use failed (no file involved).
    #[error("resampling {from_hz} Hz to {to_hz} Hz: {problem}")]
    Resample {
        from_hz: u32,
        to_hz: u32,
        problem: String,
    },
}

fn looks_like_suffix(looks_like: &Option<&'static str>) -> String {
    match looks_like {
        Some(what) => format!(" (looks like {what})"),
        None => String::new(),
    }
}

fn truncated_detail(declared: Option<u64>, decoded: u64) -> String {
    match declared {
        Some(n) => format!("header declares {n} frames, data ends after {decoded}"),
        None if decoded == 0 => "the file ends before any audio".to_string(),
        None => format!("data ends unexpectedly after {decoded} frames"),
    }
}

impl Error {
    /// The file this error is about, if any.
    pub fn path(&self) -> Option<&std::path::Path> {
        use Error::*;
        match self {
            NotFound { path }
            | IsDirectory { path }
            | PermissionDenied { path }
            | Empty { path }
            | UnrecognisedFormat { path, .. }
            | NoAudioTrack { path }
            | UnsupportedCodec { path, .. }
            | TooManyChannels { path, .. }
            | UnsupportedRate { path, .. }
            | NoAudio { path }
            | Truncated { path, .. }
            | NonFiniteSample { path, .. }
            | Decode { path, .. }
            | FormatChange { path, .. }
            | Read { path, .. }
            | Write { path, .. }
            | WouldOverwriteInput { path, .. }
            | NoSuchFolder { path, .. }
            | InvalidSpec { path, .. }
            | InvalidBlock { path, .. }
            | Encode { path, .. } => Some(path),
            Resample { .. } => None,
        }
    }

    /// Maps an OS error on opening `path` for reading to the precise variant.
    pub(crate) fn from_open(path: &std::path::Path, err: std::io::Error) -> Self {
        let path = path.to_path_buf();
        match err.kind() {
            std::io::ErrorKind::NotFound => Error::NotFound { path },
            std::io::ErrorKind::PermissionDenied => Error::PermissionDenied { path },
            std::io::ErrorKind::IsADirectory => Error::IsDirectory { path },
            _ => Error::Read { path, source: err },
        }
    }
}
