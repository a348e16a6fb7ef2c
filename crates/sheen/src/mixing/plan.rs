//! From a parsed [`Session`] to a render [`Plan`]: names resolved, stems
//! probed, values checked (each failure a [`SessionError`] at the
//! offending value), the bus graph sorted (cycles refused) and latency
//! compensation computed.
//!
//! **Latency compensation.** Every strip (track, bus, return, master) adds
//! the sum of its inserts' [`Processor::latency_samples`]; a strip's output
//! latency is its input latency plus that. At every summing point (bus,
//! return, master) the input latency is the largest latency among the
//! edges arriving there, and every other edge is delayed by the
//! difference, so all inputs arrive aligned. Sends and the main output
//! leave a strip with the strip's output latency. The master's output
//! latency is removed from the rendered file (the first frames are
//! dropped), so the mix is aligned with the stems' timeline.
//!
//!
//! **Side chains.** A compressor or gate keyed by a track listens to that
//! track's pre-fader signal, whose latency is the key track's output
//! latency. At the keyed insert, whichever of key and audio is earlier is
//! delayed by the difference (the audio by a delay just before the insert,
//! which adds to the strip's latency), so the detector hears the key in
//! time with the audio. Tracks keyed by tracks render after their keys
//! (in levels; each level in parallel); a side-chain cycle is refused.
//!
//! [`Processor::latency_samples`]: sheen_dsp::Processor::latency_samples

use super::automation::{Lane, Param};
use super::error::{suggest, Source};
use super::inserts::{parse_insert, InsertSpec, ParsedInsert};
use super::session::{Automation, Bus, Curve, Fade, RawInsert, Send, Session, S};
use super::SessionError;
use crate::Error;
use sheen_dsp::db_to_gain;
use sheen_fx::PanLaw;
use sheen_io::AudioReader;
use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// Largest fader / send gain, dB.
pub const MAX_GAIN_DB: f64 = 24.0;

/// What a strip's channels are before panning.
#[derive(Clone, Debug, PartialEq)]
pub enum Panner {
    /// A mono stem: `pan` with a law, to stereo.
    Mono { pan: Param, law: PanLaw },
    /// A stereo signal: balance.
    Stereo { balance: Param },
}

/// An output of a strip: the main output or a send.
#[derive(Clone, Debug, PartialEq)]
pub struct Edge {
    /// Destination: index into [`Plan::buses`].
    pub dst: usize,
    /// Level as linear amplitude (1 for the main output).
    pub level: Param,
    /// Taps before the fader.
    pub pre_fader: bool,
    /// Delay added on this edge for latency compensation, samples.
    pub compensation: usize,
}

/// An insert in a strip, with its side chain and alignment delays.
#[derive(Clone, Debug, PartialEq)]
pub struct InsertPlan {
    pub spec: InsertSpec,
    /// Track whose pre-fader signal keys this insert.
    pub sidechain: Option<usize>,
    /// Delay of the audio just before this insert (side-chain alignment).
    pub pre_delay: usize,
    /// Delay of the key (side-chain alignment).
    pub key_delay: usize,
}

/// A channel strip: inserts, panner, fader, outputs.
#[derive(Clone, Debug, PartialEq)]
pub struct Strip {
    pub name: String,
    /// Channels through the inserts (1 for a mono stem, else 2).
    pub channels: usize,
    pub inserts: Vec<InsertPlan>,
    pub panner: Panner,
    /// Fader as linear amplitude.
    pub gain: Param,
    pub mute: bool,
    /// Main output first, then the sends in file order (none for master).
    pub outputs: Vec<Edge>,
    /// Another strip's side chain listens to this one (keep a pre-fader tap).
    pub key_source: bool,
    /// Latency at the strip's input and output, samples.
    pub latency_in: usize,
    pub latency_out: usize,
}

/// A fade in frames at the render rate.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct FadePlan {
    pub frames: u64,
    pub curve: Curve,
}

/// A track: its stem and its strip.
#[derive(Clone, Debug, PartialEq)]
pub struct TrackPlan {
    pub strip: Strip,
    pub file: PathBuf,
    pub stem_rate_hz: u32,
    /// Length at the render rate, frames.
    pub frames: u64,
    /// Timeline position of the stem's first frame (render rate).
    pub offset: i64,
    pub fade_in: Option<FadePlan>,
    pub fade_out: Option<FadePlan>,
    pub invert: bool,
    /// Side-chain depth: 0 unless keyed by tracks (then 1 + their level).
    pub level: usize,
}

/// What a summing strip is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BusKind {
    Bus,
    Return,
    Master,
}

/// A bus, return or the master.
#[derive(Clone, Debug, PartialEq)]
pub struct BusPlan {
    pub strip: Strip,
    pub kind: BusKind,
}

/// Everything the renderer needs, checked.
#[derive(Clone, Debug, PartialEq)]
pub struct Plan {
    pub session_path: PathBuf,
    pub sample_rate_hz: u32,
    pub block_size: usize,
    /// Frames of the mix: the end of the last stem plus the tail.
    pub length_frames: u64,
    pub tracks: Vec<TrackPlan>,
    /// Buses and returns in processing order (every strip after all strips
    /// feeding it); the master last.
    pub buses: Vec<BusPlan>,
    /// Mastering target named by `[master] target`, checked against the
    /// built-in targets.
    pub master_target: Option<String>,
}

impl Plan {
    /// Latency of the master output, samples (dropped from the file).
    pub fn latency_samples(&self) -> usize {
        self.buses.last().map_or(0, |b| b.strip.latency_out)
    }

    /// The stem files (inputs of the job: never overwritten).
    pub fn inputs(&self) -> Vec<&Path> {
        let mut v: Vec<&Path> = self.tracks.iter().map(|t| t.file.as_path()).collect();
        v.push(&self.session_path);
        v
    }
}

/// Reads, parses and checks the session at `path`.
pub fn load(path: &Path) -> Result<Plan, Error> {
    let text = std::fs::read_to_string(path).map_err(|e| Error::Content {
        path: path.to_path_buf(),
        problem: format!("cannot read session file: {e}"),
    })?;
    Ok(plan_text(path, &text)?)
}

/// Parses and checks session text as if read from `path`.
pub fn plan_text(path: &Path, text: &str) -> Result<Plan, SessionError> {
    let src = Source { path, text };
    let session = Session::parse(text).map_err(|e| src.from_toml(&e))?;
    Planner::new(src, path).plan(&session)
}

struct Probe {
    file: PathBuf,
    rate: u32,
    channels: usize,
    frames: u64,
}

struct Planner<'a> {
    src: Source<'a>,
    dir: PathBuf,
}

fn finite_gain(src: &Source, v: &Option<S<f64>>, what: &str) -> Result<f64, SessionError> {
    let Some(v) = v else { return Ok(1.0) };
    let db = *v.get_ref();
    if db.is_nan() || db > MAX_GAIN_DB {
        return Err(src.error(
            v.span(),
            format!("{what} = {db} is out of range"),
            Some(format!("expected -inf … {MAX_GAIN_DB} dB")),
        ));
    }
    Ok(db_to_gain(db))
}

fn unit_range(src: &Source, v: &Option<S<f64>>, what: &str) -> Result<f64, SessionError> {
    let Some(v) = v else { return Ok(0.0) };
    let x = *v.get_ref();
    if !(-1.0..=1.0).contains(&x) {
        return Err(src.error(
            v.span(),
            format!("{what} = {x} is out of range"),
            Some("expected -1 (left) … 1 (right)".into()),
        ));
    }
    Ok(x)
}

impl<'a> Planner<'a> {
    fn new(src: Source<'a>, path: &Path) -> Self {
        let dir = path
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .map_or_else(|| PathBuf::from("."), Path::to_path_buf);
        Self { src, dir }
    }

    fn err(
        &self,
        span: std::ops::Range<usize>,
        msg: impl Into<String>,
        hint: Option<String>,
    ) -> SessionError {
        self.src.error(span, msg, hint)
    }

    fn probe(&self, file: &S<String>) -> Result<Probe, SessionError> {
        let path = self.dir.join(file.get_ref());
        if !path.exists() {
            return Err(self.err(
                file.span(),
                format!("stem file '{}' not found", file.get_ref()),
                Some(format!(
                    "paths are relative to the session file's folder ({})",
                    self.dir.display()
                )),
            ));
        }
        let mut reader = AudioReader::open(&path)
            .map_err(|e| self.err(file.span(), format!("cannot use stem: {e}"), None))?;
        let info = reader.info().clone();
        if info.channels > 2 {
            return Err(self.err(
                file.span(),
                format!(
                    "stem '{}' has {} channels; tracks take mono or stereo stems",
                    file.get_ref(),
                    info.channels
                ),
                Some("split it into mono or stereo stems".into()),
            ));
        }
        let frames = match info.frames {
            Some(f) => f,
            None => {
                // no declared length: count by decoding (bounded memory)
                let mut buf = Vec::new();
                let mut n = 0u64;
                loop {
                    let got = reader.read(&mut buf, 65_536).map_err(|e| {
                        self.err(file.span(), format!("cannot use stem: {e}"), None)
                    })?;
                    if got == 0 {
                        break;
                    }
                    n += got as u64;
                }
                n
            }
        };
        Ok(Probe {
            file: path,
            rate: info.sample_rate_hz,
            channels: info.channels,
            frames,
        })
    }

    fn plan(&self, s: &Session) -> Result<Plan, SessionError> {
        // Names: one namespace for tracks, buses and returns; "master" reserved.
        let mut names: HashMap<&str, std::ops::Range<usize>> = HashMap::new();
        let all_names = s
            .tracks
            .iter()
            .map(|t| &t.name)
            .chain(s.buses.iter().map(|b| &b.name))
            .chain(s.returns.iter().map(|b| &b.name));
        for n in all_names {
            let name = n.get_ref().as_str();
            if name.is_empty() || name.eq_ignore_ascii_case("master") {
                return Err(self.err(
                    n.span(),
                    format!("'{name}' cannot be used as a name"),
                    Some("\"master\" is the master bus; pick another name".into()),
                ));
            }
            if let Some(first) = names.insert(name, n.span()) {
                let (l, c) = self.src.line_col(first.start);
                return Err(self.err(
                    n.span(),
                    format!("duplicate name '{name}'"),
                    Some(format!(
                        "first used at line {l}, column {c}; names must be unique"
                    )),
                ));
            }
        }
        if s.tracks.is_empty() {
            return Err(self.err(
                0..0,
                "the session has no tracks",
                Some("add [[tracks]] tables with name and file".into()),
            ));
        }

        let probes = s
            .tracks
            .iter()
            .map(|t| self.probe(&t.file))
            .collect::<Result<Vec<_>, _>>()?;
        let rate = match &s.sample_rate_hz {
            Some(r) => {
                let hz = *r.get_ref();
                if !(sheen_io::MIN_RATE_HZ..=sheen_io::MAX_RATE_HZ).contains(&hz) {
                    return Err(self.err(
                        r.span(),
                        format!("sample_rate_hz = {hz} is out of range"),
                        Some(format!(
                            "expected {} … {} Hz",
                            sheen_io::MIN_RATE_HZ,
                            sheen_io::MAX_RATE_HZ
                        )),
                    ));
                }
                hz
            }
            None => probes.iter().map(|p| p.rate).max().unwrap_or(48_000),
        };
        let fs = f64::from(rate);
        let block_size = match &s.block_size {
            Some(b) if !(16..=65_536).contains(b.get_ref()) => {
                return Err(self.err(
                    b.span(),
                    format!("block_size = {} is out of range", b.get_ref()),
                    Some("expected 16 … 65536 frames".into()),
                ))
            }
            Some(b) => *b.get_ref(),
            None => 1024,
        };

        // Summing strips: buses, returns, master (declaration indices).
        let decl: Vec<(&Bus, BusKind)> = s
            .buses
            .iter()
            .map(|b| (b, BusKind::Bus))
            .chain(s.returns.iter().map(|b| (b, BusKind::Return)))
            .collect();
        let master = decl.len();
        let bus_names: Vec<&str> = decl
            .iter()
            .map(|(b, _)| b.name.get_ref().as_str())
            .collect();
        let resolve = |to: &S<String>, what: &str| -> Result<usize, SessionError> {
            let name = to.get_ref().as_str();
            if name == "master" {
                return Ok(master);
            }
            if let Some(i) = bus_names.iter().position(|n| *n == name) {
                return Ok(i);
            }
            let mut cands = bus_names.clone();
            cands.push("master");
            let hint = if s.tracks.iter().any(|t| t.name.get_ref() == name) {
                format!("'{name}' is a track; {what} must name a bus, a return or \"master\"")
            } else {
                suggest(name, &cands).map_or_else(
                    || format!("known: {}", cands.join(", ")),
                    |c| format!("did you mean '{c}'?"),
                )
            };
            Err(self.err(
                to.span(),
                format!("unknown bus '{name}' in {what}"),
                Some(hint),
            ))
        };

        // Edges between summing strips, for the cycle check.
        let mut bus_edges: Vec<(usize, usize, std::ops::Range<usize>)> = Vec::new();
        let mut bus_outputs: Vec<Vec<(usize, &Send)>> = Vec::new();
        let mut bus_main: Vec<usize> = Vec::new();
        for (i, (b, _)) in decl.iter().enumerate() {
            let main = match &b.output {
                Some(o) => {
                    let d = resolve(o, "output")?;
                    bus_edges.push((i, d, o.span()));
                    d
                }
                None => master,
            };
            bus_main.push(main);
            let mut sends = Vec::new();
            for snd in &b.sends {
                let d = resolve(&snd.to, "send 'to'")?;
                if d == master {
                    return Err(self.err(
                        snd.to.span(),
                        "a send cannot go to \"master\"",
                        Some("route the main output to master with output = \"master\"".into()),
                    ));
                }
                bus_edges.push((i, d, snd.to.span()));
                sends.push((d, snd));
            }
            bus_outputs.push(sends);
        }
        let order = self.topo_order(&decl, master, &bus_edges)?;

        // Tracks.
        let any_solo = s.tracks.iter().any(|t| t.solo);
        let mut tracks = Vec::new();
        let mut content_end: i64 = 0;
        let mut tail_s: f64 = 0.0;
        let mut track_keys: Vec<Vec<(usize, std::ops::Range<usize>)>> = Vec::new();
        let mut bus_keys: Vec<(usize, std::ops::Range<usize>)> = Vec::new();
        for (t, p) in s.tracks.iter().zip(probes) {
            let frames = sheen_io::output_frames(p.frames, p.rate, rate);
            let offset = match (&t.offset_s, &t.offset_samples) {
                (Some(a), Some(_)) => {
                    return Err(self.err(
                        a.span(),
                        "both offset_s and offset_samples are set",
                        Some("keep one of them".into()),
                    ))
                }
                (Some(o), None) => {
                    let x = *o.get_ref();
                    if !x.is_finite() || x.abs() > 86_400.0 {
                        return Err(self.err(
                            o.span(),
                            format!("offset_s = {x} is out of range"),
                            Some("expected seconds, -86400 … 86400".into()),
                        ));
                    }
                    (x * fs).round() as i64
                }
                (None, Some(o)) => *o.get_ref(),
                (None, None) => 0,
            };
            let mono = p.channels == 1;
            let gain = self.gain_param(&t.gain_db, &t.automation, "gain_db", fs)?;
            let panner = if mono {
                if let Some(b) = &t.balance {
                    return Err(self.err(
                        b.span(),
                        format!(
                            "balance applies to stereo tracks; '{}' is mono",
                            t.name.get_ref()
                        ),
                        Some("use pan for a mono stem".into()),
                    ));
                }
                let law = match &t.pan_law {
                    None => PanLaw::ConstantPower,
                    Some(l) => l.get_ref().law().ok_or_else(|| {
                        self.err(
                            l.span(),
                            "unknown pan law",
                            Some("expected 0, -3, -4.5 or -6 (dB at the centre)".into()),
                        )
                    })?,
                };
                Panner::Mono {
                    pan: self.unit_param(&t.pan, &t.automation, "pan", fs)?,
                    law,
                }
            } else {
                if let Some(pn) = &t.pan {
                    return Err(self.err(
                        pn.span(),
                        format!(
                            "pan applies to mono tracks; '{}' is stereo",
                            t.name.get_ref()
                        ),
                        Some("use balance for a stereo stem".into()),
                    ));
                }
                Panner::Stereo {
                    balance: self.unit_param(&t.balance, &t.automation, "balance", fs)?,
                }
            };
            let allowed = if mono {
                "gain_db, pan"
            } else {
                "gain_db, balance"
            };
            self.check_lanes(&t.automation, &t.sends, allowed, mono, true)?;
            let mut keys = Vec::new();
            let inserts = self.inserts(&t.inserts, fs, &mut tail_s, s, &mut keys)?;
            track_keys.push(keys);
            let main = match &t.output {
                Some(o) => resolve(o, "output")?,
                None => master,
            };
            let mut outputs = vec![Edge {
                dst: main,
                level: Param::Const(1.0),
                pre_fader: false,
                compensation: 0,
            }];
            for (k, snd) in t.sends.iter().enumerate() {
                let d = resolve(&snd.to, "send 'to'")?;
                if d == master {
                    return Err(self.err(
                        snd.to.span(),
                        "a send cannot go to \"master\"",
                        Some("route the main output to master with output = \"master\"".into()),
                    ));
                }
                outputs.push(self.send_edge(d, k, snd, &t.automation, fs)?);
            }
            let fade = |f: &Option<Fade>| -> Result<Option<FadePlan>, SessionError> {
                let Some(f) = f else { return Ok(None) };
                let len = *f.length_s.get_ref();
                if !(0.0..=86_400.0).contains(&len) {
                    return Err(self.err(
                        f.length_s.span(),
                        format!("length_s = {len} is out of range"),
                        Some("expected seconds ≥ 0".into()),
                    ));
                }
                Ok(Some(FadePlan {
                    frames: (len * fs).round() as u64,
                    curve: f.curve,
                }))
            };
            content_end = content_end.max(offset + frames as i64);
            tracks.push(TrackPlan {
                strip: Strip {
                    name: t.name.get_ref().clone(),
                    channels: if mono { 1 } else { 2 },
                    inserts,
                    panner,
                    gain,
                    mute: t.mute || (any_solo && !t.solo),
                    outputs,
                    key_source: false,
                    latency_in: 0,
                    latency_out: 0,
                },
                file: p.file,
                stem_rate_hz: p.rate,
                frames,
                offset,
                fade_in: fade(&t.fade_in)?,
                fade_out: fade(&t.fade_out)?,
                invert: t.invert,
                level: 0,
            });
        }
        self.key_levels(&mut tracks, &track_keys)?;

        // Buses, returns and master, in processing order.
        let mut strips: Vec<Option<BusPlan>> = Vec::new();
        for (i, (b, kind)) in decl.iter().enumerate() {
            self.check_lanes(&b.automation, &b.sends, "gain_db, balance", false, true)?;
            let mut outputs = vec![Edge {
                dst: bus_main[i],
                level: Param::Const(1.0),
                pre_fader: false,
                compensation: 0,
            }];
            for (k, (d, snd)) in bus_outputs[i].iter().enumerate() {
                outputs.push(self.send_edge(*d, k, snd, &b.automation, fs)?);
            }
            strips.push(Some(BusPlan {
                kind: *kind,
                strip: Strip {
                    name: b.name.get_ref().clone(),
                    channels: 2,
                    inserts: self.inserts(&b.inserts, fs, &mut tail_s, s, &mut bus_keys)?,
                    panner: Panner::Stereo {
                        balance: self.unit_param(&b.balance, &b.automation, "balance", fs)?,
                    },
                    gain: self.gain_param(&b.gain_db, &b.automation, "gain_db", fs)?,
                    mute: b.mute,
                    outputs,
                    key_source: false,
                    latency_in: 0,
                    latency_out: 0,
                },
            }));
        }
        self.check_lanes(&s.master.automation, &[], "gain_db", false, false)?;
        strips.push(Some(BusPlan {
            kind: BusKind::Master,
            strip: Strip {
                name: "master".into(),
                channels: 2,
                inserts: self.inserts(&s.master.inserts, fs, &mut tail_s, s, &mut bus_keys)?,
                panner: Panner::Stereo {
                    balance: Param::Const(0.0),
                },
                gain: self.gain_param(&s.master.gain_db, &s.master.automation, "gain_db", fs)?,
                mute: false,
                outputs: Vec::new(),
                key_source: false,
                latency_in: 0,
                latency_out: 0,
            },
        }));
        // Reorder to processing order and remap destinations.
        let mut pos = vec![0usize; order.len()];
        for (p, &d) in order.iter().enumerate() {
            pos[d] = p;
        }
        let mut buses: Vec<BusPlan> = order
            .iter()
            .map(|&d| strips[d].take().expect("each bus once"))
            .collect();
        for b in &mut buses {
            b.strip.outputs.iter_mut().for_each(|e| e.dst = pos[e.dst]);
        }
        for t in &mut tracks {
            t.strip.outputs.iter_mut().for_each(|e| e.dst = pos[e.dst]);
        }
        for &(k, _) in track_keys.iter().flatten().chain(&bus_keys) {
            tracks[k].strip.key_source = true;
        }
        compensate(&mut tracks, &mut buses, fs);

        let tail = match &s.tail_s {
            Some(t) => {
                let x = *t.get_ref();
                if !(0.0..=600.0).contains(&x) {
                    return Err(self.err(
                        t.span(),
                        format!("tail_s = {x} is out of range"),
                        Some("expected 0 … 600 s".into()),
                    ));
                }
                x
            }
            None => tail_s.min(60.0),
        };
        let length_frames = content_end.max(0) as u64 + (tail * fs).round() as u64;
        let master_target = match &s.master.target {
            None => None,
            Some(t) => {
                let all = crate::mastering::Targets::builtin();
                let name = t.get_ref().as_str();
                if all.get(name).is_none() {
                    let names = all.names();
                    let hint = suggest(name, &names).map_or_else(
                        || format!("known: {}", names.join(", ")),
                        |c| format!("did you mean '{c}'?"),
                    );
                    return Err(self.err(
                        t.span(),
                        format!("unknown mastering target '{name}'"),
                        Some(hint),
                    ));
                }
                Some(name.to_string())
            }
        };
        Ok(Plan {
            session_path: self.src.path.to_path_buf(),
            sample_rate_hz: rate,
            block_size,
            length_frames,
            tracks,
            buses,
            master_target,
        })
    }

    /// Side-chain levels of the tracks; a cycle is reported at the side
    /// chain that closes it.
    fn key_levels(
        &self,
        tracks: &mut [TrackPlan],
        keys: &[Vec<(usize, std::ops::Range<usize>)>],
    ) -> Result<(), SessionError> {
        // 0 = unvisited, 1 = on the current path, 2 = done
        fn visit(
            t: usize,
            keys: &[Vec<(usize, std::ops::Range<usize>)>],
            state: &mut [u8],
            level: &mut [usize],
            path: &mut Vec<usize>,
        ) -> Result<(), (Vec<usize>, std::ops::Range<usize>)> {
            state[t] = 1;
            path.push(t);
            let mut lv = 0;
            for (k, span) in &keys[t] {
                match state[*k] {
                    1 => {
                        let from = path.iter().position(|p| p == k).unwrap_or(0);
                        let mut cyc = path[from..].to_vec();
                        cyc.push(*k);
                        return Err((cyc, span.clone()));
                    }
                    0 => visit(*k, keys, state, level, path)?,
                    _ => {}
                }
                lv = lv.max(level[*k] + 1);
            }
            level[t] = lv;
            state[t] = 2;
            path.pop();
            Ok(())
        }
        let n = tracks.len();
        let (mut state, mut level) = (vec![0u8; n], vec![0usize; n]);
        for t in 0..n {
            if state[t] == 0 {
                if let Err((cyc, span)) = visit(t, keys, &mut state, &mut level, &mut Vec::new()) {
                    let names: Vec<&str> =
                        cyc.iter().map(|&i| tracks[i].strip.name.as_str()).collect();
                    return Err(self.err(
                        span,
                        format!(
                            "sidechain cycle: {} (each keyed by the next)",
                            names.join(" → ")
                        ),
                        Some("a track cannot key itself, directly or through other tracks".into()),
                    ));
                }
            }
        }
        for (t, l) in tracks.iter_mut().zip(level) {
            t.level = l;
        }
        Ok(())
    }

    /// Kahn's algorithm, ties by declaration order; a cycle is reported at
    /// the edge that closes it.
    fn topo_order(
        &self,
        decl: &[(&Bus, BusKind)],
        master: usize,
        edges: &[(usize, usize, std::ops::Range<usize>)],
    ) -> Result<Vec<usize>, SessionError> {
        let n = master + 1;
        let mut indeg = vec![0usize; n];
        for (_, d, _) in edges {
            indeg[*d] += 1;
        }
        let mut done = vec![false; n];
        let mut order = Vec::with_capacity(n);
        while order.len() < n {
            let Some(next) = (0..n).find(|&i| !done[i] && indeg[i] == 0) else {
                break;
            };
            done[next] = true;
            order.push(next);
            for (src, d, _) in edges {
                if *src == next {
                    indeg[*d] -= 1;
                }
            }
        }
        if order.len() == n {
            return Ok(order);
        }
        // Find a cycle among the remaining nodes (DFS).
        let name = |i: usize| {
            if i == master {
                "master".to_string()
            } else {
                decl[i].0.name.get_ref().clone()
            }
        };
        let start = (0..n).find(|&i| !done[i]).unwrap_or(0);
        let mut path = vec![start];
        let mut on_path = vec![false; n];
        on_path[start] = true;
        loop {
            let cur = *path.last().unwrap_or(&start);
            let Some((_, d, span)) = edges.iter().find(|(s, d, _)| *s == cur && !done[*d]) else {
                break;
            };
            if on_path[*d] {
                let from = path.iter().position(|&p| p == *d).unwrap_or(0);
                let mut names: Vec<String> = path[from..].iter().map(|&i| name(i)).collect();
                names.push(name(*d));
                return Err(self.err(
                    span.clone(),
                    format!("bus cycle: {}", names.join(" → ")),
                    Some(
                        "a bus cannot feed itself, directly or through other buses or sends".into(),
                    ),
                ));
            }
            on_path[*d] = true;
            path.push(*d);
        }
        Err(self.err(0..0, "bus cycle", None))
    }

    /// Checks a strip's inserts and resolves side-chain names to tracks.
    fn inserts(
        &self,
        raw: &[S<RawInsert>],
        fs: f64,
        tail: &mut f64,
        s: &Session,
        keys: &mut Vec<(usize, std::ops::Range<usize>)>,
    ) -> Result<Vec<InsertPlan>, SessionError> {
        raw.iter()
            .map(|r| {
                let ParsedInsert { spec, sidechain } = parse_insert(&self.src, r, fs)?;
                *tail = tail.max(spec.tail_s());
                let sidechain = match sidechain {
                    None => None,
                    Some(name) => {
                        let n = name.get_ref().as_str();
                        let Some(i) = s.tracks.iter().position(|t| t.name.get_ref() == n) else {
                            let tracks: Vec<&str> =
                                s.tracks.iter().map(|t| t.name.get_ref().as_str()).collect();
                            let is_bus = s
                                .buses
                                .iter()
                                .chain(&s.returns)
                                .any(|b| b.name.get_ref() == n);
                            let hint = if is_bus {
                                format!("'{n}' is a bus; a sidechain names a track")
                            } else {
                                suggest(n, &tracks).map_or_else(
                                    || format!("tracks: {}", tracks.join(", ")),
                                    |c| format!("did you mean '{c}'?"),
                                )
                            };
                            return Err(self.err(
                                name.span(),
                                format!("unknown sidechain track '{n}'"),
                                Some(hint),
                            ));
                        };
                        keys.push((i, name.span()));
                        Some(i)
                    }
                };
                Ok(InsertPlan {
                    spec,
                    sidechain,
                    pre_delay: 0,
                    key_delay: 0,
                })
            })
            .collect()
    }

    fn lane<'s>(&self, lanes: &'s [Automation], param: &str) -> Option<&'s Automation> {
        lanes.iter().rev().find(|a| a.param.get_ref() == param)
    }

    /// Builds a lane, checking times (finite, ≥ 0, strictly increasing) and
    /// values with `check`.
    fn build_lane(
        &self,
        a: &Automation,
        fs: f64,
        check: &dyn Fn(&S<f64>) -> Result<f64, SessionError>,
    ) -> Result<Param, SessionError> {
        if a.points.is_empty() {
            return Err(self.err(
                a.param.span(),
                format!("automation of '{}' has no points", a.param.get_ref()),
                Some("add points = [{ time_s = 0.0, value = ... }]".into()),
            ));
        }
        let mut pts = Vec::new();
        let mut last = f64::NEG_INFINITY;
        for p in &a.points {
            let p = p.get_ref();
            let t = *p.time_s.get_ref();
            if !t.is_finite() || t < 0.0 || t <= last {
                return Err(self.err(
                    p.time_s.span(),
                    format!("time_s = {t}: breakpoints must be ≥ 0 and strictly increasing"),
                    Some(format!("the previous point is at {last} s")),
                ));
            }
            last = t;
            pts.push((t * fs, check(&p.value)?, p.curve));
        }
        Ok(Param::Lane(Lane::new(pts)))
    }

    fn gain_param(
        &self,
        v: &Option<S<f64>>,
        lanes: &[Automation],
        name: &str,
        fs: f64,
    ) -> Result<Param, SessionError> {
        match self.lane(lanes, name) {
            Some(a) => self.build_lane(a, fs, &|x| {
                finite_gain(&self.src, &Some(x.clone()), "value")
            }),
            None => Ok(Param::Const(finite_gain(&self.src, v, name)?)),
        }
    }

    fn unit_param(
        &self,
        v: &Option<S<f64>>,
        lanes: &[Automation],
        name: &str,
        fs: f64,
    ) -> Result<Param, SessionError> {
        match self.lane(lanes, name) {
            Some(a) => {
                self.build_lane(a, fs, &|x| unit_range(&self.src, &Some(x.clone()), "value"))
            }
            None => Ok(Param::Const(unit_range(&self.src, v, name)?)),
        }
    }

    fn send_edge(
        &self,
        dst: usize,
        k: usize,
        snd: &Send,
        lanes: &[Automation],
        fs: f64,
    ) -> Result<Edge, SessionError> {
        let by_name = format!("sends.{}.level_db", snd.to.get_ref());
        let by_index = format!("sends.{k}.level_db");
        let lane = self
            .lane(lanes, &by_index)
            .or_else(|| self.lane(lanes, &by_name));
        let level = match lane {
            Some(a) => self.build_lane(a, fs, &|x| {
                finite_gain(&self.src, &Some(x.clone()), "value")
            })?,
            None => Param::Const(finite_gain(&self.src, &snd.level_db, "level_db")?),
        };
        Ok(Edge {
            dst,
            level,
            pre_fader: snd.pre_fader,
            compensation: 0,
        })
    }

    /// Every lane must name a parameter this strip has.
    fn check_lanes(
        &self,
        lanes: &[Automation],
        sends: &[Send],
        allowed: &str,
        mono: bool,
        has_sends: bool,
    ) -> Result<(), SessionError> {
        let mut known: Vec<String> = allowed.split(", ").map(String::from).collect();
        if has_sends {
            for (k, s) in sends.iter().enumerate() {
                known.push(format!("sends.{k}.level_db"));
                known.push(format!("sends.{}.level_db", s.to.get_ref()));
            }
        }
        for a in lanes {
            let p = a.param.get_ref();
            if known.iter().any(|k| k == p) {
                continue;
            }
            let refs: Vec<&str> = known.iter().map(String::as_str).collect();
            let hint = if (p == "pan" && !mono) || (p == "balance" && mono) {
                format!(
                    "this strip is {}: automate {}",
                    if mono { "mono" } else { "stereo" },
                    allowed
                )
            } else if p.starts_with("inserts.") {
                "insert parameters are not automatable yet; automatable: ".to_string()
                    + &refs.join(", ")
            } else {
                suggest(p, &refs).map_or_else(
                    || format!("automatable here: {}", refs.join(", ")),
                    |s| format!("did you mean '{s}'?"),
                )
            };
            return Err(self.err(a.param.span(), format!("cannot automate '{p}'"), Some(hint)));
        }
        Ok(())
    }
}

/// Latency of one insert's processor at `fs`.
fn insert_latency(spec: &InsertSpec, fs: f64, channels: usize) -> usize {
    let mut p = spec.build(fs);
    p.prepare(fs, channels, 64);
    p.latency_samples()
}

/// Walks a strip's inserts from input latency `lat_in`, aligning side
/// chains against the keys' latencies; returns the output latency.
fn walk_strip(strip: &mut Strip, lat_in: usize, key_latency: &[usize], fs: f64) -> usize {
    let mut l = lat_in;
    let ch = strip.channels;
    for ins in &mut strip.inserts {
        if let Some(k) = ins.sidechain {
            let lk = key_latency[k];
            if lk > l {
                ins.pre_delay = lk - l;
                l = lk;
            } else {
                ins.key_delay = l - lk;
            }
        }
        l += insert_latency(&ins.spec, fs, ch);
    }
    strip.latency_in = lat_in;
    strip.latency_out = l;
    l
}

/// Fills in latencies and per-edge compensation (see the module docs).
fn compensate(tracks: &mut [TrackPlan], buses: &mut [BusPlan], fs: f64) {
    let mut key_latency = vec![0usize; tracks.len()];
    let max_level = tracks.iter().map(|t| t.level).max().unwrap_or(0);
    for level in 0..=max_level {
        for i in 0..tracks.len() {
            if tracks[i].level == level {
                key_latency[i] = walk_strip(&mut tracks[i].strip, 0, &key_latency, fs);
            }
        }
    }
    // Buses are in processing order: every source of bus b is a track or a
    // bus before b.
    for b in 0..buses.len() {
        let mut lat_in = 0;
        for t in tracks.iter() {
            if t.strip.outputs.iter().any(|e| e.dst == b) {
                lat_in = lat_in.max(t.strip.latency_out);
            }
        }
        for s in buses[..b].iter() {
            if s.strip.outputs.iter().any(|e| e.dst == b) {
                lat_in = lat_in.max(s.strip.latency_out);
            }
        }
        walk_strip(&mut buses[b].strip, lat_in, &key_latency, fs);
        for t in tracks.iter_mut() {
            let l = t.strip.latency_out;
            t.strip
                .outputs
                .iter_mut()
                .filter(|e| e.dst == b)
                .for_each(|e| e.compensation = lat_in - l);
        }
        let (before, _) = buses.split_at_mut(b);
        for s in before.iter_mut() {
            let l = s.strip.latency_out;
            s.strip
                .outputs
                .iter_mut()
                .filter(|e| e.dst == b)
                .for_each(|e| e.compensation = lat_in - l);
        }
    }
}
