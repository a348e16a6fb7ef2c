//! `sheen analyze --json` prints exactly the documented keys (issue
//! "Foundation": one object for one file, an array for several; `momentary`
//! and `short_term` only with `--series`; silence gives `null` loudness).

mod common;

use common::{run_ok, sheen};

const KEYS: [&str; 18] = [
    "file",
    "sample_rate_hz",
    "channels",
    "duration_s",
    "integrated_lufs",
    "loudness_range_lu",
    "momentary_max_lufs",
    "short_term_max_lufs",
    "true_peak_dbtp",
    "sample_peak_dbfs",
    "plr_db",
    "rms_dbfs",
    "crest_db",
    "dc_offset",
    "correlation",
    "side_to_mid_db",
    "clipped_samples",
    "third_octave_db",
];

fn write_wav(path: &std::path::Path, samples: &[f32], channels: u16) {
    let data: Vec<u8> = samples.iter().flat_map(|x| x.to_le_bytes()).collect();
    let mut v = Vec::new();
    v.extend_from_slice(b"RIFF");
    v.extend_from_slice(&(36 + data.len() as u32).to_le_bytes());
    v.extend_from_slice(b"WAVEfmt ");
    v.extend_from_slice(&16u32.to_le_bytes());
    v.extend_from_slice(&3u16.to_le_bytes());
    v.extend_from_slice(&channels.to_le_bytes());
    v.extend_from_slice(&48_000u32.to_le_bytes());
    v.extend_from_slice(&(48_000 * 4 * channels as u32).to_le_bytes());
    v.extend_from_slice(&(4 * channels).to_le_bytes());
    v.extend_from_slice(&32u16.to_le_bytes());
    v.extend_from_slice(b"data");
    v.extend_from_slice(&(data.len() as u32).to_le_bytes());
    v.extend_from_slice(&data);
    std::fs::write(path, v).unwrap();
}

fn run(args: &[&std::ffi::OsStr]) -> serde_json::Value {
    let out = run_ok(sheen().arg("analyze").arg("--json").args(args));
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn keys_exact_single_and_array_and_series() {
    let d = tempfile::tempdir().unwrap();
    let tone = d.path().join("tone.wav");
    // 1 kHz stereo sine at −23 dBFS per channel: −23 LUFS (EBU Tech 3341 case 1).
    let a = 10f32.powf(-23.0 / 20.0);
    let s: Vec<f32> = (0..48_000 * 5)
        .flat_map(|i| {
            let x = a * (2.0 * std::f32::consts::PI * 1000.0 * i as f32 / 48_000.0).sin();
            [x, x]
        })
        .collect();
    write_wav(&tone, &s, 2);
    let silence = d.path().join("silence.wav");
    write_wav(&silence, &vec![0.0; 48_000 * 2], 2);

    let one = run(&[tone.as_os_str()]);
    let keys: Vec<&str> = one
        .as_object()
        .unwrap()
        .keys()
        .map(|k| k.as_str())
        .collect();
    assert_eq!(keys, KEYS.to_vec());
    let i = one["integrated_lufs"].as_f64().unwrap();
    assert!((i + 23.0).abs() < 0.1, "integrated {i}");
    assert!(one["third_octave_db"][0]["hz"].is_number());

    let both = run(&[tone.as_os_str(), silence.as_os_str()]);
    let arr = both.as_array().unwrap();
    assert_eq!(arr.len(), 2);
    assert!(
        arr[1]["integrated_lufs"].is_null(),
        "silence loudness must be null"
    );
    assert!(arr[1]["momentary_max_lufs"].is_null());

    let series = run(&[std::ffi::OsStr::new("--series"), tone.as_os_str()]);
    let keys: Vec<&str> = series
        .as_object()
        .unwrap()
        .keys()
        .map(|k| k.as_str())
        .collect();
    let mut want = KEYS.to_vec();
    want.extend(["momentary", "short_term"]);
    assert_eq!(keys, want);
    let m = series["momentary"].as_array().unwrap();
    // at least every 100 ms
    assert!(
        m.len() >= 45,
        "momentary series has {} points for 5 s",
        m.len()
    );
}
