//! Parameter smoothing: the one smoother sheen uses to glide a parameter
//! (gain, cutoff, mix) to a new value without zipper noise. A linear ramp of
//! fixed length in samples, so results are exact and block-size independent.

/// A value that ramps linearly to its target over `ramp_samples` samples.
#[derive(Clone, Debug)]
pub struct Smoothed {
    current: f64,
    target: f64,
    step: f64,
    remaining: usize,
    ramp_samples: usize,
}

impl Smoothed {
    /// Starts at `value`, with ramps lasting `ramp_samples` samples.
    pub fn new(value: f64, ramp_samples: usize) -> Self {
        Self {
            current: value,
            target: value,
            step: 0.0,
            remaining: 0,
            ramp_samples,
        }
    }

    /// Ramp length from a time in ms at `sample_rate_hz`.
    pub fn ramp_from_ms(time_ms: f64, sample_rate_hz: f64) -> usize {
        (time_ms * 1e-3 * sample_rate_hz).round().max(0.0) as usize
    }

    /// Sets a new target; the ramp starts at the current value.
    pub fn set_target(&mut self, target: f64) {
        if target == self.target {
            return;
        }
        self.target = target;
        if self.ramp_samples == 0 {
            self.current = target;
            self.remaining = 0;
        } else {
            self.remaining = self.ramp_samples;
            self.step = (target - self.current) / self.ramp_samples as f64;
        }
    }

    /// Jumps to `value` with no ramp.
    pub fn set_immediate(&mut self, value: f64) {
        self.current = value;
        self.target = value;
        self.remaining = 0;
    }

    /// Advances one sample and returns the value for it.
    #[inline]
    pub fn next_value(&mut self) -> f64 {
        if self.remaining > 0 {
            self.remaining -= 1;
            self.current = if self.remaining == 0 {
                self.target
            } else {
                self.current + self.step
            };
        }
        self.current
    }

    pub fn current(&self) -> f64 {
        self.current
    }

    pub fn target(&self) -> f64 {
        self.target
    }

    pub fn is_ramping(&self) -> bool {
        self.remaining > 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ramps_linearly_and_lands_exactly() {
        let mut s = Smoothed::new(0.0, 4);
        s.set_target(1.0);
        let v: Vec<f64> = (0..6).map(|_| s.next_value()).collect();
        assert_eq!(v, vec![0.25, 0.5, 0.75, 1.0, 1.0, 1.0]);
        assert!(!s.is_ramping());
    }
}
