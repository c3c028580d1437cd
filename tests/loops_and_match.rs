//! `loop`, `break` (with a value, labelled), `continue`, `return` anywhere, `while` with
//! `break`, `match` (literals, ranges, `|`, guards, as statement and expression), closures
//! (bound with `let`, capturing, called), tuples as values and the results of annotated
//! calls used without annotations. Each function is checked against its analytic gradient
//! where it has a short one, central finite differences, its pushforward and its pullback.

// `s = s * ..` is the form under test (a value updated from itself), not `*=`.
#![allow(clippy::assign_op_pattern)]
#![allow(
    clippy::needless_range_loop,
    clippy::never_loop,
    clippy::match_overlapping_arm
)]

mod common;

use grad::derive_gradient;

const X: [f64; 5] = [0.7, -1.3, 2.1, 0.4, -0.6];

mod loop_break_value {
    use super::*;
    /// Halves until below 1 (data-dependent trip count), then returns the count-weighted value.
    #[derive_gradient]
    pub fn f(x: &[f64]) -> f64 {
        let mut y = x[0] * x[0] + 3.0;
        let mut k = 0;
        let r = loop {
            y = y * 0.5;
            k += 1;
            if y < 1.0 {
                break y * k as f64;
            }
        };
        r + x[1]
    }
}

mod while_break_continue {
    use super::*;
    #[derive_gradient]
    pub fn f(x: &[f64]) -> f64 {
        let mut s = 0.0;
        let mut i = 0;
        while i < x.len() {
            let v = x[i];
            i += 1;
            if v < 0.0 {
                continue;
            }
            if s > 5.0 {
                break;
            }
            s += v * v;
        }
        s
    }
}

mod for_break_continue {
    use super::*;
    #[derive_gradient]
    pub fn f(x: &[f64]) -> f64 {
        let mut s = 1.0;
        for i in 0..x.len() {
            if i == 1 {
                continue;
            }
            s = s * (1.0 + x[i].sin());
            if s > 3.0 {
                break;
            }
        }
        s
    }
}

mod labelled {
    use super::*;
    #[derive_gradient]
    pub fn f(x: &[f64]) -> f64 {
        let mut s = 0.0;
        'rows: for i in 0..x.len() {
            for j in 0..x.len() {
                if j > i {
                    continue 'rows;
                }
                if x[i] * x[j] > 1.5 {
                    break 'rows;
                }
                s += x[i] * x[j];
            }
        }
        s
    }
}

mod return_in_loop {
    use super::*;
    /// The first element above a threshold, squared; the sum if there is none.
    #[derive_gradient]
    pub fn f(x: &[f64]) -> f64 {
        let mut total = 0.0;
        for &v in x.iter() {
            if v > 2.0 {
                return v * v;
            }
            total += v;
        }
        total
    }
}

mod return_in_nested_blocks {
    use super::*;
    #[derive_gradient]
    pub fn f(x: &[f64]) -> f64 {
        let a = x[0] * 2.0;
        let b = {
            let t = a.exp();
            if t > 100.0 {
                return t;
            }
            t + x[1]
        };
        let mut c = b;
        while c < 10.0 {
            c = c * 1.5 + x[2].abs();
            if c > 8.0 {
                return c * x[3];
            }
        }
        c
    }
}

mod match_statement_and_expression {
    use super::*;
    #[derive_gradient]
    pub fn f(x: &[f64]) -> f64 {
        let mut s = 0.0;
        for i in 0..x.len() {
            let w = match i {
                0 => 1.0,
                1 | 2 => x[i],
                3..=4 if x[i] > 0.0 => x[i].sqrt(),
                k => k as f64 * 0.5,
            };
            match i % 2 {
                0 => s += w * x[i],
                _ => {
                    s -= w;
                }
            }
        }
        let flag = x[0] > 0.0;
        s + match flag {
            true => x[0].sin(),
            false => x[0].cos(),
        }
    }
}

mod match_on_ordering {
    use super::*;
    #[derive_gradient]
    pub fn f(x: &[f64]) -> f64 {
        match x[0].total_cmp(&x[1]) {
            std::cmp::Ordering::Less => x[0] * x[1],
            std::cmp::Ordering::Equal => 0.0,
            std::cmp::Ordering::Greater => x[0] - x[1],
        }
    }
}

mod match_returns_in_arms {
    use super::*;
    #[derive_gradient]
    pub fn f(x: &[f64]) -> f64 {
        let mut s = 0.0;
        for i in 0..x.len() {
            match i {
                3 => return s * x[i],
                _ => s += x[i] * x[i],
            }
        }
        s
    }
}

mod closures {
    use super::*;
    #[derive_gradient]
    pub fn f(x: &[f64]) -> f64 {
        let scale = x[0];
        let sq = |v: f64| v * v;
        let weighted = |v: f64, i: usize| scale * v * i as f64;
        let mut count = 0;
        let mut bump = |v: f64| {
            count += 1;
            v.tanh()
        };
        let mut s = 0.0;
        for (i, &v) in x.iter().enumerate() {
            s += sq(v) + weighted(v, i) + bump(v);
        }
        s / count as f64
    }
}

mod tuples {
    use super::*;
    #[derive_gradient]
    pub fn f(x: &[f64]) -> f64 {
        let p = (x[0] * x[1], x[2].exp());
        let (a, b) = p;
        let mut q = (a, 0.0);
        q.1 = b * 2.0;
        let ((c, d), e) = ((q.0, q.1), x[3]);
        c * d + e + p.0
    }
}

mod callee {
    use super::*;
    #[derive_gradient]
    pub fn pair(a: f64, b: f64) -> (f64, f64) {
        (a * b, a + b)
    }
    #[derive_gradient]
    pub fn three(a: f64) -> [f64; 3] {
        [a, a * a, a.sin()]
    }
    #[derive_gradient]
    pub fn squares(x: &[f64]) -> Vec<f64> {
        x.iter().map(|v| v * v).collect()
    }
}

mod unannotated_calls {
    use super::callee::*;
    use super::*;
    #[derive_gradient]
    pub fn f(x: &[f64]) -> f64 {
        let (p, s) = pair(x[0], x[1]);
        let t = pair(x[2], x[3]);
        let v = three(x[4]);
        let w = squares(x);
        p * s + t.0 - t.1 + v[1] * v[2] + w[2] + w.iter().sum::<f64>()
    }
}

#[test]
fn loop_with_break_value() {
    check!(loop_break_value, X);
    check!(loop_break_value, [3.0, 0.5]);
}

#[test]
fn while_with_break_and_continue() {
    check!(while_break_continue, X);
    check!(while_break_continue, [2.0, 1.5, -1.0, 0.5, 3.0]);
}

#[test]
fn for_with_break_and_continue() {
    check!(for_break_continue, X);
    check!(for_break_continue, [1.2, 0.3, 1.5, 0.9, 0.1]);
}

#[test]
fn labelled_break_and_continue() {
    check!(labelled, X);
    check!(labelled, [0.5, 0.9, 1.1, -0.3, 0.2]);
}

#[test]
fn return_inside_a_loop() {
    check!(return_in_loop, X, |x: &[f64]| {
        let mut g = vec![0.0; x.len()];
        g[2] = 2.0 * x[2];
        g
    });
    check!(return_in_loop, [0.5, 1.0, -0.3], |x: &[f64]| vec![
        1.0;
        x.len()
    ]);
}

#[test]
fn return_inside_nested_blocks_and_while() {
    check!(return_in_nested_blocks, [0.1, 0.3, 0.5, 2.0]);
    check!(return_in_nested_blocks, [2.5, 0.3, 0.5, 2.0]);
    check!(return_in_nested_blocks, [-2.0, 0.3, 0.5, 2.0]);
}

#[test]
fn match_as_statement_and_expression() {
    check!(match_statement_and_expression, X);
    check!(match_statement_and_expression, [-0.4, 1.0, 0.2, -0.9, 1.6]);
}

#[test]
fn match_on_total_cmp() {
    check!(match_on_ordering, [0.5, 1.5], |x: &[f64]| vec![x[1], x[0]]);
    check!(match_on_ordering, [2.5, 1.5], |_: &[f64]| vec![1.0, -1.0]);
}

#[test]
fn match_arms_that_return() {
    check!(match_returns_in_arms, X);
}

#[test]
fn closures_capturing_and_mutating() {
    check!(closures, X);
}

#[test]
fn tuple_locals_fields_and_nested_patterns() {
    check!(tuples, X, |x: &[f64]| {
        let e2 = x[2].exp();
        vec![
            x[1] * 2.0 * e2 + x[1],
            x[0] * 2.0 * e2 + x[0],
            x[0] * x[1] * 2.0 * e2,
            1.0,
        ]
    });
}

#[test]
fn results_of_annotated_calls_without_annotations() {
    check!(unannotated_calls, X);
}
