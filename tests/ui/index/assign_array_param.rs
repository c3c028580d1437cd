// assigning a whole array parameter
use grad::derive_gradient;

#[derive_gradient]
fn f(mut x: [f64; 2]) -> f64 {
    x = [x[1], x[0]];
    x[0] * x[1]
}

fn main() {}
