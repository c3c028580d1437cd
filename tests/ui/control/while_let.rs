// `while let`
use grad::derive_gradient;

#[derive_gradient]
fn f(x: f64, n: usize) -> f64 {
    let mut y = x;
    let mut k = n;
    while let 1.. = k {
        y = y * x;
        k -= 1;
    }
    y
}

fn main() {}
