// `return` inside a block expression
use grad::derive_gradient;

#[derive_gradient]
fn f(x: f64) -> f64 {
    let y = {
        return x;
    };
    y
}

fn main() {}
