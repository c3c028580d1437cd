// a `mut` loop variable
use grad::derive_gradient;

#[derive_gradient]
fn f(x: f64, n: usize) -> f64 {
    let mut y = x;
    for mut i in 0..n {
        i += 1;
        y = y * i as f64;
    }
    y
}

fn main() {}
