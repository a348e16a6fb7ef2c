//! Stable number formatting: fixed decimals, no negative zero, `–` for a
//! missing value. The same value always gives the same text.

/// `v` with `decimals` decimals; `-0.00` is written `0.00`.
pub fn fixed(v: f64, decimals: usize) -> String {
    if !v.is_finite() {
        return "–".into();
    }
    let s = format!("{v:.decimals$}");
    if s.starts_with('-') && s[1..].chars().all(|c| c == '0' || c == '.') {
        s[1..].to_string()
    } else {
        s
    }
}

/// As [`fixed`], `–` (en dash) when `None`.
pub fn opt(v: Option<f64>, decimals: usize) -> String {
    v.map_or_else(|| "–".into(), |x| fixed(x, decimals))
}

/// With an explicit sign (`+0.05`, `-1.20`; zero as `0.00`).
pub fn signed(v: f64, decimals: usize) -> String {
    let s = fixed(v, decimals);
    if s.starts_with('-') || s.chars().all(|c| c == '0' || c == '.') {
        s
    } else {
        format!("+{s}")
    }
}

/// A frequency for axis labels: `31.5`, `100`, `1k`, `12.5k`.
pub fn hz(v: f64) -> String {
    if v >= 1000.0 {
        let k = v / 1000.0;
        if (k - k.round()).abs() < 1e-9 {
            format!("{}k", k.round() as i64)
        } else {
            format!("{}k", fixed(k, 1))
        }
    } else if (v - v.round()).abs() < 1e-9 {
        format!("{}", v.round() as i64)
    } else {
        fixed(v, 1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Reference: the module docs (fixed decimals, no negative zero).
    #[test]
    fn formats() {
        assert_eq!(fixed(-14.004, 2), "-14.00");
        assert_eq!(fixed(-0.001, 2), "0.00");
        assert_eq!(fixed(f64::NAN, 2), "–");
        assert_eq!(opt(None, 1), "–");
        assert_eq!(signed(0.05, 2), "+0.05");
        assert_eq!(signed(-0.0001, 2), "0.00");
        assert_eq!(hz(31.5), "31.5");
        assert_eq!(hz(1000.0), "1k");
        assert_eq!(hz(12500.0), "12.5k");
        assert_eq!(hz(250.0), "250");
    }
}
