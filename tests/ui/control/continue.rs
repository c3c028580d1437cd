// `continue` in a `for` loop
use grad::derive_gradient;

#[derive_gradient]
fn f(x: f64, n: usize) -> f64 {
    let mut y = x;
    for i in 0..n {
        if i == 2 {
            continue;
        }
        y = y * x;
    }
    y
}

fn main() {}
