//! The picture of a night plan: one panel per telescope with the altitude curve of
//! every planned target, twilight shading from the Sun's altitude, and the blocks as
//! bars along the time axis. Plain SVG text, no dependencies.

use std::fmt::Write as _;

use super::PlanView;

const W: f64 = 960.0;
const PANEL_H: f64 = 220.0;
const LEFT: f64 = 50.0;
const RIGHT: f64 = 20.0;
const TOP: f64 = 30.0;
/// Samples of altitudes in the view are this far apart (see `PlannedBlock`).
pub const SAMPLE_S: f64 = 600.0;

fn esc(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

/// `sun` holds the Sun's altitude every [`SAMPLE_S`] from the night's start.
pub fn render(view: &PlanView, sun: &[f64], span_s: f64) -> String {
    render_at(view, sun, span_s, None)
}

/// As [`render`], with a line at `now_s` seconds from the night's start (the web
/// page's "where are we"), drawn only while it falls inside the night.
pub fn render_at(view: &PlanView, sun: &[f64], span_s: f64, now_s: Option<f64>) -> String {
    let n = view.telescopes.len().max(1);
    let h = TOP + n as f64 * PANEL_H + 30.0;
    let span = span_s.max(1.0);
    let x = |s: f64| LEFT + (W - LEFT - RIGHT) * (s / span).clamp(0.0, 1.0);
    let mut o = String::new();
    let _ = write!(
        o,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{h}" viewBox="0 0 {W} {h}" font-family="sans-serif" font-size="11">"#
    );
    let _ = write!(
        o,
        r#"<text x="{LEFT}" y="18" font-size="13">Night plan {} → {} UTC, value {:.1}</text>"#,
        esc(view.night_start.as_deref().unwrap_or("?")),
        esc(view.night_end.as_deref().unwrap_or("?")),
        view.value
    );
    for (i, tel) in view.telescopes.iter().enumerate() {
        let y0 = TOP + i as f64 * PANEL_H;
        let plot_h = PANEL_H - 50.0;
        let y = |alt: f64| y0 + plot_h * (1.0 - alt.clamp(0.0, 90.0) / 90.0);
        // Twilight: darker as the Sun goes down (civil, nautical, astronomical).
        for (k, &s) in sun.iter().enumerate() {
            let shade = if s > -6.0 {
                "#dde6f0"
            } else if s > -12.0 {
                "#b8c7da"
            } else if s > -18.0 {
                "#8fa3bf"
            } else {
                "#6b7f9e"
            };
            let (a, b) = (x(k as f64 * SAMPLE_S), x((k as f64 + 1.0) * SAMPLE_S));
            let _ = write!(
                o,
                r#"<rect x="{a:.1}" y="{y0:.1}" width="{:.1}" height="{plot_h:.1}" fill="{shade}"/>"#,
                (b - a).max(0.0)
            );
        }
        for alt in [30.0, 60.0] {
            let _ = write!(
                o,
                r##"<line x1="{LEFT}" x2="{:.1}" y1="{:.1}" y2="{:.1}" stroke="#ffffff" stroke-dasharray="3 3"/><text x="8" y="{:.1}">{alt:.0}°</text>"##,
                W - RIGHT,
                y(alt),
                y(alt),
                y(alt) + 4.0
            );
        }
        let _ = write!(
            o,
            r#"<text x="{LEFT}" y="{:.1}" font-weight="bold">{}</text>"#,
            y0 + 12.0,
            esc(&tel.name)
        );
        for (j, b) in tel.blocks.iter().enumerate() {
            let hue = (j * 47) % 360;
            let pts: Vec<String> = b
                .altitudes
                .iter()
                .enumerate()
                .filter(|(_, a)| **a > 0.0)
                .map(|(k, a)| format!("{:.1},{:.1}", x(k as f64 * SAMPLE_S), y(*a)))
                .collect();
            if pts.len() > 1 {
                let _ = write!(
                    o,
                    r#"<polyline points="{}" fill="none" stroke="hsl({hue},70%,40%)" stroke-width="1"/>"#,
                    pts.join(" ")
                );
            }
            let (a, e) = (x(b.start_s), x(b.end_s));
            let by = y0 + plot_h + 6.0;
            let _ = write!(
                o,
                r#"<rect x="{a:.1}" y="{by:.1}" width="{:.1}" height="14" fill="hsl({hue},70%,45%)"><title>{} (request {}) {} – {}, value {:.1}</title></rect>"#,
                (e - a).max(1.0),
                esc(&b.name),
                b.request_id,
                esc(&b.start),
                esc(&b.end),
                b.value
            );
        }
        let _ = write!(
            o,
            r##"<line x1="{LEFT}" x2="{:.1}" y1="{:.1}" y2="{:.1}" stroke="#333"/>"##,
            W - RIGHT,
            y0 + plot_h,
            y0 + plot_h
        );
        for hour in 0..=((span / 3600.0) as usize) {
            let xs = x(hour as f64 * 3600.0);
            let _ = write!(
                o,
                r#"<text x="{xs:.1}" y="{:.1}" text-anchor="middle">+{hour}h</text>"#,
                y0 + plot_h + 34.0
            );
        }
    }
    if let Some(now) = now_s.filter(|t| (0.0..=span).contains(t)) {
        let xs = x(now);
        let _ = write!(
            o,
            r##"<line class="now" x1="{xs:.1}" x2="{xs:.1}" y1="{TOP}" y2="{:.1}" stroke="#ffb000" stroke-width="2" stroke-dasharray="6 3"><title>now</title></line>"##,
            TOP + n as f64 * PANEL_H - 20.0
        );
    }
    o.push_str("</svg>\n");
    o
}

#[cfg(test)]
mod tests {
    use super::*;

    fn view() -> PlanView {
        PlanView {
            night_start: Some("2026-11-24T19:30:00".into()),
            night_end: Some("2026-11-25T06:30:00".into()),
            updated_at: None,
            value: 0.0,
            telescopes: Vec::new(),
            unplanned: Vec::new(),
            sun_altitudes: vec![-20.0; 66],
            span_s: 39_600.0,
            ..PlanView::default()
        }
    }

    #[test]
    fn the_now_line_is_drawn_only_inside_the_night() {
        let v = view();
        assert!(!render(&v, &v.sun_altitudes, v.span_s).contains(r#"class="now""#));
        let mid = render_at(&v, &v.sun_altitudes, v.span_s, Some(v.span_s / 2.0));
        // Half way along the plot: LEFT + (W - LEFT - RIGHT) / 2.
        assert!(mid.contains(r#"class="now" x1="495.0""#), "{mid}");
        for outside in [-1.0, v.span_s + 1.0] {
            let svg = render_at(&v, &v.sun_altitudes, v.span_s, Some(outside));
            assert!(!svg.contains(r#"class="now""#));
        }
    }
}
