//! sheen engine (being written).
