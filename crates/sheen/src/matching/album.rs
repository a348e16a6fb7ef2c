//! Album mastering decisions and job.
//!
//! Loudness: the loudest song (integrated loudness, BS.1770-4) lands on the
//! target; every other song keeps `keep_differences` of its distance below
//! the loudest (`1` = the original differences, `0` = all on the target):
//! `T_i = target − k · (L_max − L_i)`, so the loudness order is preserved
//! for any `k > 0`.
//!
//! Tone: the album's common curve is the equal-weight average of the songs'
//! loudness-normalised mid/side spectra ([`ReferenceTarget::average`]), or a
//! reference's when one is given; each song is pulled `tone_pull` of the way
//! towards it (the reference-matching curve of [`super::curve`] with
//! `tone = tone_pull`, width and dynamics untouched). Every file goes
//! through the true-peak limiter at the ceiling.
//!
//! Gapless ([`AlbumOptions::gapless`]): the songs are rendered as one
//! continuous stream — each song's chain also runs over
//! [`GAPLESS_CONTEXT_S`] of its neighbours' audio, so its filters and
//! limiter are settled at the joins — and consecutive renders are
//! cross-faded over ±[`GAPLESS_FADE_S`] around each join (raised cosine)
//! before the stream is split at the exact original boundaries. The
//! samples on either side of a join thus come from one smooth signal: no
//! click, no gap, and every file keeps its original length.

use super::curve::{CurveOptions, MatchAmounts, ReferenceTarget};
use super::plan::{
    make_report, master_with_target, plan_match, search_gain, MatchOptions, MatchReport,
};
use super::profile::{profile_file, Profile, ProfileBuilder, CHUNK_FRAMES};
use super::render::{write_spec, Aligner, BlockSink, MatchChain, Pipeline, ProfiledFile, Written};
use crate::Error;
use serde::Serialize;
use sheen_io::{AudioReader, AudioWriter};
use std::collections::VecDeque;
use std::path::{Path, PathBuf};

/// Audio of the neighbouring songs each gapless render also runs over, s.
pub const GAPLESS_CONTEXT_S: f64 = 1.0;

/// Half-length of the cross-fade at a gapless join, s.
pub const GAPLESS_FADE_S: f64 = 0.05;

/// Options of an album job.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct AlbumOptions {
    /// Loudness of the loudest song, LUFS.
    pub target_lufs: f64,
    /// True-peak ceiling of every file, dBTP.
    pub ceiling_dbtp: f64,
    /// Fraction of the original loudness differences kept, 0…1.
    pub keep_differences: f64,
    /// Fraction of each song's distance to the common curve removed, 0…1.
    pub tone_pull: f64,
    /// Render as one stream and split (see the module documentation).
    pub gapless: bool,
    pub bits: u32,
    pub curve: CurveOptions,
}

impl Default for AlbumOptions {
    fn default() -> Self {
        Self {
            target_lufs: -14.0,
            ceiling_dbtp: -1.0,
            keep_differences: 1.0,
            tone_pull: 0.5,
            gapless: false,
            bits: 24,
            curve: CurveOptions::default(),
        }
    }
}

/// The plan of one song.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct SongLoudness {
    pub file: String,
    pub measured_lufs: f64,
    pub target_lufs: f64,
    pub reason: String,
}

/// Per-song loudness targets (see the module documentation).
///
/// # Panics
/// If a profile has no integrated loudness.
pub fn plan_loudness(songs: &[Profile], opts: &AlbumOptions) -> Vec<SongLoudness> {
    let l: Vec<f64> = songs
        .iter()
        .map(|p| p.integrated_lufs.expect("song has loudness"))
        .collect();
    let max = l.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let k = opts.keep_differences.clamp(0.0, 1.0);
    songs
        .iter()
        .zip(&l)
        .map(|(p, &li)| {
            let below = max - li;
            let t = opts.target_lufs - k * below;
            SongLoudness {
                file: p.file.clone(),
                measured_lufs: li,
                target_lufs: t,
                reason: if below == 0.0 {
                    format!(
                        "loudest song ({li:.2} LUFS) lands on the album target {:.2} LUFS",
                        opts.target_lufs
                    )
                } else {
                    format!(
                        "{li:.2} LUFS, {below:.2} LU below the loudest; keeps {k} of that -> {t:.2} LUFS"
                    )
                },
            }
        })
        .collect()
}

/// The album's common tonal target: the reference's, or the equal-weight
/// average of the songs.
pub fn common_target(songs: &[Profile], reference: Option<&ReferenceTarget>) -> ReferenceTarget {
    match reference {
        Some(r) => r.clone(),
        None => {
            let w: Vec<(&Profile, f64)> = songs.iter().map(|p| (p, 1.0)).collect();
            ReferenceTarget::average(&w)
        }
    }
}

/// The match options of song `i` in the album.
pub fn song_options(opts: &AlbumOptions, target_lufs: f64) -> MatchOptions {
    MatchOptions {
        amounts: MatchAmounts {
            tone: opts.tone_pull.clamp(0.0, 1.0),
            loudness: 1.0,
            width: 0.0,
            dynamics: 0.0,
        },
        curve: opts.curve,
        ceiling_dbtp: opts.ceiling_dbtp,
        bits: opts.bits,
        target_lufs: Some(target_lufs),
    }
}

/// The album report.
#[derive(Clone, Debug, Serialize)]
pub struct AlbumReport {
    pub options: AlbumOptions,
    pub loudness: Vec<SongLoudness>,
    /// The common curve songs were pulled towards (loudness-normalised).
    pub common: ReferenceTarget,
    pub songs: Vec<MatchReport>,
    pub warnings: Vec<String>,
}

/// Output file of each input: `<dir>/<NN>-<stem>.wav`.
pub fn output_paths(inputs: &[PathBuf], dir: &Path) -> Vec<PathBuf> {
    inputs
        .iter()
        .enumerate()
        .map(|(i, p)| {
            let stem = p.file_stem().map_or_else(
                || format!("song{}", i + 1),
                |s| s.to_string_lossy().to_string(),
            );
            dir.join(format!("{:02}-{stem}.wav", i + 1))
        })
        .collect()
}

/// The whole album job.
pub fn master_album(
    inputs: &[PathBuf],
    reference: Option<&Path>,
    opts: &AlbumOptions,
    dir: &Path,
) -> Result<AlbumReport, Error> {
    // the songs are measured two at a time (each profile is independent,
    // so the figures are the same), the first error in song order reported
    let parallel = std::thread::available_parallelism().is_ok_and(|n| n.get() > 1);
    let songs: Vec<Profile> = if parallel && inputs.len() > 1 {
        let half = inputs.len().div_ceil(2);
        let (a, b) = std::thread::scope(|s| {
            let second = s.spawn(|| {
                inputs[half..]
                    .iter()
                    .map(|p| profile_file(p))
                    .collect::<Vec<_>>()
            });
            let first: Vec<_> = inputs[..half].iter().map(|p| profile_file(p)).collect();
            let second = second
                .join()
                .unwrap_or_else(|e| std::panic::resume_unwind(e));
            (first, second)
        });
        a.into_iter().chain(b).collect::<Result<_, _>>()?
    } else {
        inputs
            .iter()
            .map(|p| profile_file(p))
            .collect::<Result<_, _>>()?
    };
    let rate = songs[0].sample_rate_hz;
    let ch = songs[0].channels;
    if opts.gapless {
        if let Some(p) = songs
            .iter()
            .find(|p| p.sample_rate_hz != rate || p.channels != ch)
        {
            return Err(Error::Content {
                path: PathBuf::from(&p.file),
                problem: format!(
                    "gapless needs one format: {} Hz {} ch, the first song is {rate} Hz {ch} ch",
                    p.sample_rate_hz, p.channels
                ),
            });
        }
    }
    let reference = reference
        .map(super::profile::profile_reference)
        .transpose()?;
    let common = common_target(
        &songs,
        reference
            .as_ref()
            .map(|r| ReferenceTarget::average(&[(r, 1.0)]))
            .as_ref(),
    );
    let loudness = plan_loudness(&songs, opts);
    let outs = output_paths(inputs, dir);
    let mut reports = Vec::new();
    let mut warnings = Vec::new();
    if opts.gapless {
        reports = gapless(inputs, &songs, &common, &loudness, opts, &outs)?;
    } else {
        for (i, p) in songs.iter().enumerate() {
            let o = song_options(opts, loudness[i].target_lufs);
            let r = master_with_target(&inputs[i], p.clone(), &common, &o, &outs[i])?;
            reports.push(r);
        }
    }
    for r in &reports {
        warnings.extend(r.warnings.iter().cloned());
    }
    Ok(AlbumReport {
        options: opts.clone(),
        loudness,
        common,
        songs: reports,
        warnings,
    })
}

/// Raised-cosine weight of the *next* song at offset `t` (frames) from a
/// join, fade half-length `f` frames: 0 at −f, ½ at the join, 1 at +f.
fn fade_in(t: i64, f: i64) -> f64 {
    if t <= -f {
        0.0
    } else if t >= f {
        1.0
    } else {
        0.5 - 0.5 * (std::f64::consts::PI * (t + f) as f64 / (2 * f) as f64).cos()
    }
}

/// Last `n` frames of a file (one streamed read).
fn tail_frames(path: &Path, n: usize) -> Result<Vec<Vec<f64>>, Error> {
    let mut r = AudioReader::open(path)?;
    let ch = r.info().channels;
    let mut ring: Vec<VecDeque<f64>> = vec![VecDeque::with_capacity(n + CHUNK_FRAMES); ch];
    let mut buf: Vec<Vec<f64>> = Vec::new();
    loop {
        let k = r.read(&mut buf, CHUNK_FRAMES)?;
        if k == 0 {
            break;
        }
        for (q, c) in ring.iter_mut().zip(&buf) {
            q.extend(&c[..k]);
            while q.len() > n {
                q.pop_front();
            }
        }
    }
    Ok(ring.into_iter().map(Vec::from).collect())
}

/// First `n` frames of a file.
fn head_frames(path: &Path, n: usize) -> Result<Vec<Vec<f64>>, Error> {
    let mut r = AudioReader::open(path)?;
    let ch = r.info().channels;
    let mut out: Vec<Vec<f64>> = vec![Vec::with_capacity(n); ch];
    let mut buf: Vec<Vec<f64>> = Vec::new();
    while out[0].len() < n {
        let k = r.read(&mut buf, CHUNK_FRAMES.min(n - out[0].len()))?;
        if k == 0 {
            break;
        }
        for (o, c) in out.iter_mut().zip(&buf) {
            o.extend_from_slice(&c[..k]);
        }
    }
    Ok(out)
}

/// Renders song `chain` over `pre ++ input ++ post`, calling `sink` with
/// every aligned output block (the whole extended timeline, starting
/// `pre.len()` frames before the song).
fn render_with_context(
    input: &Path,
    chain: &MatchChain,
    pre: &[Vec<f64>],
    post: &[Vec<f64>],
    sink: &mut BlockSink<'_>,
) -> Result<f64, Error> {
    let mut reader = AudioReader::open(input)?;
    let info = reader.info().clone();
    let ch = info.channels;
    let mut p = Pipeline::new(chain, info.sample_rate_hz as f64, ch);
    let mut al = Aligner::new(p.latency_samples());
    let mut buf: Vec<Vec<f64>> = vec![Vec::with_capacity(CHUNK_FRAMES); ch];
    let feed = |al: &mut Aligner,
                p: &mut Pipeline,
                src: &[Vec<f64>],
                sink: &mut BlockSink<'_>|
     -> Result<(), Error> {
        let n = src.first().map_or(0, Vec::len);
        let mut s = 0;
        let mut tmp: Vec<Vec<f64>> = vec![vec![0.0; CHUNK_FRAMES]; ch];
        while s < n {
            let e = (s + CHUNK_FRAMES).min(n);
            for (t, c) in tmp.iter_mut().zip(src) {
                t[..e - s].copy_from_slice(&c[s..e]);
            }
            al.run(p, &mut tmp, e - s, false, sink)?;
            s = e;
        }
        Ok(())
    };
    feed(&mut al, &mut p, pre, sink)?;
    loop {
        let n = reader.read(&mut buf, CHUNK_FRAMES)?;
        if n == 0 {
            break;
        }
        al.run(&mut p, &mut buf, n, false, sink)?;
    }
    feed(&mut al, &mut p, post, sink)?;
    al.flush(&mut p, ch, sink)?;
    Ok(p.max_gain_reduction_db())
}

/// A file written by the gapless render whose last `fade` frames wait for
/// the next song's render.
struct Open {
    index: usize,
    file: ProfiledFile,
    gain_reduction_db: f64,
    /// The song's own render of its last `fade` frames.
    hold: Vec<Vec<f64>>,
}

/// Gapless album render (see the module documentation).
fn gapless(
    inputs: &[PathBuf],
    songs: &[Profile],
    common: &ReferenceTarget,
    loudness: &[SongLoudness],
    opts: &AlbumOptions,
    outs: &[PathBuf],
) -> Result<Vec<MatchReport>, Error> {
    let fs = songs[0].sample_rate_hz;
    let ch = songs[0].channels;
    let ctx = (GAPLESS_CONTEXT_S * fs).round() as usize;
    let fade = (GAPLESS_FADE_S * fs).round() as i64;
    if let Some(p) = songs.iter().find(|p| (p.frames as i64) < 4 * fade) {
        return Err(Error::Content {
            path: PathBuf::from(&p.file),
            problem: format!(
                "too short for a gapless join ({} frames, at least {})",
                p.frames,
                4 * fade
            ),
        });
    }
    // plan and gain-search each song on its own file
    let mut chains = Vec::new();
    let mut passes = Vec::new();
    for (i, p) in songs.iter().enumerate() {
        let o = song_options(opts, loudness[i].target_lufs);
        let mut c = plan_match(p, common, &o);
        passes.push(search_gain(&inputs[i], &mut c)? + 1);
        chains.push(c);
    }
    let mut done: Vec<(PathBuf, Written, Profile)> = Vec::new();
    let mut open: Option<Open> = None;
    // the previous song's render of the first `fade` frames after its end
    let mut carry: Vec<Vec<f64>> = vec![Vec::new(); ch];
    let n_songs = songs.len();
    for i in 0..n_songs {
        let last = i + 1 == n_songs;
        let pre = if i > 0 {
            tail_frames(&inputs[i - 1], ctx)?
        } else {
            vec![Vec::new(); ch]
        };
        let post = if last {
            vec![Vec::new(); ch]
        } else {
            head_frames(&inputs[i + 1], ctx)?
        };
        let len = songs[i].frames as i64;
        let spec = write_spec(&outs[i], opts.bits, fs as u32, ch)?;
        let mut file = ProfiledFile::new(
            AudioWriter::create(&outs[i], spec, &[&inputs[i]])?,
            ProfileBuilder::new(&outs[i].display().to_string(), fs, ch),
        );
        let mut hold: Vec<Vec<f64>> = vec![Vec::new(); ch];
        let mut next_carry: Vec<Vec<f64>> = vec![Vec::new(); ch];
        let mut t: i64 = -(pre[0].len() as i64);
        let mut frame = vec![0.0; ch];
        let gr = render_with_context(&inputs[i], &chains[i], &pre, &post, &mut |b| {
            #[allow(clippy::needless_range_loop)] // k indexes every channel
            for k in 0..b[0].len() {
                let tt = t + k as i64;
                if tt < -fade {
                    continue;
                }
                if tt < 0 {
                    // the previous file's last frames: its render fading out
                    if let Some(o) = &mut open {
                        let w = fade_in(tt, fade);
                        let at = (tt + fade) as usize;
                        for c in 0..ch {
                            frame[c] = (1.0 - w) * o.hold[c][at] + w * b[c][k];
                        }
                        o.file.push_frame(&frame);
                    }
                    continue;
                }
                if tt >= len {
                    if !last && tt < len + fade {
                        for c in 0..ch {
                            next_carry[c].push(b[c][k]);
                        }
                    }
                    continue;
                }
                if !last && tt >= len - fade {
                    for c in 0..ch {
                        hold[c].push(b[c][k]);
                    }
                    continue;
                }
                if i > 0 && tt < fade {
                    let w = fade_in(tt, fade);
                    for c in 0..ch {
                        frame[c] = (1.0 - w) * carry[c][tt as usize] + w * b[c][k];
                    }
                } else {
                    for c in 0..ch {
                        frame[c] = b[c][k];
                    }
                }
                if tt == 0 {
                    // the previous file is complete
                    if let Some(o) = open.take() {
                        done.push(o.file.finish(Ok(o.gain_reduction_db))?);
                        let _ = o.index;
                    }
                }
                file.push_frame(&frame);
            }
            t += b[0].len() as i64;
            Ok(())
        })?;
        carry = next_carry;
        if last {
            done.push(file.finish(Ok(gr))?);
        } else {
            open = Some(Open {
                index: i,
                file,
                gain_reduction_db: gr,
                hold,
            });
        }
    }
    Ok(done
        .into_iter()
        .zip(chains)
        .enumerate()
        .map(|(i, ((path, w, after), chain))| {
            make_report(
                &inputs[i],
                songs[i].clone(),
                common,
                chain,
                path,
                (w, after),
                passes[i],
                Vec::new(),
            )
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn song(lufs: f64) -> Profile {
        Profile {
            file: format!("{lufs}"),
            sample_rate_hz: 48_000.0,
            channels: 2,
            frames: 0,
            integrated_lufs: Some(lufs),
            loudness_range_lu: None,
            true_peak_dbtp: None,
            crest_db: None,
            plr_db: None,
            side_to_mid_db: None,
            mid_db: Vec::new(),
            side_db: Vec::new(),
            mid_bins: Vec::new(),
            side_bins: Vec::new(),
        }
    }

    /// `T_i = target − k (L_max − L_i)` exactly (to 1e-12): the loudest on
    /// the target, differences kept (k = 1), halved (k = 0.5), removed
    /// (k = 0).
    #[test]
    fn loudness_plan_keeps_scaled_differences() {
        let songs = [song(-20.0), song(-12.0), song(-16.0)];
        for (k, want) in [
            (1.0, [-22.0, -14.0, -18.0]),
            (0.5, [-18.0, -14.0, -16.0]),
            (0.0, [-14.0, -14.0, -14.0]),
        ] {
            let opts = AlbumOptions {
                keep_differences: k,
                ..Default::default()
            };
            let p = plan_loudness(&songs, &opts);
            for (s, w) in p.iter().zip(want) {
                assert!((s.target_lufs - w).abs() < 1e-12, "k {k}: {s:?}");
            }
        }
    }

    #[test]
    fn fade_is_symmetric_and_bounded() {
        assert_eq!(fade_in(-10, 10), 0.0);
        assert_eq!(fade_in(10, 10), 1.0);
        assert!((fade_in(0, 10) - 0.5).abs() < 1e-12);
        for t in -10..10 {
            assert!((fade_in(t, 10) + fade_in(-t, 10) - 1.0).abs() < 1e-12);
        }
    }
}
