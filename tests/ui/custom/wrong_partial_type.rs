// a partial derivative that is not a float
use grad::custom_gradient;

#[custom_gradient(x = [1.0, 2.0])]
fn sq(x: f64) -> f64 {
    x * x
}

fn main() {}
