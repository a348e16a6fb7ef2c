//! Mixing sessions: the session document (TOML, see `docs/SESSION.md`), its
//! checks with `file:line:col` errors, and the graph render with latency
//! compensation and thread-count-independent output.
//!
//! ```no_run
//! let plan = sheen::mixing::load(std::path::Path::new("session.toml"))?;
//! let opts = sheen::mixing::RenderOptions {
//!     output: "mix.wav".into(),
//!     ..Default::default()
//! };
//! let report = sheen::mixing::render(&plan, &opts, &mut |_, _| {})?;
//! println!("peak {:.1} dBFS", report.peak_dbfs);
//! # Ok::<(), sheen::Error>(())
//! ```

pub mod automation;
pub mod error;
pub mod init;
pub mod inserts;
pub mod plan;
pub mod render;
pub mod session;
pub mod source;

pub use error::SessionError;
pub use init::{init_session, STARTER_NAME};
pub use plan::{load, plan_text, Plan};
pub use render::{render, render_to_memory, Engine, RenderOptions, RenderReport};
pub use session::{Curve, Session};

#[cfg(test)]
mod tests;
