// `hessian` on a function with a vector result
use grad::derive_gradient;

#[derive_gradient(hessian)]
fn f(x: f64) -> [f64; 2] {
    [x * x, x]
}

fn main() {}
