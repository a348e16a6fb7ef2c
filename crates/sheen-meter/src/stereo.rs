//! Stereo image over time: the Pearson correlation of L and R and the
//! side/mid energy ratio (`S = (L − R)/2`, `M = (L + R)/2`) of 400 ms
//! windows taken every 100 ms — the time grid of the momentary loudness
//! series of [`crate::loudness`] (EBU Tech 3341: 400 ms window, hop
//! `round(fs / 10)` samples).
//!
//! The sums of each hop (`ΣL, ΣR, ΣL², ΣR², ΣLR`) are taken in sample order
//! and a window's sums are the fixed sum of its (up to) four hops, so every
//! value is bitwise identical for any partition of the input into blocks.
//! Memory: four hops of sums plus one point per 100 ms (about 1 MB per hour).
//! The first windows cover the hops seen so far (no zero padding, so the
//! correlation of the first 100 ms is already defined).

use serde::Serialize;

/// Hops per window (400 ms).
pub const WINDOW_HOPS: usize = 4;

/// One point of the stereo series.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct StereoPoint {
    /// End time of the window, s.
    pub time_s: f64,
    /// Pearson correlation of L and R over the window, −1…1; `None` when a
    /// channel is constant over it (e.g. silent).
    pub correlation: Option<f64>,
    /// Side energy over mid energy, dB; `None` when either is zero.
    pub side_to_mid_db: Option<f64>,
}

#[derive(Clone, Copy, Debug, Default)]
struct HopSums {
    l: f64,
    r: f64,
    ll: f64,
    rr: f64,
    lr: f64,
    n: usize,
}

/// Streams the first two channels of planar blocks into a
/// [`StereoPoint`] series (see the module docs).
#[derive(Clone, Debug)]
pub struct StereoSeries {
    sample_rate_hz: f64,
    hop: usize,
    cur: HopSums,
    ring: [HopSums; WINDOW_HOPS],
    hops_done: u64,
    points: Vec<StereoPoint>,
}

impl StereoSeries {
    /// A series for `sample_rate_hz` (Hz).
    ///
    /// # Panics
    /// If the rate is not finite or below 10 Hz.
    pub fn new(sample_rate_hz: f64) -> Self {
        assert!(
            sample_rate_hz.is_finite() && sample_rate_hz >= 10.0,
            "invalid sample rate {sample_rate_hz}"
        );
        Self {
            sample_rate_hz,
            hop: ((sample_rate_hz / 10.0).round() as usize).max(1),
            cur: HopSums::default(),
            ring: [HopSums::default(); WINDOW_HOPS],
            hops_done: 0,
            points: Vec::new(),
        }
    }

    /// Hop length in samples (`round(fs / 10)`).
    pub fn hop_samples(&self) -> usize {
        self.hop
    }

    /// Consumes one block of the left and right channels (equal lengths).
    ///
    /// # Panics
    /// If the lengths differ.
    pub fn push(&mut self, left: &[f64], right: &[f64]) {
        assert_eq!(left.len(), right.len(), "channel lengths differ");
        let mut i = 0;
        while i < left.len() {
            let take = (self.hop - self.cur.n).min(left.len() - i);
            let c = &mut self.cur;
            for (&l, &r) in left[i..i + take].iter().zip(&right[i..i + take]) {
                c.l += l;
                c.r += r;
                c.ll += l * l;
                c.rr += r * r;
                c.lr += l * r;
            }
            c.n += take;
            i += take;
            if self.cur.n == self.hop {
                self.end_hop();
            }
        }
    }

    fn end_hop(&mut self) {
        self.ring[(self.hops_done % WINDOW_HOPS as u64) as usize] = self.cur;
        self.cur = HopSums::default();
        self.hops_done += 1;
        let have = (self.hops_done as usize).min(WINDOW_HOPS);
        // the window's hops, oldest first (a fixed order: partition-independent)
        let mut w = HopSums::default();
        for k in (0..have).rev() {
            let h = &self.ring[((self.hops_done - 1 - k as u64) % WINDOW_HOPS as u64) as usize];
            w.l += h.l;
            w.r += h.r;
            w.ll += h.ll;
            w.rr += h.rr;
            w.lr += h.lr;
            w.n += h.n;
        }
        let n = w.n as f64;
        let (ml, mr) = (w.l / n, w.r / n);
        let vl = w.ll / n - ml * ml;
        let vr = w.rr / n - mr * mr;
        let cov = w.lr / n - ml * mr;
        // a variance below the rounding noise of the sums is a constant channel
        let eps = 1e-20;
        let correlation = (vl > eps && vr > eps).then(|| (cov / (vl * vr).sqrt()).clamp(-1.0, 1.0));
        let mid = (w.ll + w.rr + 2.0 * w.lr) / 4.0;
        let side = (w.ll + w.rr - 2.0 * w.lr) / 4.0;
        let floor = 1e-20 * (w.ll + w.rr);
        let side_to_mid_db =
            (mid > floor && side > floor && mid > 0.0).then(|| 10.0 * (side / mid).log10());
        self.points.push(StereoPoint {
            time_s: (self.hops_done * self.hop as u64) as f64 / self.sample_rate_hz,
            correlation,
            side_to_mid_db,
        });
    }

    /// The points so far (one per completed 100 ms hop).
    pub fn points(&self) -> &[StereoPoint] {
        &self.points
    }

    /// Takes the points out.
    pub fn take_points(&mut self) -> Vec<StereoPoint> {
        std::mem::take(&mut self.points)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::f64::consts::PI;

    fn sine(fs: f64, hz: f64, amp: f64, phase: f64, secs: f64) -> Vec<f64> {
        (0..(fs * secs) as usize)
            .map(|i| amp * (2.0 * PI * hz * i as f64 / fs + phase).sin())
            .collect()
    }

    /// Reference: definition of Pearson correlation — identical channels read
    /// +1, inverted −1, a 90° phase shift 0 (±1e-3 over whole periods of a
    /// 1 kHz sine in 400 ms); side/mid: L = R has no side (`None`), L = −R
    /// no mid (`None`), L alone 0 dB (S = M = L/2).
    #[test]
    fn known_images() {
        let fs = 48_000.0;
        let a = sine(fs, 1000.0, 0.5, 0.0, 2.0);
        let neg: Vec<f64> = a.iter().map(|x| -x).collect();
        let quad = sine(fs, 1000.0, 0.5, PI / 2.0, 2.0);
        let zero = vec![0.0; a.len()];
        let run = |l: &[f64], r: &[f64]| {
            let mut s = StereoSeries::new(fs);
            s.push(l, r);
            s.take_points()
        };
        let p = run(&a, &a);
        assert_eq!(p.len(), 20);
        assert!(p
            .iter()
            .all(|p| (p.correlation.unwrap() - 1.0).abs() < 1e-9));
        assert!(p.iter().all(|p| p.side_to_mid_db.is_none()));
        let p = run(&a, &neg);
        assert!(p
            .iter()
            .all(|p| (p.correlation.unwrap() + 1.0).abs() < 1e-9));
        assert!(p.iter().all(|p| p.side_to_mid_db.is_none()));
        let p = run(&a, &quad);
        assert!(p.iter().all(|p| p.correlation.unwrap().abs() < 1e-3));
        let p = run(&a, &zero);
        assert!(p.iter().all(|p| p.correlation.is_none()));
        assert!(p.iter().all(|p| p.side_to_mid_db.unwrap().abs() < 1e-9));
        assert!((p[0].time_s - 0.1).abs() < 1e-12 && (p[19].time_s - 2.0).abs() < 1e-12);
    }

    /// Reference: the module docs — any partition of the input into blocks
    /// gives bitwise the same series.
    #[test]
    fn partition_independent() {
        let fs = 44_100.0;
        let l = sine(fs, 440.0, 0.3, 0.0, 1.3);
        let r: Vec<f64> = sine(fs, 660.0, 0.2, 0.4, 1.3)
            .iter()
            .zip(&l)
            .map(|(a, b)| a + 0.5 * b)
            .collect();
        let mut one = StereoSeries::new(fs);
        one.push(&l, &r);
        let mut many = StereoSeries::new(fs);
        let mut i = 0;
        for n in [1usize, 7, 4410, 333, 10_000].iter().cycle() {
            if i >= l.len() {
                break;
            }
            let e = (i + n).min(l.len());
            many.push(&l[i..e], &r[i..e]);
            i = e;
        }
        assert_eq!(one.points(), many.points());
        assert_eq!(one.points().len(), 13);
    }
}
