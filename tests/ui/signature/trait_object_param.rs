// A closure or trait object parameter: the macro cannot see its body, so it cannot
// differentiate through it.
use grad::derive_gradient;

#[derive_gradient]
fn apply(f: &dyn Fn(f64) -> f64, x: f64) -> f64 {
    f(x) * x
}

fn main() {}
