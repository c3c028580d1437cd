// an `async fn`
use grad::derive_gradient;

#[derive_gradient]
async fn f(x: f64) -> f64 {
    x * x
}

fn main() {}
