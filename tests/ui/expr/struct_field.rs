// reading a struct field
use grad::derive_gradient;

struct Params {
    scale: f64,
}

const P: Params = Params { scale: 2.0 };

#[derive_gradient]
fn f(x: f64) -> f64 {
    x * P.scale
}

fn main() {}
