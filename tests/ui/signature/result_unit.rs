// a `()` result
use grad::derive_gradient;

#[derive_gradient]
fn f(x: f64) -> () {
    let _y = x * x;
}

fn main() {}
