//! Automation lanes evaluated per sample (sample-accurate: every output
//! sample `n` gets the value of the breakpoint curve at `t = n / fs`
//! exactly, whatever the block size).
//!
//! Between breakpoints `k` and `k + 1` the value is
//! `v_k + (v_{k+1} − v_k) · s(u)`, `u = (t − t_k) / (t_{k+1} − t_k)`, with
//! `s` the [`Curve`] of point `k`. Before the first point the first value
//! holds, after the last point the last. Gain-type parameters (`gain_db`,
//! send `level_db`) are interpolated in linear amplitude, so a lane from
//! −inf dB is a true fade from silence; `pan` and `balance` in their own
//! units.

use super::session::Curve;

/// A breakpoint lane with times in (fractional) frames at the render rate,
/// values already in the interpolation domain.
#[derive(Clone, Debug, PartialEq)]
pub struct Lane {
    frames: Vec<f64>,
    values: Vec<f64>,
    curves: Vec<Curve>,
}

impl Lane {
    /// A lane from `(frame, value, curve)` points, frames strictly
    /// increasing (checked by the planner), at least one point.
    pub fn new(points: Vec<(f64, f64, Curve)>) -> Self {
        assert!(!points.is_empty());
        Self {
            frames: points.iter().map(|p| p.0).collect(),
            values: points.iter().map(|p| p.1).collect(),
            curves: points.iter().map(|p| p.2).collect(),
        }
    }

    #[inline]
    fn segment_value(&self, k: usize, frame: f64) -> f64 {
        if k + 1 >= self.frames.len() {
            return self.values[self.values.len() - 1];
        }
        let (f0, f1) = (self.frames[k], self.frames[k + 1]);
        if frame <= f0 {
            return self.values[k];
        }
        let u = (frame - f0) / (f1 - f0);
        let (v0, v1) = (self.values[k], self.values[k + 1]);
        v0 + (v1 - v0) * self.curves[k].shape(u)
    }

    /// The value at `frame` (stateless; binary search).
    pub fn value_at(&self, frame: f64) -> f64 {
        let k = self.frames.partition_point(|&f| f <= frame);
        if k == 0 {
            self.values[0]
        } else {
            self.segment_value(k - 1, frame)
        }
    }
}

/// A parameter: constant or automated.
#[derive(Clone, Debug, PartialEq)]
pub enum Param {
    Const(f64),
    Lane(Lane),
}

/// A [`Param`] being rendered: keeps the current segment so that filling
/// consecutive blocks costs O(1) per sample.
#[derive(Clone, Debug)]
pub struct ParamState {
    param: Param,
    seg: usize,
}

impl ParamState {
    pub fn new(param: Param) -> Self {
        Self { param, seg: 0 }
    }

    /// The value if constant.
    pub fn constant(&self) -> Option<f64> {
        match &self.param {
            Param::Const(v) => Some(*v),
            Param::Lane(_) => None,
        }
    }

    /// Writes the values for frames `start, start + 1, …` into `out`.
    /// Frames must not go backwards between calls.
    pub fn fill(&mut self, start: i64, out: &mut [f64]) {
        match &self.param {
            Param::Const(v) => out.fill(*v),
            Param::Lane(lane) => {
                let last = lane.frames.len() - 1;
                for (i, o) in out.iter_mut().enumerate() {
                    let f = (start + i as i64) as f64;
                    while self.seg < last && lane.frames[self.seg + 1] <= f {
                        self.seg += 1;
                    }
                    *o = if self.seg == 0 && f < lane.frames[0] {
                        lane.values[0]
                    } else {
                        lane.segment_value(self.seg, f)
                    };
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Reference: the segment formula in the module docs; block filling
    /// equals stateless evaluation exactly, for any block split.
    #[test]
    fn fill_matches_value_at() {
        let lane = Lane::new(vec![
            (10.5, 0.0, Curve::Linear),
            (100.0, 1.0, Curve::SCurve),
            (250.0, 0.2, Curve::Exp),
            (400.0, 0.9, Curve::Hold),
            (401.0, 0.1, Curve::Linear),
        ]);
        assert_eq!(lane.value_at(0.0), 0.0);
        assert_eq!(lane.value_at(55.25), (55.25 - 10.5) / 89.5);
        assert_eq!(lane.value_at(1e9), 0.1);
        let mut st = ParamState::new(Param::Lane(lane.clone()));
        let mut out = vec![0.0; 500];
        let mut start = 0;
        for n in [7usize, 1, 93, 200, 199] {
            st.fill(start as i64, &mut out[start..start + n]);
            start += n;
        }
        for (i, v) in out.iter().enumerate() {
            assert_eq!(*v, lane.value_at(i as f64), "frame {i}");
        }
    }
}
