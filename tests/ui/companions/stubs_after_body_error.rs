// on a body error the companions still exist with the right signatures: only the macro's error appears
use grad::derive_gradient;

#[derive_gradient]
fn f(x: f64) -> f64 {
    x.rem_euclid(2.0)
}

#[derive_gradient]
fn g(x: f64, w: [f64; 2]) -> [f64; 2] {
    [x.rem_euclid(2.0), w[0]]
}

fn main() {
    let (value, dx): (f64, f64) = f_grad(1.0);
    let mut gx = 0.0;
    let v: f64 = f_grad_into(1.0, &mut gx);
    let (v2, t): (f64, f64) = f_pushforward(1.0, 1.0);
    let (j, jac): ([f64; 2], grad::Jacobian<f64>) = g_jacobian(1.0, [1.0, 2.0]);
    let _ = (value, dx, v, v2, t, j, jac);
}
