//! Unit tests of lowering and the transforms, driven without compiling user code: golden
//! IR text for the shapes that matter, and checks on the expanded code.

use crate::expand::expand;
use crate::ir::VarId;
use crate::reverse::{self, ArrayAdjoints};
use crate::{forward, lower, pretty};
use quote::quote;

fn lowered(item: proc_macro2::TokenStream) -> lower::Lowered {
    let item: syn::ItemFn = syn::parse2(item).expect("valid fn");
    lower::lower(&item).unwrap_or_else(|e| panic!("lowering failed: {e}"))
}

/// The golden text of a reverse transform: `fwd`, then `rev`.
fn reverse_text(item: proc_macro2::TokenStream, wrt: &[usize]) -> String {
    let mut l = lowered(item);
    let wrt: Vec<VarId> = wrt.iter().map(|i| l.func.params[*i]).collect();
    let code = reverse::transform(&mut l.func, &wrt, ArrayAdjoints::Zeroed, true);
    format!(
        "fwd:\n{}rev:\n{}",
        pretty::block(&l.func, &code.fwd),
        pretty::block(&l.func, &code.rev)
    )
}

fn relu_loss() -> proc_macro2::TokenStream {
    quote!(
        fn loss(w: &[f64], b: f64, x: &[f64], y: &[f64], n: usize, d: usize) -> f64 {
            let mut total = 0.0;
            for i in 0..n {
                let mut z = b;
                for j in 0..d {
                    z += w[j] * x[i * d + j];
                }
                let r = y[i] - z.max(0.0);
                total += r * r;
            }
            total / n as f64
        }
    )
}

#[test]
fn lowering_is_three_address() {
    let l = lowered(quote!(
        fn f(x: f64, y: f64) -> f64 {
            3.0 * x * x * y
        }
    ));
    assert_eq!(
        pretty::block(&l.func, &l.func.body),
        "t0 = 3.0 * x\nt1 = t0 * x\nt2 = t1 * y\nresult = t2\n"
    );
}

#[test]
fn straight_line_reverse_needs_no_saves() {
    let text = reverse_text(
        quote!(
            fn f(x: f64, y: f64) -> f64 {
                3.0 * x * x * y
            }
        ),
        &[0, 1],
    );
    assert_eq!(
        text,
        "fwd:\nt0 = 3.0 * x\nt1 = t0 * x\nt2 = t1 * y\nresult = t2\n\
         rev:\nadj_t2 += adj_result\nadj_result = 0\n\
         adj_t1 += (adj_t2 * y)\nadj_y += (adj_t2 * t1)\nadj_t2 = 0\n\
         adj_t0 += (adj_t1 * x)\nadj_x += (adj_t1 * t0)\nadj_t1 = 0\n\
         adj_x += (adj_t0 * 3.0)\nadj_t0 = 0\n"
    );
}

/// The seed's ReLU loss: one fused pass (the outer loop computes the value and the gradient
/// of each term), the inner dot product and its adjoint (an axpy) through the vectorised
/// kernels, the gradient of `w` written straight into the caller's buffer and scaled once at
/// the end; no stack anywhere: what a person writes by hand.
#[test]
fn relu_loss_gradient_is_one_fused_pass() {
    let text = reverse_text(relu_loss(), &[0, 1]);
    let expected = "\
fwd:
total = 0.0
t0 = 0
t1 = n
unit_seed0 = 1.0
partial_b = 0
for i in t0..t1 {
  save0 <- z
  z = b
  t2 = 0
  t3 = d
  save1 <- z
  t5 = int.Mul(i, d)
  z += dot(w[0 + t2..0 + t3], x[t5 + t2..t5 + t3])
  t9 = y[i]
  t10 = z.max(0.0)
  t11 = t9 - t10
  r = t11
  t12 = r * r
  total += t12
  adj_t12 += unit_seed0
  adj_r += (adj_t12 * r)
  adj_r += (adj_t12 * r)
  adj_t12 = 0
  adj_t11 += adj_r
  adj_r = 0
  adj_t10 += -adj_t11
  adj_t11 = 0
  adj_z += (adj_t10 * select(((z Gt 0.0) || 0.0.is_nan()), 1.0, 0.0))
  adj_t10 = 0
  t5 = int.Mul(i, d)
  adj_w[0 + t2..0 + t3] += adj_z * x[t5 + t2..t5 + t3]
  z <- save1
  partial_b += adj_z
  adj_z = 0
  z <- save0
}
t13 = n as f64
t14 = total / t13
result = t14
rev:
adj_t14 += adj_result
adj_result = 0
adj_total += guarded(adj_t14 * (1.0 / t13))
adj_t14 = 0
adj_w *= adj_total
adj_b += adj_total * partial_b
adj_total = 0
";
    assert_eq!(text, expected, "got:\n{text}");
}

#[test]
fn general_loop_saves_on_stacks() {
    let text = reverse_text(
        quote!(
            fn power(x: f64, n: usize) -> f64 {
                let mut p = 1.0;
                for _ in 0..n {
                    p = p * x;
                }
                p
            }
        ),
        &[0],
    );
    // `p` is overwritten in every iteration and read by the product's derivative: its old
    // value goes on a stack in the forward sweep and comes back in the reverse sweep.
    assert!(text.contains("save1 <- p"), "{text}");
    assert!(text.contains("for t2 in (t0..t1).rev() {"), "{text}");
}

#[test]
fn forward_mode_interleaves_tangents() {
    let mut l = lowered(quote!(
        fn f(x: f64) -> f64 {
            x.sin() * x
        }
    ));
    let x = l.func.params[0];
    let code = forward::transform(&mut l.func, &[x]);
    assert_eq!(
        pretty::block(&l.func, &code.body),
        "t0 = x.sin()\ntan_t0 = select((x.cos() Eq 0.0), 0.0, guarded(tan_x * x.cos()))\n\
         t1 = t0 * x\ntan_t1 = (select((x Eq 0.0), 0.0, guarded(tan_t0 * x)) + \
         select((t0 Eq 0.0), 0.0, guarded(tan_x * t0)))\nresult = t1\ntan_result = tan_t1\n"
    );
}

#[test]
fn expanded_relu_gradient_has_no_stack_and_no_allocation() {
    let out = expand(quote!(wrt(w, b)), relu_loss()).to_string();
    let grad_into = &out[out.find("fn loss_grad_into").expect("grad_into")..];
    let grad_into = &grad_into[..grad_into
        .find("fn loss_grad (")
        .expect("grad after grad_into")];
    assert!(!grad_into.contains("push"), "{grad_into}");
    assert!(!grad_into.contains("Vec"), "{grad_into}");
    assert!(grad_into.contains("kernels :: dot"), "{grad_into}");
}

#[test]
fn strict_keeps_the_user_summation_order() {
    let out = expand(quote!(wrt(w, b), strict), relu_loss()).to_string();
    assert!(!out.contains("kernels :: dot"), "{out}");
}

#[test]
fn errors_are_collected_and_companions_stubbed() {
    let out = expand(
        quote!(),
        quote!(
            fn f(x: f64) -> f64 {
                let a = x.floor();
                let b = |y| y;
                a
            }
        ),
    )
    .to_string();
    assert_eq!(out.matches("compile_error").count(), 2, "{out}");
    assert!(out.contains("fn f_grad"), "{out}");
    assert!(out.contains("unreachable"), "{out}");
}
