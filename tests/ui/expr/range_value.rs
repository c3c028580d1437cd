// a range used as a value
use grad::derive_gradient;

#[derive_gradient]
fn f(x: f64) -> f64 {
    let _r = 0..3;
    x
}

fn main() {}
