// a `let` annotated with an unsupported type
use grad::derive_gradient;

#[derive_gradient]
fn f(x: f64) -> f64 {
    let _s: String = String::new();
    x
}

fn main() {}
