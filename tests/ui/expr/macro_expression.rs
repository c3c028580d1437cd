// a macro other than `vec!` in an expression
use grad::derive_gradient;

#[derive_gradient]
fn f(x: f64) -> f64 {
    let y = dbg!(x);
    y * y
}

fn main() {}
