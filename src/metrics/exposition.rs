//! The Prometheus text format 0.0.4, written by hand: about fifteen families do not
//! earn a client crate (see docs/research/issue7-plan.md §0).

use std::fmt::Write;

use super::histogram::HistogramSnapshot;

pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

#[derive(Default)]
pub struct Exposition {
    out: String,
}

impl Exposition {
    /// HELP and TYPE, once per family, before its samples.
    pub fn family(&mut self, name: &str, kind: &str, help: &str) {
        let help = help.replace('\\', "\\\\").replace('\n', "\\n");
        let _ = writeln!(self.out, "# HELP {name} {help}\n# TYPE {name} {kind}");
    }

    pub fn sample(&mut self, name: &str, labels: &[(&str, &str)], value: f64) {
        self.out.push_str(name);
        write_labels(&mut self.out, labels, None);
        let _ = writeln!(self.out, " {}", number(value));
    }

    pub fn histogram(&mut self, name: &str, labels: &[(&str, &str)], h: &HistogramSnapshot) {
        for &(le, count) in &h.cumulative {
            let _ = write!(self.out, "{name}_bucket");
            write_labels(&mut self.out, labels, Some(le));
            let _ = writeln!(self.out, " {count}");
        }
        let _ = write!(self.out, "{name}_sum");
        write_labels(&mut self.out, labels, None);
        let _ = writeln!(self.out, " {}", number(h.sum_s));
        let _ = write!(self.out, "{name}_count");
        write_labels(&mut self.out, labels, None);
        let _ = writeln!(self.out, " {}", h.count);
    }

    pub fn finish(self) -> String {
        self.out
    }
}

fn write_labels(out: &mut String, labels: &[(&str, &str)], le: Option<f64>) {
    if labels.is_empty() && le.is_none() {
        return;
    }
    out.push('{');
    let mut first = true;
    for (k, v) in labels {
        if !first {
            out.push(',');
        }
        first = false;
        let _ = write!(out, "{k}=\"{}\"", escape(v));
    }
    if let Some(le) = le {
        if !first {
            out.push(',');
        }
        let _ = write!(out, "le=\"{}\"", number(le));
    }
    out.push('}');
}

fn escape(v: &str) -> String {
    v.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n")
}

fn number(v: f64) -> String {
    if v == f64::INFINITY {
        "+Inf".into()
    } else if v == f64::NEG_INFINITY {
        "-Inf".into()
    } else if v.is_nan() {
        "NaN".into()
    } else {
        format!("{v}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::histogram::Histogram;

    #[test]
    fn labels_are_escaped_and_histograms_end_with_inf_sum_count() {
        let mut e = Exposition::default();
        e.family("x_total", "counter", "a \\ help\nline");
        e.sample("x_total", &[("a", "q\"b\\c\nd")], 3.0);
        let h = Histogram::default();
        h.observe(0.002);
        e.family("y_seconds", "histogram", "y");
        e.histogram("y_seconds", &[("route", "/r")], &h.snapshot());
        let text = e.finish();
        assert!(text.contains("# HELP x_total a \\\\ help\\nline\n# TYPE x_total counter\n"));
        assert!(text.contains("x_total{a=\"q\\\"b\\\\c\\nd\"} 3\n"), "{text}");
        assert!(text.contains("y_seconds_bucket{route=\"/r\",le=\"0.0025\"} 1\n"), "{text}");
        assert!(text.contains("y_seconds_bucket{route=\"/r\",le=\"+Inf\"} 1\n"), "{text}");
        assert!(text.contains("y_seconds_count{route=\"/r\"} 1\n"), "{text}");
    }
}
