// an unsupported float method: `floor`
use grad::derive_gradient;

#[derive_gradient]
fn f(x: f64) -> f64 {
    x.floor()
}

fn main() {}
