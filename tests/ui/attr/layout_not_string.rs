// `layout` takes a string literal
use grad::derive_gradient;

#[derive_gradient(layout = denominator)]
fn f(x: f64, y: f64) -> [f64; 2] {
    [x * y, x + y]
}

fn main() {}
