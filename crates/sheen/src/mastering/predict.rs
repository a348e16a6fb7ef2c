//! The front's loudness change predicted from the analysis' spectra, no
//! pass over the audio.
//!
//! The front without a compressor (EQ biquads, width) is linear and time
//! invariant, so its effect on the K-weighted power (BS.1770-4) follows
//! from the long-term average spectra of the mid and side signals: with
//! `M = (L+R)/2`, `S = (L−R)/2` the two channels' power is `2 (|M|² + |S|²)`
//! at every frequency, the EQ scales both by `|E(f)|²` and the width stage
//! the side by `(w · |HP(f)|²)²` (its LR4 high-pass). Per FFT bin `k` of
//! the analysis' Welch spectra (`P_M`, `P_S`, `K` the K-filter's power
//! response):
//!
//! `r = Σ_k K_k |E_k|² (P_M,k + G_S,k P_S,k) / Σ_k K_k (P_M,k + P_S,k)`
//!
//! and the front's integrated loudness is predicted as the input's plus
//! `10 log10 r` dB. Exact for a stationary signal; gating (blocks of other
//! spectra gated out) and the spectra's windowing make the rest, which the
//! renders' verification measures (see `super::render_and_verify`).

use super::analyse::MixAnalysis;
use super::chain::Chain;
use sheen_dsp::width::{StereoWidth, WidthParams};
use sheen_meter::k_weighting::KWeighting;

/// Predicted change of the integrated loudness through `chain`'s front at
/// the input's rate, dB; `None` where the front is not linear (an enabled
/// compressor), the chain resamples, or the analysis has no spectrum.
pub fn front_gain_db(a: &MixAnalysis, chain: &Chain) -> Option<f64> {
    if chain.compressor.as_ref().is_some_and(|c| c.enabled) || a.mid_bins.len() < 2 {
        return None;
    }
    let fs = a.sample_rate_hz as f64;
    let n = 2 * (a.mid_bins.len() - 1);
    let eq = super::render::eq_coeffs(chain, fs);
    let k = KWeighting::new(fs);
    let width = chain
        .width
        .as_ref()
        .filter(|_| a.channels == 2 && !a.side_bins.is_empty())
        .map(|w| {
            StereoWidth::new(
                WidthParams {
                    width: w.width,
                    mono_below_hz: w.mono_below_hz,
                },
                fs,
            )
        });
    let (mut num, mut den) = (0.0, 0.0);
    for (i, &pm) in a.mid_bins.iter().enumerate() {
        let ps = a.side_bins.get(i).copied().unwrap_or(0.0);
        // DC and Nyquist have no response worth weighting (the K-filter's
        // high-pass removes DC)
        if pm + ps <= 0.0 || i == 0 || 2 * i >= n {
            continue;
        }
        let phi = (std::f64::consts::PI * i as f64 / n as f64).sin().powi(2);
        let kw = k.shelf.power_at_phi(phi) * k.highpass.power_at_phi(phi);
        let e: f64 = eq.iter().map(|c| c.power_at_phi(phi)).product();
        let gs = width.as_ref().map_or(1.0, |w| w.side_power_at_phi(phi));
        num += kw * e * (pm + gs * ps);
        den += kw * (pm + ps);
    }
    (den > 0.0 && num > 0.0).then(|| 10.0 * (num / den).log10())
}
