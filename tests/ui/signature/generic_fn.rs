// a generic function
use grad::derive_gradient;

#[derive_gradient]
fn f<T: Copy>(x: f64, _t: T) -> f64 {
    x * x
}

fn main() {}
