// the workaround the unknown-name message suggests: `let c: f64 = SCALE;`
use grad::derive_gradient;

const SCALE: f64 = 2.0;

#[derive_gradient]
fn f(x: f64) -> f64 {
    let c: f64 = SCALE;
    x * c
}

fn main() {}
