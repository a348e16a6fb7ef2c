//! sheen-io (being written).
