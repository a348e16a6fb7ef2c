//! Level conversions. Amplitude decibels: `dB = 20 log10(gain)`.

/// Converts a level in dB (amplitude) to a linear gain factor.
#[inline]
pub fn db_to_gain(db: f64) -> f64 {
    10f64.powf(db / 20.0)
}

/// Converts a linear gain factor (amplitude) to dB; `0.0` gives `-inf`.
#[inline]
pub fn gain_to_db(gain: f64) -> f64 {
    20.0 * gain.abs().log10()
}

/// Converts a power ratio to dB (`10 log10`); `0.0` gives `-inf`.
#[inline]
pub fn power_to_db(power: f64) -> f64 {
    10.0 * power.log10()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Reference: definition of the decibel (IEC 60027-3).
    #[test]
    fn round_trip() {
        for db in [-120.0, -6.020_599_913, 0.0, 3.0, 24.0] {
            assert!((gain_to_db(db_to_gain(db)) - db).abs() < 1e-12);
        }
        assert!((db_to_gain(-6.020_599_913_279_624) - 0.5).abs() < 1e-12);
        assert_eq!(gain_to_db(0.0), f64::NEG_INFINITY);
        assert!((power_to_db(2.0) - 3.010_299_956_639_812).abs() < 1e-12);
    }
}
