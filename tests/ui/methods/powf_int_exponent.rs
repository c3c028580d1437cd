// `powf` with an integer exponent
use grad::derive_gradient;

#[derive_gradient]
fn f(x: f64) -> f64 {
    x.powf(2)
}

fn main() {}
