// the Hessian of a function that calls one without `hessian`
use grad::derive_gradient;

#[derive_gradient]
fn inner(a: f64) -> f64 {
    a * a
}

#[derive_gradient(hessian)]
fn outer(x: f64) -> f64 {
    inner(x) * x
}

fn main() {}
