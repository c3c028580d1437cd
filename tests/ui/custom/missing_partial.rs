// a custom rule without the partial for one parameter
use grad::custom_gradient;

#[custom_gradient(a = b)]
fn product(a: f64, b: f64) -> f64 {
    a * b
}

fn main() {}
