// a string literal
use grad::derive_gradient;

#[derive_gradient]
fn f(x: f64) -> f64 {
    let _s = "x";
    x
}

fn main() {}
