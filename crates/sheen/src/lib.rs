//! sheen engine: turns measurements into reports and documents (analysis
//! reports, mastering chains, mixing sessions) and renders them.
//!
//! Layering: `sheen-io` reads and writes files, `sheen-meter` measures,
//! `sheen-dsp` / `sheen-fx` process; this crate joins them.

pub mod analysis;
pub mod automix;
pub mod demo;
pub mod error;
pub mod mastering;
pub mod matching;
pub mod mixing;
pub mod report;

pub use error::Error;
