// `parallel` regroups the sums over samples; `strict` asks for the function's exact value
use grad::derive_gradient;

#[derive_gradient(strict, parallel)]
fn loss(w: f64, x: &[f64]) -> f64 {
    let mut s = 0.0;
    for i in 0..x.len() {
        s += (w * x[i]).powi(2);
    }
    s
}

fn main() {}
