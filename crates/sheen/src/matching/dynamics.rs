//! The compressor stage of a match render: sheen-dsp's
//! [`ControlRateCompressor`] for the slow RMS compressor the match plans
//! ([`sheen_dsp::control_rate::slow_rms`]), the per-sample [`Compressor`]
//! otherwise.

use sheen_dsp::compressor::{Compressor, CompressorParams};
use sheen_dsp::control_rate::ControlRateCompressor;
use sheen_dsp::Processor;

/// The compressor stage of a match render: the control-rate realisation
/// when it handles the parameters, otherwise sheen-dsp's.
pub enum FrontCompressor {
    Control(Box<ControlRateCompressor>),
    Exact(Box<Compressor>),
}

impl FrontCompressor {
    /// The stage for `p` on `channels` at `sample_rate_hz`, for blocks of
    /// at most `max_block` frames.
    pub fn new(
        p: CompressorParams,
        sample_rate_hz: f64,
        channels: usize,
        max_block: usize,
    ) -> Self {
        if ControlRateCompressor::handles(&p, channels) {
            Self::Control(Box::new(ControlRateCompressor::new(
                p,
                sample_rate_hz,
                channels,
            )))
        } else {
            let mut k = Compressor::new(p);
            k.prepare(sample_rate_hz, channels, max_block);
            Self::Exact(Box::new(k))
        }
    }

    /// Delay added, samples.
    pub fn latency_samples(&self) -> usize {
        match self {
            Self::Control(_) => 0,
            Self::Exact(k) => k.latency_samples(),
        }
    }

    /// Processes a block in place.
    pub fn process(&mut self, block: &mut [&mut [f64]]) {
        match self {
            Self::Control(k) => k.process(block),
            Self::Exact(k) => k.process(block),
        }
    }
}
