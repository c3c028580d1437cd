// a result that is not a float
use grad::derive_gradient;

#[derive_gradient]
fn f(x: f64) -> i32 {
    x as i32
}

fn main() {}
