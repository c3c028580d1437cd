// `wrt` names an integer parameter, which is not differentiable
use grad::derive_gradient;

#[derive_gradient(wrt(n))]
fn f(x: f64, n: usize) -> f64 {
    x * n as f64
}

fn main() {}
