// a struct literal
use grad::derive_gradient;

struct P {
    x: f64,
}

#[derive_gradient]
fn f(x: f64) -> f64 {
    let _p = P { x };
    x
}

fn main() {}
