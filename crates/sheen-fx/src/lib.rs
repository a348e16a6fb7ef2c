//! sheen-fx (being written).
