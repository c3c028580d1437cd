// a tuple field `t.0`
use grad::derive_gradient;

fn pair(x: f64) -> (f64, f64) {
    (x, 2.0 * x)
}

#[derive_gradient]
fn f(x: f64) -> f64 {
    let a = pair(x).0;
    a * x
}

fn main() {}
