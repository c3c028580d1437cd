// a `const fn`
use grad::derive_gradient;

#[derive_gradient]
const fn f(x: f64) -> f64 {
    x
}

fn main() {}
