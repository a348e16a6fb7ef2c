//! sheen-meter (being written).
