//! The SVG plots of a run: resources Ready over time against the floor (`ready-N.svg`), and
//! per polling configuration (`ready-policies.svg`).

use std::path::Path;

use anyhow::Result;
use plotters::style::RGBColor;

/// The x axis of both plots.
const X_LABEL: &str = "time since the first POST (s)";
/// The y axis of both plots.
const Y_LABEL: &str = "resources Ready (count)";
/// The grey of the reference line each plot compares against (the floor, imports ended).
const REFERENCE_GREY: RGBColor = RGBColor(160, 160, 160);
/// The colours of the policy plot's lines, in the order of `POLICIES`.
const POLICY_COLOURS: [RGBColor; 4] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(214, 39, 40),
];

/// One line of a plot, named in the legend.
struct Line {
    label: String,
    colour: RGBColor,
    width: u32,
    /// (seconds, count)
    points: Vec<(f64, f64)>,
}

/// An 800×500 SVG chart of counts over seconds: a title, axes with units and tick labels, a
/// grid every `x_step` seconds and every tenth of `y_max`, and a legend naming each line. SVG
/// keeps text as `<text>` elements, so writing it needs no font files.
fn chart(path: &Path, title: &str, y_max: usize, x_step: f64, lines: &[Line]) -> Result<()> {
    use plotters::prelude::*;
    let end = lines
        .iter()
        .filter_map(|line| line.points.last().map(|p| p.0))
        .fold(1.0, f64::max)
        * 1.05;
    // Headroom above N, so that a line at N is not hidden by the frame.
    let top = y_max.max(1) as f64 * 1.05;
    let y_step = (y_max as f64 / 10.0).ceil().max(1.0);
    let root = SVGBackend::new(path, (800, 500)).into_drawing_area();
    root.fill(&WHITE).map_err(plot_error)?;
    let mut chart = ChartBuilder::on(&root)
        .caption(title, ("sans-serif", 24))
        .margin(15)
        .x_label_area_size(50)
        .y_label_area_size(70)
        .build_cartesian_2d((0.0..end).step(x_step), (0.0..top).step(y_step))
        .map_err(plot_error)?;
    chart
        .configure_mesh()
        .x_desc(X_LABEL)
        .y_desc(Y_LABEL)
        .axis_desc_style(("sans-serif", 17))
        .label_style(("sans-serif", 15))
        .x_labels(16)
        .y_labels(11)
        .x_label_formatter(&|t| format!("{t:.0}"))
        .y_label_formatter(&|n| format!("{n:.0}"))
        .bold_line_style(RGBColor(220, 220, 220))
        .light_line_style(TRANSPARENT)
        .draw()
        .map_err(plot_error)?;
    for line in lines {
        let style = line.colour.stroke_width(line.width);
        chart
            .draw_series(LineSeries::new(line.points.iter().copied(), style))
            .map_err(plot_error)?
            .label(line.label.as_str())
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], style));
    }
    chart
        .configure_series_labels()
        .label_font(("sans-serif", 15))
        // Both plots rise from the lower left, the measured lines below and right of the
        // reference one: the upper left stays empty.
        .position(SeriesLabelPosition::UpperLeft)
        .background_style(WHITE.mix(0.9))
        .border_style(BLACK)
        .draw()
        .map_err(plot_error)?;
    root.present().map_err(plot_error)
}

fn plot_error<E: std::fmt::Debug>(error: E) -> anyhow::Error {
    anyhow::anyhow!("drawing a plot: {error:?}")
}

/// Resources Ready over time, with the floor.
pub(super) fn convergence(
    path: &Path,
    timeline: &[(f64, usize)],
    size: usize,
    rate: f64,
    creating: f64,
) -> Result<()> {
    let last = timeline.last().map(|p| p.0).unwrap_or(0.0);
    // The floor: nothing before Creating ends, then `rate` per second.
    let full = creating + size as f64 / rate;
    let floor = Line {
        label: format!("floor: {creating} s Creating, then {rate} creates/s"),
        colour: REFERENCE_GREY,
        width: 2,
        points: vec![
            (0.0, 0.0),
            (creating, 0.0),
            (full, size as f64),
            (last.max(full), size as f64),
        ],
    };
    let ready = Line {
        label: "Ready".into(),
        colour: plotters::style::BLUE,
        width: 3,
        points: timeline.iter().map(|(t, n)| (*t, *n as f64)).collect(),
    };
    let x_step = if last.max(full) > 600.0 { 60.0 } else { 10.0 };
    chart(
        path,
        &format!("Resources Ready over time, N = {size}"),
        size,
        x_step,
        &[floor, ready],
    )
}

/// Resources Ready over time, one line per polling configuration (colours in `POLICY_COLOURS`),
/// and in grey the imports that had ended in Bedrock: the closer a line follows the grey one,
/// the shorter the lag.
pub(super) fn policies(
    path: &Path,
    series: &[(&str, &[(f64, usize)])],
    active: &[(f64, usize)],
    models: usize,
) -> Result<()> {
    // Steps: a count holds until the next sample.
    let steps = |points: &[(f64, usize)]| {
        let mut out = Vec::new();
        for (i, (t, n)) in points.iter().enumerate() {
            if i > 0 {
                out.push((*t, points[i - 1].1 as f64));
            }
            out.push((*t, *n as f64));
        }
        out
    };
    let mut lines = vec![Line {
        label: "imports ended in Bedrock".into(),
        colour: REFERENCE_GREY,
        width: 4,
        points: steps(active),
    }];
    for ((label, timeline), colour) in series.iter().zip(POLICY_COLOURS) {
        lines.push(Line {
            label: (*label).into(),
            colour,
            width: 2,
            points: steps(timeline),
        });
    }
    chart(
        path,
        &format!("Resources Ready per polling configuration ({models} models each)"),
        models,
        30.0,
        &lines,
    )
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::super::polling::POLICIES;
    use super::*;

    /// The text of every `<text>` element of an SVG file, unescaped.
    fn svg_texts(path: &Path) -> Vec<String> {
        let svg = std::fs::read_to_string(path).expect("the plot was written");
        assert!(svg.contains("<svg"), "not an SVG: {}", path.display());
        svg.split("<text")
            .skip(1)
            .filter_map(|element| {
                let (_, rest) = element.split_once('>')?;
                let (text, _) = rest.split_once("</text>")?;
                Some(
                    text.trim()
                        .replace("&lt;", "<")
                        .replace("&gt;", ">")
                        .replace("&quot;", "\"")
                        .replace("&apos;", "'")
                        .replace("&amp;", "&"),
                )
            })
            .collect()
    }

    /// A scratch directory for one test, removed when dropped.
    struct Scratch(PathBuf);

    impl Scratch {
        fn new(name: &str) -> Self {
            let dir = std::env::temp_dir().join(format!("xtask-{name}-{}", std::process::id()));
            std::fs::create_dir_all(&dir).expect("a scratch dir");
            Self(dir)
        }
    }

    impl Drop for Scratch {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    fn assert_has(texts: &[String], expected: &str) {
        assert!(
            texts.iter().any(|t| t == expected),
            "no text {expected:?} in the plot; texts: {texts:?}"
        );
    }

    #[test]
    fn convergence_plot_has_title_axes_ticks_and_legend() {
        let scratch = Scratch::new("plot-ready");
        let path = scratch.0.join("ready-20.svg");
        let timeline = [(0.0, 0), (10.5, 4), (12.0, 12), (13.5, 20)];
        convergence(&path, &timeline, 20, 10.0, 10.0).unwrap();
        let texts = svg_texts(&path);
        assert_has(&texts, "Resources Ready over time, N = 20");
        assert_has(&texts, "time since the first POST (s)");
        assert_has(&texts, "resources Ready (count)");
        assert_has(&texts, "Ready");
        assert_has(&texts, "floor: 10 s Creating, then 10 creates/s");
        // Tick labels every 10 s and every tenth of N.
        for tick in ["0", "10", "20"] {
            assert_has(&texts, tick);
        }
        assert_has(&texts, "12");
    }

    #[test]
    fn policies_plot_has_title_axes_ticks_and_a_legend_entry_per_configuration() {
        let scratch = Scratch::new("plot-policies");
        let path = scratch.0.join("ready-policies.svg");
        let timelines: Vec<Vec<(f64, usize)>> = (0..POLICIES.len())
            .map(|i| {
                vec![
                    (0.0, 0),
                    (35.0 + 10.0 * i as f64, 3),
                    (65.0 + 10.0 * i as f64, 5),
                ]
            })
            .collect();
        let series: Vec<(&str, &[(f64, usize)])> = POLICIES
            .iter()
            .zip(&timelines)
            .map(|((label, _), timeline)| (*label, timeline.as_slice()))
            .collect();
        let active: Vec<(f64, usize)> = (0..=60).map(|t| (t as f64, t / 12)).collect();
        policies(&path, &series, &active, 5).unwrap();
        let texts = svg_texts(&path);
        assert_has(
            &texts,
            "Resources Ready per polling configuration (5 models each)",
        );
        assert_has(&texts, "time since the first POST (s)");
        assert_has(&texts, "resources Ready (count)");
        assert_has(&texts, "imports ended in Bedrock");
        for label in [
            "default (sweep 10s)",
            "per-model schedule",
            "fixed 30s",
            "fixed 60s",
        ] {
            assert_has(&texts, label);
        }
        // Ticks every 30 s.
        for tick in ["0", "30", "60"] {
            assert_has(&texts, tick);
        }
    }
}
