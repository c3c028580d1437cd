// `sin_cos`, which returns a tuple
use grad::derive_gradient;

#[derive_gradient]
fn f(x: f64) -> f64 {
    let (s, c) = x.sin_cos();
    s * c
}

fn main() {}
