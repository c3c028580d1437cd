// `let x;` without an initial value
use grad::derive_gradient;

#[derive_gradient]
fn f(x: f64) -> f64 {
    let y;
    y = x * x;
    y
}

fn main() {}
