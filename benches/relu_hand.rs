//! The hand-written fused gradient of the seed's ReLU-neuron loss, the baseline of
//! `relu_neuron.rs` and `parallel.rs`.

#![allow(clippy::needless_range_loop)]

/// Hand-written fused gradient into caller buffers: one pass over the rows computing z_i and
/// r_i, then `g_w[j] += coef * x[i*d+j]` for active rows. Returns the loss.
#[allow(clippy::too_many_arguments)]
pub fn hand_fused_into(
    w: &[f64],
    b: f64,
    x: &[f64],
    y: &[f64],
    n: usize,
    d: usize,
    g_w: &mut [f64],
    g_b: &mut f64,
) -> f64 {
    g_w.fill(0.0);
    let scale = -2.0 / n as f64;
    let mut gb = 0.0;
    let mut total = 0.0;
    for i in 0..n {
        let mut z = b;
        for j in 0..d {
            z += w[j] * x[i * d + j];
        }
        let r = y[i] - z.max(0.0);
        total += r * r;
        if z > 0.0 {
            let coef = scale * r;
            gb += coef;
            for j in 0..d {
                g_w[j] += coef * x[i * d + j];
            }
        }
    }
    *g_b = gb;
    total / n as f64
}
