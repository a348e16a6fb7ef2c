//! Level statistics of a planar signal (no standard defines these exactly;
//! the definitions are stated per item, all in linear full-scale units where
//! 1.0 is digital full scale):
//!
//! - **sample peak**: `max |x|` over all channels, in dBFS;
//! - **RMS**: plain RMS of all samples of all channels pooled,
//!   `sqrt(Σ x² / (frames · channels))`, in dBFS — a full-scale sine reads
//!   **−3.01 dBFS** (not the AES17 "+3 dB" convention);
//! - **crest factor**: sample peak − RMS, dB (3.01 dB for a sine);
//! - **DC offset**: the mean of each channel; the summary is the largest
//!   `|mean|`;
//! - **stereo correlation**: Pearson correlation of channels 0 and 1 (L, R)
//!   over the whole signal, −1…1; `None` for mono or when a channel is
//!   constant (zero variance);
//! - **side-to-mid ratio**: `10 log10(Σ S² / Σ M²)` with `M = (L + R)/2`,
//!   `S = (L − R)/2`, in dB; `None` for mono, or when either energy is zero
//!   (silence, dual mono, or exact polarity inversion);
//! - **clipped samples**: the number of samples (over all channels) with
//!   `|x| ≥ 1 − 2⁻¹⁵` ([`CLIP_THRESHOLD`]), i.e. at or above the largest
//!   16-bit value, 32767/32768.
//!
//! Sums are accumulated in four lanes chosen by the absolute sample index
//! (mod 4) and folded every 65536 samples (absolute), so the results are
//! bitwise identical for any block partition and accurate over hours.

use crate::true_peak::peak_to_db;

/// Smallest magnitude counted as clipped: `1 − 2⁻¹⁵` (16-bit full scale).
pub const CLIP_THRESHOLD: f64 = 1.0 - 1.0 / 32768.0;

/// Samples per fold of the lane sums (absolute positions).
const SEGMENT: u64 = 1 << 16;

/// A sum in four index lanes plus a folded total.
#[derive(Clone, Copy, Debug, Default)]
struct LaneSum {
    lanes: [f64; 4],
    total: f64,
}

impl LaneSum {
    fn fold(&mut self) {
        let l = std::mem::take(&mut self.lanes);
        self.total += (l[0] + l[1]) + (l[2] + l[3]);
    }

    fn value(&self) -> f64 {
        let l = self.lanes;
        self.total + ((l[0] + l[1]) + (l[2] + l[3]))
    }
}

/// Splits a slice starting at absolute index `≡ phase (mod 4)` into a head
/// (until the absolute index is a multiple of 4), whole groups of 4 and a
/// tail; the head's element `i` belongs to lane `(phase + i) % 4`, the
/// groups' and the tail's element `j` to lane `j`.
fn lane_split(phase: usize, n: usize) -> usize {
    ((4 - phase % 4) % 4).min(n)
}

/// One pass over a channel: lane sums of `x` and `x²`, peak, clip count.
fn channel_pass(c: &mut ChannelSums, phase: usize, x: &[f64]) {
    let (head, rest) = x.split_at(lane_split(phase, x.len()));
    let mut s = c.sum.lanes;
    let mut q = c.sum_sq.lanes;
    let mut pk = [c.peak; 4];
    let mut clip = [0u64; 4];
    for (i, &v) in head.iter().enumerate() {
        let l = (phase + i) % 4;
        s[l] += v;
        q[l] += v * v;
        pk[0] = pk[0].max(v.abs());
        clip[0] += (v.abs() >= CLIP_THRESHOLD) as u64;
    }
    let mut groups = rest.chunks_exact(4);
    for g in &mut groups {
        for j in 0..4 {
            let v = g[j];
            s[j] += v;
            q[j] += v * v;
            pk[j] = pk[j].max(v.abs());
            clip[j] += (v.abs() >= CLIP_THRESHOLD) as u64;
        }
    }
    for (j, &v) in groups.remainder().iter().enumerate() {
        s[j] += v;
        q[j] += v * v;
        pk[j] = pk[j].max(v.abs());
        clip[j] += (v.abs() >= CLIP_THRESHOLD) as u64;
    }
    c.sum.lanes = s;
    c.sum_sq.lanes = q;
    c.peak = pk.iter().copied().fold(c.peak, f64::max);
    c.clipped += clip.iter().sum::<u64>();
}

/// One pass over channels 0 and 1: lane sums of `l·r`, `(l+r)²`, `(l−r)²`.
fn pair_pass(p: &mut PairSums, phase: usize, l: &[f64], r: &[f64]) {
    let h = lane_split(phase, l.len());
    let (lh, lr_) = l.split_at(h);
    let (rh, rr) = r.split_at(h);
    let mut c = p.lr.lanes;
    let mut m = p.mid.lanes;
    let mut s = p.side.lanes;
    for (i, (&a, &b)) in lh.iter().zip(rh).enumerate() {
        let k = (phase + i) % 4;
        c[k] += a * b;
        m[k] += (a + b) * (a + b);
        s[k] += (a - b) * (a - b);
    }
    let mut lg = lr_.chunks_exact(4);
    let mut rg = rr.chunks_exact(4);
    for (ga, gb) in (&mut lg).zip(&mut rg) {
        for j in 0..4 {
            let (a, b) = (ga[j], gb[j]);
            c[j] += a * b;
            m[j] += (a + b) * (a + b);
            s[j] += (a - b) * (a - b);
        }
    }
    for (j, (&a, &b)) in lg.remainder().iter().zip(rg.remainder()).enumerate() {
        c[j] += a * b;
        m[j] += (a + b) * (a + b);
        s[j] += (a - b) * (a - b);
    }
    p.lr.lanes = c;
    p.mid.lanes = m;
    p.side.lanes = s;
}

#[derive(Clone, Debug, Default)]
struct ChannelSums {
    sum: LaneSum,
    sum_sq: LaneSum,
    peak: f64,
    clipped: u64,
}

#[derive(Clone, Debug, Default)]
struct PairSums {
    lr: LaneSum,
    mid: LaneSum,
    side: LaneSum,
}

/// Streaming level statistics (see the module docs for the definitions).
#[derive(Clone, Debug)]
pub struct LevelStats {
    frames: u64,
    ch: Vec<ChannelSums>,
    pair: Option<PairSums>,
}

/// The results of [`LevelStats`].
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct LevelStatsResult {
    /// Frames measured.
    pub frames: u64,
    /// Sample peak over all channels, dBFS.
    pub sample_peak_dbfs: Option<f64>,
    /// Sample peak of each channel, dBFS.
    pub channel_sample_peak_dbfs: Vec<Option<f64>>,
    /// Plain RMS of all samples pooled, dBFS (full-scale sine = −3.01).
    pub rms_dbfs: Option<f64>,
    /// Plain RMS of each channel, dBFS.
    pub channel_rms_dbfs: Vec<Option<f64>>,
    /// Sample peak − RMS, dB.
    pub crest_db: Option<f64>,
    /// Mean of each channel (linear, full scale = 1).
    pub channel_dc_offset: Vec<f64>,
    /// Largest `|mean|` over the channels (linear).
    pub dc_offset: f64,
    /// Pearson correlation of channels 0 and 1, −1…1.
    pub correlation: Option<f64>,
    /// Side energy over mid energy, dB.
    pub side_to_mid_db: Option<f64>,
    /// Samples with `|x| ≥` [`CLIP_THRESHOLD`], all channels.
    pub clipped_samples: u64,
}

impl LevelStats {
    /// Statistics for `channels` channels.
    pub fn new(channels: usize) -> Self {
        Self {
            frames: 0,
            ch: vec![ChannelSums::default(); channels],
            pair: (channels >= 2).then(PairSums::default),
        }
    }

    /// Measures one planar block (`block[ch]`, equal lengths).
    ///
    /// # Panics
    /// If the channel count or lengths disagree.
    pub fn push(&mut self, block: &[&[f64]]) {
        assert_eq!(block.len(), self.ch.len(), "channel count");
        let n = block.first().map_or(0, |c| c.len());
        assert!(block.iter().all(|c| c.len() == n), "channel lengths differ");
        let mut start = 0usize;
        while start < n {
            let to_fold = (SEGMENT - self.frames % SEGMENT) as usize;
            let len = to_fold.min(n - start);
            let phase = (self.frames % 4) as usize;
            for (c, x) in self.ch.iter_mut().zip(block) {
                channel_pass(c, phase, &x[start..start + len]);
            }
            if let Some(p) = &mut self.pair {
                pair_pass(
                    p,
                    phase,
                    &block[0][start..start + len],
                    &block[1][start..start + len],
                );
            }
            self.frames += len as u64;
            start += len;
            if self.frames.is_multiple_of(SEGMENT) {
                for c in &mut self.ch {
                    c.sum.fold();
                    c.sum_sq.fold();
                }
                if let Some(p) = &mut self.pair {
                    p.lr.fold();
                    p.mid.fold();
                    p.side.fold();
                }
            }
        }
    }

    /// Frames measured so far.
    pub fn frames(&self) -> u64 {
        self.frames
    }

    /// Largest sample magnitude over all channels (linear).
    pub fn peak(&self) -> f64 {
        self.ch.iter().map(|c| c.peak).fold(0.0, f64::max)
    }

    /// The statistics so far.
    pub fn result(&self) -> LevelStatsResult {
        let n = self.frames as f64;
        let rms_db = |sum_sq: f64, count: f64| {
            if count > 0.0 {
                peak_to_db((sum_sq / count).sqrt())
            } else {
                None
            }
        };
        let peak = self.peak();
        let total_sq: f64 = self.ch.iter().map(|c| c.sum_sq.value()).sum();
        let rms_dbfs = rms_db(total_sq, n * self.ch.len() as f64);
        let sample_peak_dbfs = peak_to_db(peak);
        let crest_db = match (sample_peak_dbfs, rms_dbfs) {
            (Some(p), Some(r)) => Some(p - r),
            _ => None,
        };
        let means: Vec<f64> = self
            .ch
            .iter()
            .map(|c| if n > 0.0 { c.sum.value() / n } else { 0.0 })
            .collect();
        let dc_offset = means.iter().fold(0.0f64, |m, v| m.max(v.abs()));
        let (correlation, side_to_mid_db) = match &self.pair {
            Some(p) if n > 0.0 => {
                let (ml, mr) = (means[0], means[1]);
                let vl = self.ch[0].sum_sq.value() / n - ml * ml;
                let vr = self.ch[1].sum_sq.value() / n - mr * mr;
                let cov = p.lr.value() / n - ml * mr;
                let corr =
                    (vl > 0.0 && vr > 0.0).then(|| (cov / (vl * vr).sqrt()).clamp(-1.0, 1.0));
                let (m, s) = (p.mid.value(), p.side.value());
                let sm = (m > 0.0 && s > 0.0).then(|| 10.0 * (s / m).log10());
                (corr, sm)
            }
            _ => (None, None),
        };
        LevelStatsResult {
            frames: self.frames,
            sample_peak_dbfs,
            channel_sample_peak_dbfs: self.ch.iter().map(|c| peak_to_db(c.peak)).collect(),
            rms_dbfs,
            channel_rms_dbfs: self
                .ch
                .iter()
                .map(|c| rms_db(c.sum_sq.value(), n))
                .collect(),
            crest_db,
            channel_dc_offset: means,
            dc_offset,
            correlation,
            side_to_mid_db,
            clipped_samples: self.ch.iter().map(|c| c.clipped).sum(),
        }
    }
}
