// several mistakes in one function are all reported together
use grad::derive_gradient;

#[derive_gradient]
fn f(x: f64, v: &[f64], n: usize) -> f64 {
    let _a = x.rem_euclid(2.0);
    let _b = n << 1;
    let _c = x as f32;
    let mut s = 0.0;
    if let Some(e) = v.first() {
        s += *e;
    }
    println!("{s}");
    s
}

fn main() {}
