//! The seed's ReLU neuron, trained by gradient descent with the generated `loss_grad_into`, drawn
//! with [plotters] into `docs/relu_neuron.svg`: (a) the training loss per epoch on a log scale,
//! against the noise floor; (b) the data and the neuron `max(0, w x + b)` as it learns, against
//! the true one.
//!
//! The model and the loss are those of `examples/relu_neuron.rs` (MATH.md item 7),
//!
//! ```text
//! C(w, b) = (1/N) sum_i (y_i - max(0, w . X_i + b))^2,
//! ```
//!
//! here with inputs of dimension d = 1 so that the fit can be drawn over the data. Each epoch is
//! one full-batch gradient step.
//!
//! Regenerate the picture with
//!
//! ```text
//! cargo run -p grad-dev --example relu_neuron_plot
//! ```
//!
//! (or pass another output path as the only argument). The data come from a fixed seed, so
//! the file is the same on every run.
//!
//! [plotters]: https://docs.rs/plotters

use std::error::Error;
use std::path::{Path, PathBuf};

use grad::derive_gradient;
use grad::runtime::XorShift64;
use plotters::prelude::*;

/// The mean squared error of the neuron `max(0, w . x + b)` over `n` samples, the rows of the
/// flat row-major `n x d` matrix `x` (the seed's loss, unchanged).
#[derive_gradient(wrt(w, b))]
fn loss(w: &[f64], b: f64, x: &[f64], y: &[f64], n: usize, d: usize) -> f64 {
    let mut total = 0.0;
    for i in 0..n {
        let mut z = b;
        for j in 0..d {
            z += w[j] * x[i * d + j];
        }
        let r = y[i] - z.max(0.0);
        total += r * r;
    }
    total / n as f64
}

const SEED: u64 = 2024;
const N: usize = 200;
const TRUE_W: f64 = 1.5;
const TRUE_B: f64 = -0.3;
const NOISE: f64 = 0.05;
const LEARNING_RATE: f64 = 0.5;
const EPOCHS: usize = 300;
/// The epochs at which panel (b) draws the neuron being learned (and the last one).
const SNAPSHOTS: [usize; 4] = [0, 10, 30, 100];

fn main() -> Result<(), Box<dyn Error>> {
    // `docs/` of the workspace, whatever the directory it runs from.
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    let out = std::env::args_os().nth(1).map_or_else(
        || workspace.join("docs").join("relu_neuron.svg"),
        PathBuf::from,
    );

    // The data: x uniform in [-1, 1], y = max(0, w* x + b*) + noise * N(0, 1).
    let mut rng = XorShift64::new(SEED);
    let x: Vec<f64> = (0..N).map(|_| rng.uniform(-1.0, 1.0)).collect();
    let y: Vec<f64> = x
        .iter()
        .map(|&xi| relu(TRUE_W, TRUE_B, xi) + NOISE * rng.normal())
        .collect();

    // Training, as in the seed: w = 0 and b = 0.1 make every sample active at the start.
    let (mut w, mut b) = (vec![0.0], 0.1);
    let (mut grad_w, mut grad_b) = (vec![0.0], 0.0);
    let mut losses = Vec::with_capacity(EPOCHS + 1);
    let mut snapshots = Vec::new();
    for epoch in 0..=EPOCHS {
        if SNAPSHOTS.contains(&epoch) || epoch == EPOCHS {
            snapshots.push((epoch, w[0], b));
        }
        losses.push(loss_grad_into(
            &w,
            b,
            &x,
            &y,
            N,
            1,
            &mut grad_w,
            &mut grad_b,
        ));
        w[0] -= LEARNING_RATE * grad_w[0];
        b -= LEARNING_RATE * grad_b;
    }
    // The loss of the true neuron on the same data: no fit can go much below it.
    let floor = loss(&[TRUE_W], TRUE_B, &x, &y, N, 1);
    let (w, b) = (snapshots.last().unwrap().1, snapshots.last().unwrap().2);
    println!("trained on {N} samples for {EPOCHS} epochs");
    println!(
        "  loss {:.3e} -> {:.3e} (noise floor {floor:.3e})",
        losses[0], losses[EPOCHS]
    );
    println!("  w = {w:.4} (true {TRUE_W}), b = {b:.4} (true {TRUE_B})");

    if let Some(dir) = out.parent() {
        std::fs::create_dir_all(dir)?;
    }
    draw(&out, &x, &y, &losses, floor, &snapshots)?;
    println!("wrote {}", out.display());
    Ok(())
}

fn relu(w: f64, b: f64, x: f64) -> f64 {
    (w * x + b).max(0.0)
}

/// The two panels, side by side.
fn draw(
    out: &Path,
    x: &[f64],
    y: &[f64],
    losses: &[f64],
    floor: f64,
    snapshots: &[(usize, f64, f64)],
) -> Result<(), Box<dyn Error>> {
    let root = SVGBackend::new(out, (1100, 460)).into_drawing_area();
    root.fill(&WHITE)?;
    let (left, right) = root.split_horizontally(550);
    let font = ("sans-serif", 14);

    // (a) The loss per epoch, log scale.
    let top = losses.iter().cloned().fold(f64::MIN, f64::max) * 2.0;
    let bottom = floor / 2.0;
    let mut chart = ChartBuilder::on(&left)
        .caption("(a) training loss", ("sans-serif", 20))
        .margin(15)
        .x_label_area_size(40)
        .y_label_area_size(60)
        .build_cartesian_2d(0..losses.len(), (bottom..top).log_scale())?;
    chart
        .configure_mesh()
        .x_desc("epoch (one full-batch gradient step)")
        .y_desc("mean squared error")
        .y_label_formatter(&|v| format!("{v:.0e}"))
        .label_style(font)
        .light_line_style(TRANSPARENT)
        .draw()?;
    chart
        .draw_series(LineSeries::new(
            losses.iter().enumerate().map(|(i, &c)| (i, c)),
            BLUE.stroke_width(2),
        ))?
        .label("loss C(w, b)")
        .legend(|(x, y)| PathElement::new([(x, y), (x + 20, y)], BLUE.stroke_width(2)));
    let gray = RGBColor(90, 90, 90);
    chart
        .draw_series(DashedLineSeries::new(
            [(0, floor), (losses.len(), floor)],
            6,
            4,
            gray.stroke_width(1),
        ))?
        .label(format!("noise floor (loss of the true neuron) {floor:.2e}"))
        .legend(move |(x, y)| PathElement::new([(x, y), (x + 8, y)], gray));
    chart
        .configure_series_labels()
        .label_font(font)
        .background_style(WHITE.mix(0.9))
        .border_style(BLACK)
        .draw()?;

    // (b) The data and the neuron.
    let (y_lo, y_hi) = y
        .iter()
        .fold((0.0f64, 0.0f64), |(lo, hi), &v| (lo.min(v), hi.max(v)));
    let mut chart = ChartBuilder::on(&right)
        .caption(
            "(b) the neuron max(0, w x + b) learning",
            ("sans-serif", 20),
        )
        .margin(15)
        .x_label_area_size(40)
        .y_label_area_size(50)
        .build_cartesian_2d(-1.0..1.0, (y_lo - 0.1)..(y_hi + 0.1))?;
    chart
        .configure_mesh()
        .x_desc("x")
        .y_desc("y")
        .label_style(font)
        .light_line_style(TRANSPARENT)
        .draw()?;
    let dots = RGBColor(120, 120, 120);
    chart
        .draw_series(
            x.iter()
                .zip(y)
                .map(|(&a, &b)| Circle::new((a, b), 2, dots.filled())),
        )?
        .label(format!("data ({} samples)", x.len()))
        .legend(move |(x, y)| Circle::new((x + 10, y), 3, dots.filled()));
    let grid: Vec<f64> = (0..=400).map(|i| -1.0 + i as f64 / 200.0).collect();
    for (k, &(epoch, w, b)) in snapshots.iter().enumerate() {
        // From light orange (early) to dark red (trained).
        let t = k as f64 / (snapshots.len() - 1) as f64;
        let color = RGBColor(
            (250.0 - 70.0 * t) as u8,
            (170.0 - 170.0 * t) as u8,
            (60.0 - 60.0 * t) as u8,
        );
        chart
            .draw_series(LineSeries::new(
                grid.iter().map(|&t| (t, relu(w, b, t))),
                color.stroke_width(2),
            ))?
            .label(format!("epoch {epoch}: w = {w:.3}, b = {b:.3}"))
            .legend(move |(x, y)| PathElement::new([(x, y), (x + 20, y)], color.stroke_width(2)));
    }
    // The true neuron last, dashed over the fits.
    chart
        .draw_series(DashedLineSeries::new(
            grid.iter().map(|&t| (t, relu(TRUE_W, TRUE_B, t))),
            8,
            5,
            BLACK.stroke_width(1),
        ))?
        .label(format!("true: w = {TRUE_W}, b = {TRUE_B}"))
        .legend(|(x, y)| PathElement::new([(x, y), (x + 8, y)], BLACK));
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperLeft)
        .label_font(font)
        .background_style(WHITE.mix(0.9))
        .border_style(BLACK)
        .draw()?;

    root.present()?;
    Ok(())
}
