// An enum is not a differentiable shape: its variants hold different data.
use grad::derive_gradient;

pub enum Shape {
    Circle(f64),
    Square(f64),
}

#[derive_gradient]
fn area(s: &Shape, k: f64) -> f64 {
    match s {
        Shape::Circle(r) => k * r * r,
        Shape::Square(a) => k * a * a,
    }
}

fn main() {}
