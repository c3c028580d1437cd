// the stub companions emitted on a body error have the real signatures: each `let () = ..` mismatch prints one
use grad::derive_gradient;

#[derive_gradient]
fn f(x: f64, w: [f64; 2], n: usize) -> f64 {
    x.rem_euclid(2.0) * w[0] * n as f64
}

#[derive_gradient]
fn g(x: f64, v: &[f64]) -> (f64, f64) {
    (x.rem_euclid(2.0), v[0])
}

fn main() {
    let () = f_grad;
    let () = f_grad_into;
    let () = f_pullback;
    let () = f_pushforward;
    let () = g_jacobian;
    let () = g_jacobian_into;
    let () = g_pullback;
}
