// the attribute on something that is not a function
use grad::derive_gradient;

#[derive_gradient]
struct Point {
    x: f64,
}

fn main() {}
