// a tuple bound to a single name
use grad::derive_gradient;

#[derive_gradient]
fn f(x: f64) -> f64 {
    let _t = (x, x * x);
    x
}

fn main() {}
