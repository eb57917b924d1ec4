//! Latency plots as SVG: the percentile spectrum of one or more runs (latency against percentile,
//! with the tail stretched out on a log scale of 1/(1 − p), as HdrHistogram plots it), drawn by
//! hand so that no plotting library is needed.

use std::fmt::Write as _;

use crate::report::Report;

const WIDTH: f64 = 980.0;
const HEIGHT: f64 = 480.0;
const LEFT: f64 = 84.0;
const RIGHT: f64 = 330.0;
const TOP: f64 = 40.0;
const BOTTOM: f64 = 50.0;
/// The x axis ends at 99.999% (1/(1-p) = 10^5).
const MAX_NINES: f64 = 5.0;
/// Line colours, in series order.
const COLOURS: [&str; 8] =
    ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf"];

/// An SVG image of the percentile spectra of `reports`, titled `title`.
pub fn spectrum_svg(title: &str, reports: &[Report]) -> String {
    let highest_us =
        reports.iter().flat_map(|report| report.spectrum.iter().map(|(_, us)| *us)).max().unwrap_or(1).max(1);
    let y_max_ms = nice_ceiling(highest_us as f64 / 1000.0);
    let plot_width = WIDTH - LEFT - RIGHT;
    let plot_height = HEIGHT - TOP - BOTTOM;
    let x_of = |percentile: f64| {
        let tail = (1.0 - percentile / 100.0).max(10f64.powf(-MAX_NINES));
        LEFT + (-tail.log10() / MAX_NINES).clamp(0.0, 1.0) * plot_width
    };
    let y_of = |ms: f64| TOP + plot_height - (ms / y_max_ms).clamp(0.0, 1.0) * plot_height;

    let mut svg = String::new();
    let _ = write!(
        svg,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" viewBox="0 0 {WIDTH} {HEIGHT}" font-family="sans-serif" font-size="12">"#
    );
    let _ = write!(svg, r#"<rect width="{WIDTH}" height="{HEIGHT}" fill="white"/>"#);
    let _ = write!(
        svg,
        r#"<text x="{}" y="22" font-size="15" text-anchor="middle">{}</text>"#,
        WIDTH / 2.0,
        escape(title)
    );
    for (nines, label) in
        [(0.0, "0%"), (1.0, "90%"), (2.0, "99%"), (3.0, "99.9%"), (4.0, "99.99%"), (5.0, "99.999%")]
    {
        let x = LEFT + nines / MAX_NINES * plot_width;
        let _ = write!(
            svg,
            r##"<line x1="{x:.1}" y1="{TOP}" x2="{x:.1}" y2="{:.1}" stroke="#ddd"/><text x="{x:.1}" y="{:.1}" text-anchor="middle">{label}</text>"##,
            TOP + plot_height,
            TOP + plot_height + 18.0
        );
    }
    for step in 0..=5 {
        let ms = y_max_ms * f64::from(step) / 5.0;
        let y = y_of(ms);
        let _ = write!(
            svg,
            r##"<line x1="{LEFT}" y1="{y:.1}" x2="{:.1}" y2="{y:.1}" stroke="#ddd"/><text x="{:.1}" y="{:.1}" text-anchor="end">{}</text>"##,
            LEFT + plot_width,
            LEFT - 6.0,
            y + 4.0,
            format_ms(ms)
        );
    }
    let _ = write!(
        svg,
        r#"<text x="{:.1}" y="{:.1}" text-anchor="middle">percentile</text><text x="16" y="{:.1}" text-anchor="middle" transform="rotate(-90 16 {:.1})">latency (ms)</text>"#,
        LEFT + plot_width / 2.0,
        HEIGHT - 10.0,
        TOP + plot_height / 2.0,
        TOP + plot_height / 2.0
    );
    for (index, report) in reports.iter().enumerate() {
        let colour = COLOURS[index % COLOURS.len()];
        let points: Vec<String> = report
            .spectrum
            .iter()
            .map(|(percentile, us)| format!("{:.1},{:.1}", x_of(*percentile), y_of(*us as f64 / 1000.0)))
            .collect();
        let _ = write!(
            svg,
            r#"<polyline fill="none" stroke="{colour}" stroke-width="2" points="{}"/>"#,
            points.join(" ")
        );
        let legend_y = TOP + 14.0 + index as f64 * 34.0;
        let legend_x = WIDTH - RIGHT + 14.0;
        let _ = write!(
            svg,
            r##"<line x1="{legend_x}" y1="{legend_y}" x2="{}" y2="{legend_y}" stroke="{colour}" stroke-width="3"/><text x="{}" y="{:.1}">{}</text><text x="{}" y="{:.1}" fill="#555">{:.0} ops/s, p99 {}</text>"##,
            legend_x + 18.0,
            legend_x + 24.0,
            legend_y + 4.0,
            escape(&shortened(&report.setup.label)),
            legend_x + 24.0,
            legend_y + 18.0,
            report.ops_per_sec,
            format_ms(report.latency_us.p99 as f64 / 1000.0)
        );
    }
    svg.push_str("</svg>\n");
    svg
}

/// The smallest 1, 2 or 5 × 10^k at or above `value` (at least 0.1).
fn nice_ceiling(value: f64) -> f64 {
    let mut step = 0.1;
    loop {
        for factor in [1.0, 2.0, 5.0] {
            if step * factor >= value {
                return step * factor;
            }
        }
        step *= 10.0;
    }
}

fn format_ms(ms: f64) -> String {
    if ms >= 10.0 || ms == 0.0 {
        format!("{ms:.0} ms")
    } else {
        format!("{ms:.2} ms")
    }
}

/// Legend labels longer than this are cut with an ellipsis.
const MAX_LABEL_CHARS: usize = 44;

fn shortened(label: &str) -> String {
    if label.chars().count() <= MAX_LABEL_CHARS {
        return label.to_owned();
    }
    let mut cut: String = label.chars().take(MAX_LABEL_CHARS - 1).collect();
    cut.push('…');
    cut
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nice_ceilings_round_up_to_one_two_five() {
        assert_eq!(nice_ceiling(0.03), 0.1);
        assert_eq!(nice_ceiling(1.3), 2.0);
        assert_eq!(nice_ceiling(4.9), 5.0);
        assert_eq!(nice_ceiling(7.0), 10.0);
        assert_eq!(nice_ceiling(120.0), 200.0);
    }

    #[test]
    fn long_labels_are_cut() {
        assert_eq!(shortened("short"), "short");
        let long = "x".repeat(60);
        assert_eq!(shortened(&long).chars().count(), MAX_LABEL_CHARS);
        assert!(shortened(&long).ends_with('…'));
    }

    #[test]
    fn labels_are_escaped() {
        assert_eq!(escape("a<b & \"c\""), "a&lt;b &amp; &quot;c&quot;");
    }
}
