//! The daemon's configuration, in three layers that import only downwards:
//! [`model`] is what the file may say (every key with its default),
//! [`rules`] is the one gate every value passes (ranges, URLs) and the only
//! maker of a [`Config`], and [`load`] reads the file and points at the
//! line of a refused value. `crate::args` lays the command line over it.

mod load;
mod model;
mod rules;

pub use load::{ConfigError, Source};
#[cfg(test)]
pub use model::Settings;
pub use model::{Models, NotADuration, Seconds, Thresholds};
pub use rules::Config;
