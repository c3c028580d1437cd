// an item (`const`) declared inside the body
use grad::derive_gradient;

#[derive_gradient]
fn f(x: f64) -> f64 {
    const TWO: f64 = 2.0;
    x * TWO
}

fn main() {}
