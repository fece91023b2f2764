//! The metric families in the Prometheus text format (version 0.0.4),
//! written by the Prometheus project's own Rust client, so names, label
//! escaping and float spelling are the ones Prometheus and `promtool`
//! read.

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric, prometheus_text};
use prometheus_client::metrics::TypedMetric;
use prometheus_client::metrics::counter::ConstCounter;
use prometheus_client::metrics::gauge::ConstGauge;
use prometheus_client::registry::Registry;

use super::families::{Family, Kind};

/// The prefix of every metric name.
const PREFIX: &str = "claude_quota";

/// The `Content-Type` of what [`encode`] writes.
pub const CONTENT_TYPE: &str = prometheus_text::CONTENT_TYPE;

/// Hands the families to the encoder at each scrape, in their order.
#[derive(Debug)]
struct Families(Vec<Family>);

impl Collector for Families {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        for family in self.0.iter().filter(|f| !f.samples.is_empty()) {
            let kind = match family.kind {
                Kind::Gauge => ConstGauge::<f64>::TYPE,
                Kind::Counter => ConstCounter::<u64>::TYPE,
            };
            let mut metric = encoder.encode_descriptor(family.name, family.help, None, kind)?;
            for sample in &family.samples {
                let labelled = metric.encode_family(&sample.labels)?;
                match family.kind {
                    Kind::Gauge => ConstGauge::new(sample.value).encode(labelled)?,
                    // A count, whole by construction: shown as one.
                    Kind::Counter => ConstCounter::new(sample.value as u64).encode(labelled)?,
                }
            }
        }
        Ok(())
    }
}

/// `families` in the Prometheus text format, every name prefixed
/// `claude_quota_`; a family without samples is left out.
pub fn encode(families: Vec<Family>) -> String {
    let mut registry = Registry::with_prefix(PREFIX);
    registry.register_collector(Box::new(Families(families)));
    let mut text = String::new();
    // Writing to a String cannot fail; the encoder's own errors are
    // fmt::Error from the writer alone.
    if let Err(err) = prometheus_text::encode(&mut text, &registry) {
        tracing::error!(%err, "cannot encode the metrics");
    }
    text
}
