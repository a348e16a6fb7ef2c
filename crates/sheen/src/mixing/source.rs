//! A track's stem as a stream on the session timeline: decoded with
//! [`AudioReader`] in bounded chunks, resampled with [`Resampler`] when the
//! stem's rate differs from the render rate, placed at its offset, with its
//! fades and polarity applied. Memory does not grow with the song length.

use super::plan::{FadePlan, TrackPlan};
use crate::Error;
use sheen_io::{AudioReader, Resampler};

/// Frames decoded per read.
const READ_FRAMES: usize = 16_384;

/// The stream of one stem.
pub struct StemSource {
    reader: AudioReader,
    resampler: Option<Resampler>,
    channels: usize,
    read_buf: Vec<Vec<f64>>,
    /// Decoded (and resampled) frames not yet used, from `fifo_pos`.
    fifo: Vec<Vec<f64>>,
    fifo_pos: usize,
    eof: bool,
    /// Stem frames taken from the stream so far.
    consumed: u64,
    frames: u64,
    offset: i64,
    fade_in: Option<FadePlan>,
    fade_out: Option<FadePlan>,
    sign: f64,
}

impl StemSource {
    /// Opens the stem of `track` for rendering at `rate_hz`.
    pub fn open(track: &TrackPlan, rate_hz: u32) -> Result<Self, Error> {
        let reader = AudioReader::open(&track.file)?;
        let channels = reader.info().channels;
        let resampler = if track.stem_rate_hz != rate_hz {
            Some(Resampler::new(track.stem_rate_hz, rate_hz, channels)?)
        } else {
            None
        };
        Ok(Self {
            reader,
            resampler,
            channels,
            read_buf: Vec::new(),
            fifo: vec![Vec::new(); channels],
            fifo_pos: 0,
            eof: false,
            consumed: 0,
            frames: track.frames,
            offset: track.offset,
            fade_in: track.fade_in,
            fade_out: track.fade_out,
            sign: if track.invert { -1.0 } else { 1.0 },
        })
    }

    fn available(&self) -> usize {
        self.fifo[0].len() - self.fifo_pos
    }

    /// Decodes until `want` frames are buffered or the stream ends.
    fn ensure(&mut self, want: usize) -> Result<(), Error> {
        if self.available() >= want || self.eof {
            return Ok(());
        }
        if self.fifo_pos > 0 {
            let p = self.fifo_pos;
            self.fifo.iter_mut().for_each(|c| {
                c.drain(..p);
            });
            self.fifo_pos = 0;
        }
        while self.available() < want && !self.eof {
            let got = self.reader.read(&mut self.read_buf, READ_FRAMES)?;
            let empty = self.available() == 0;
            match &mut self.resampler {
                // an empty queue takes the decoded buffers whole (no copy)
                None if got > 0 && empty => {
                    std::mem::swap(&mut self.fifo, &mut self.read_buf);
                    self.fifo_pos = 0;
                }
                None if got > 0 => {
                    for (f, r) in self.fifo.iter_mut().zip(&self.read_buf) {
                        f.extend_from_slice(r);
                    }
                }
                None => self.eof = true,
                Some(rs) if got > 0 => {
                    let block: Vec<&[f64]> = self.read_buf.iter().map(Vec::as_slice).collect();
                    rs.process(&block, &mut self.fifo)?;
                }
                Some(rs) => {
                    rs.finish(&mut self.fifo)?;
                    self.eof = true;
                }
            }
        }
        Ok(())
    }

    /// Takes `n` stream frames into `out[ch][at..at + n]` (zeros past the
    /// end of the stream).
    fn take(&mut self, out: &mut [Vec<f64>], at: usize, n: usize) -> Result<(), Error> {
        if self.resampler.is_none() {
            return self.take_direct(out, at, n);
        }
        self.ensure(n)?;
        let have = self.available().min(n);
        for (ch, o) in out.iter_mut().enumerate().take(self.channels) {
            let src = &self.fifo[ch][self.fifo_pos..self.fifo_pos + have];
            o[at..at + have].copy_from_slice(src);
            o[at + have..at + n].fill(0.0);
        }
        self.fifo_pos += have;
        self.consumed += n as u64;
        Ok(())
    }

    /// [`Self::take`] without resampling: what is left in the queue, then
    /// straight from the reader into `out` (the same frames, fewer copies).
    fn take_direct(&mut self, out: &mut [Vec<f64>], at: usize, n: usize) -> Result<(), Error> {
        let have = self.available().min(n);
        let out = &mut out[..self.channels];
        for (f, o) in self.fifo.iter().zip(out.iter_mut()) {
            o[at..at + have].copy_from_slice(&f[self.fifo_pos..self.fifo_pos + have]);
        }
        self.fifo_pos += have;
        let len = out[0].len();
        let mut got = have;
        if got < n && !self.eof {
            out.iter_mut().for_each(|o| o.truncate(at + got));
            let r = loop {
                match self.reader.read_append(out, n - got) {
                    Ok(0) => {
                        self.eof = true;
                        break Ok(());
                    }
                    Ok(k) => {
                        got += k;
                        if got == n {
                            break Ok(());
                        }
                    }
                    Err(e) => break Err(e),
                }
            };
            out.iter_mut().for_each(|o| o.resize(len, 0.0));
            r?;
        }
        for o in out.iter_mut() {
            o[at + got..at + n].fill(0.0);
        }
        self.consumed += n as u64;
        Ok(())
    }

    /// Fills `out[ch][..n]` with timeline frames `t0 .. t0 + n`.
    pub fn fill(&mut self, out: &mut [Vec<f64>], t0: u64, n: usize) -> Result<(), Error> {
        let k0 = t0 as i64 - self.offset; // stem frame at out[0]
        let lo = k0.max(0);
        let hi = (k0 + n as i64).min(self.frames as i64);
        if lo >= hi {
            for o in out.iter_mut().take(self.channels) {
                o[..n].fill(0.0);
            }
            return Ok(());
        }
        // a negative offset skips the start of the stem
        while (self.consumed as i64) < lo {
            let skip = ((lo - self.consumed as i64) as usize).min(READ_FRAMES);
            self.ensure(skip)?;
            let have = self.available().min(skip);
            self.fifo_pos += have;
            self.consumed += skip as u64;
        }
        let at = (lo - k0) as usize;
        let len = (hi - lo) as usize;
        for o in out.iter_mut().take(self.channels) {
            o[..at].fill(0.0);
            o[at + len..n].fill(0.0);
        }
        self.take(out, at, len)?;
        let fade_in = self.fade_in.filter(|f| f.frames > 0);
        let fade_out = self.fade_out.filter(|f| f.frames > 0);
        if fade_in.is_none() && fade_out.is_none() && self.sign == 1.0 {
            return Ok(()); // every gain is exactly 1
        }
        let frames = self.frames as f64;
        for (ch, o) in out.iter_mut().enumerate().take(self.channels) {
            let _ = ch;
            for (i, x) in o[at..at + len].iter_mut().enumerate() {
                let k = (lo as usize + i) as f64;
                let mut g = self.sign;
                if let Some(f) = fade_in {
                    if k < f.frames as f64 {
                        g *= f.curve.shape(k / f.frames as f64);
                    }
                }
                if let Some(f) = fade_out {
                    let left = frames - k;
                    if left < f.frames as f64 {
                        g *= f.curve.shape(left / f.frames as f64);
                    }
                }
                *x *= g;
            }
        }
        Ok(())
    }
}
