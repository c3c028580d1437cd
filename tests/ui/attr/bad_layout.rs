// `layout` must be `numerator` or `denominator`
use grad::derive_gradient;

#[derive_gradient(layout = "diagonal")]
fn f(x: f64, y: f64) -> [f64; 2] {
    [x * y, x + y]
}

fn main() {}
