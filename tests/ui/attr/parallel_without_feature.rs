// `parallel` needs grad's `parallel` feature (rayon); this crate uses grad without it
use grad::derive_gradient;

#[derive_gradient(parallel, wrt(w))]
fn loss(w: f64, x: &[f64]) -> f64 {
    let mut s = 0.0;
    for i in 0..x.len() {
        s += (w * x[i]).powi(2);
    }
    s
}

fn main() {}
