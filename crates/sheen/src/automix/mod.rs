//! Automatic mixing: measure each stem, classify it, and write a mixing
//! session whose every value carries the measured reason (decide, then
//! render: the session is rendered by the mixing engine like any other).

pub mod classify;
pub mod features;
pub mod rules;

pub use classify::{classify, Classification, StemClass};
pub use features::{measure_stem, StemFeatures};
