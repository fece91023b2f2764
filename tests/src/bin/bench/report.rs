//! The report: every figure beside redis's and their ratio, then the
//! targets of issue 7 with a verdict each. Markdown, so it pastes into
//! BENCHMARKS.md as printed (the simulated day has its own table, in
//! `day_report`, printed the same way).

/// Which way a figure improves, so the ratio reads the same for all rows.
#[derive(Clone, Copy)]
pub enum Better {
    /// Latencies, memory.
    Lower,
    /// Throughput.
    Higher,
}

/// One figure from one server.
pub struct Figure {
    /// What was measured.
    pub metric: String,
    /// Its unit.
    pub unit: &'static str,
    /// Which way is better.
    pub better: Better,
    /// The value.
    pub value: f64,
}

impl Figure {
    /// A figure that is better lower (latency, memory).
    pub fn lower(metric: impl Into<String>, unit: &'static str, value: f64) -> Figure {
        Figure {
            metric: metric.into(),
            unit,
            better: Better::Lower,
            value,
        }
    }

    /// A figure that is better higher (throughput).
    pub fn higher(metric: impl Into<String>, unit: &'static str, value: f64) -> Figure {
        Figure {
            metric: metric.into(),
            unit,
            better: Better::Higher,
            value,
        }
    }
}

/// The daemon's figure beside redis's for the same load.
struct Row {
    ours: Figure,
    redis: Option<f64>,
}

/// The whole report, printed at the end.
#[derive(Default)]
pub struct Report {
    rows: Vec<Row>,
    targets: Vec<(String, bool)>,
    notes: Vec<String>,
}

impl Report {
    /// Adds the daemon's figures, each beside redis's of the same name.
    pub fn compare(&mut self, ours: Vec<Figure>, redis: Option<Vec<Figure>>) {
        for ours in ours {
            let redis = redis
                .as_deref()
                .and_then(|redis| redis.iter().find(|theirs| theirs.metric == ours.metric))
                .map(|figure| figure.value);
            self.rows.push(Row { ours, redis });
        }
    }

    /// Adds a figure redis has no counterpart for.
    pub fn alone(&mut self, figure: Figure) {
        self.rows.push(Row {
            ours: figure,
            redis: None,
        });
    }

    /// Adds a target and whether it was met.
    pub fn target(&mut self, what: impl Into<String>, met: bool) {
        self.targets.push((what.into(), met));
    }

    /// Adds a line printed under the table.
    pub fn note(&mut self, note: impl Into<String>) {
        self.notes.push(note.into());
    }

    /// The same as one JSON object: `figures` (metric, unit, claude_quotad,
    /// redis, ratio; `null` where redis has no counterpart), `targets`
    /// (what, met) and `notes`.
    pub fn json(&self) -> serde_json::Value {
        let finite = |value: f64| value.is_finite().then_some(value);
        let figures: Vec<serde_json::Value> = self
            .rows
            .iter()
            .map(|Row { ours, redis }| {
                serde_json::json!({
                    "metric": ours.metric,
                    "unit": ours.unit,
                    "claude_quotad": finite(ours.value),
                    "redis": redis.and_then(finite),
                    "ratio": redis.and_then(|redis| finite(ours.value / redis)),
                })
            })
            .collect();
        let targets: Vec<serde_json::Value> = self
            .targets
            .iter()
            .map(|(what, met)| serde_json::json!({"what": what, "met": met}))
            .collect();
        serde_json::json!({"figures": figures, "targets": targets, "notes": self.notes})
    }

    /// Prints the table, the notes and the verdicts.
    pub fn print(&self) {
        println!("| metric | claude-quotad | redis | ratio (claude-quotad / redis) |");
        println!("|---|---:|---:|---:|");
        for Row { ours, redis } in &self.rows {
            let unit = ours.unit;
            let ratio = redis.map_or("–".into(), |redis| {
                let ratio = ours.value / redis;
                let good = match ours.better {
                    Better::Lower => ratio <= 1.0,
                    Better::Higher => ratio >= 1.0,
                };
                format!("{ratio:.2}×{}", if good { "" } else { " (worse)" })
            });
            let redis = redis.map_or("–".into(), |redis| format!("{} {unit}", figure(redis)));
            let ours_value = figure(ours.value);
            println!(
                "| {} | {ours_value} {unit} | {redis} | {ratio} |",
                ours.metric
            );
        }
        println!();
        for note in &self.notes {
            println!("- {note}");
        }
        println!();
        print_targets(&self.targets);
    }
}

/// Prints each target as a checklist item: `[x]` when met.
pub fn print_targets(targets: &[(String, bool)]) {
    println!("Targets:");
    for (what, met) in targets {
        println!("- [{}] {what}", if *met { "x" } else { " " });
    }
}

/// Three significant digits or a whole number, whichever reads better.
pub fn figure(value: f64) -> String {
    if value >= 1000.0 {
        format!("{value:.0}")
    } else if value >= 10.0 {
        format!("{value:.1}")
    } else {
        format!("{value:.2}")
    }
}
