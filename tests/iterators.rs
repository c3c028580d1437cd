//! Iterator chains over slices, arrays and ranges (issue: ordinary Rust I): each function is
//! the iterator form of a loop, checked against its analytic gradient, central finite
//! differences, its pushforward and its pullback (`common::check_slice`).

#![allow(clippy::needless_range_loop)]

mod common;

use grad::derive_gradient;

const X: [f64; 6] = [0.7, -1.3, 2.1, 0.4, -0.6, 1.9];

mod sum {
    use super::*;
    #[derive_gradient]
    pub fn f(x: &[f64]) -> f64 {
        x.iter().sum::<f64>()
    }
}

mod typed_let_sum {
    use super::*;
    #[derive_gradient]
    pub fn f(x: &[f64]) -> f64 {
        let s: f64 = x.iter().map(|v| v * v).sum();
        s * 0.5
    }
}

mod zip_dot {
    use super::*;
    #[derive_gradient]
    pub fn f(x: &[f64]) -> f64 {
        let w = [1.0, 2.0, -1.0, 0.5, 3.0, -2.0];
        x.iter().zip(w.iter()).map(|(a, b)| a * b).sum::<f64>()
    }
}

mod zip_self {
    use super::*;
    #[derive_gradient]
    pub fn f(x: &[f64]) -> f64 {
        x.iter().zip(x).map(|(a, b)| a * b).sum::<f64>()
    }
}

mod enumerate {
    use super::*;
    #[derive_gradient]
    pub fn f(x: &[f64]) -> f64 {
        x.iter()
            .enumerate()
            .map(|(i, v)| (i as f64 + 1.0) * v.sin())
            .sum::<f64>()
    }
}

mod copied_method_path {
    use super::*;
    #[derive_gradient]
    pub fn f(x: &[f64]) -> f64 {
        x.iter().copied().map(f64::tanh).sum::<f64>() + x.iter().cloned().map(f64::exp).sum::<f64>()
    }
}

mod filter_positive {
    use super::*;
    #[derive_gradient]
    pub fn f(x: &[f64]) -> f64 {
        x.iter().filter(|v| **v > 0.0).map(|v| v * v).sum::<f64>()
            + x.iter()
                .filter(|&&v| v < 0.0)
                .map(|&v| v.abs().sqrt())
                .sum::<f64>()
    }
}

mod rev_take_skip_step {
    use super::*;
    #[derive_gradient]
    pub fn f(x: &[f64]) -> f64 {
        let a: f64 = x
            .iter()
            .rev()
            .take(3)
            .enumerate()
            .map(|(i, v)| v * (i + 1) as f64)
            .sum();
        let b: f64 = x.iter().skip(1).step_by(2).map(|v| v.cos()).sum();
        a + b
    }
}

mod chunks_windows {
    use super::*;
    #[derive_gradient]
    pub fn f(x: &[f64]) -> f64 {
        let pairs: f64 = x.chunks_exact(2).map(|c| c[0] * c[1]).sum();
        let steps: f64 = x.windows(2).map(|w| (w[1] - w[0]).powi(2)).sum();
        let tail: f64 = x.chunks(4).map(|c| c.iter().sum::<f64>().powi(2)).sum();
        pairs + steps + 0.1 * tail
    }
}

mod product_fold_count {
    use super::*;
    #[derive_gradient]
    pub fn f(x: &[f64]) -> f64 {
        let p: f64 = x.iter().take(4).map(|v| 1.0 + 0.1 * v).product();
        let s = x.iter().fold(0.0, |acc, &v| acc + v * v);
        let m = x.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
        let n = x.iter().filter(|v| **v > 0.0).count();
        p + s + m * n as f64
    }
}

mod fold_closure {
    use super::*;
    #[derive_gradient]
    pub fn f(x: &[f64]) -> f64 {
        // Horner's rule as a fold: not a sum.
        x.iter().fold(0.0, |acc, &c| acc * 0.5 + c)
    }
}

mod max_min_by {
    use super::*;
    #[derive_gradient]
    pub fn f(x: &[f64]) -> f64 {
        let hi = x.iter().copied().max_by(|a, b| a.total_cmp(b)).unwrap();
        let lo = *x.iter().min_by(|a, b| a.partial_cmp(b).unwrap()).unwrap();
        hi * hi - lo
    }
}

mod collect_then_index {
    use super::*;
    #[derive_gradient]
    pub fn f(x: &[f64]) -> f64 {
        let sq: Vec<f64> = x.iter().map(|v| v * v).collect();
        let y = x.iter().map(|v| v.sin()).collect::<Vec<f64>>();
        sq[0] * y[1] + sq[2] + y.iter().sum::<f64>()
    }
}

mod ranges {
    use super::*;
    #[derive_gradient]
    pub fn f(x: &[f64]) -> f64 {
        let n = x.len();
        let a: f64 = (0..n).map(|i| x[i] * x[n - 1 - i]).sum();
        let b: f64 = (1..=3).rev().map(|k| x[k] * k as f64).sum();
        let c: f64 = (0..n).step_by(2).map(|i| x[i].exp()).sum();
        a + b + c
    }
}

mod for_patterns {
    use super::*;
    #[derive_gradient]
    pub fn f(x: &[f64]) -> f64 {
        let w = [0.5, -1.0, 2.0, 1.5, -0.5, 1.0];
        let mut s = 0.0;
        for &v in x.iter() {
            s += v * v;
        }
        for (i, v) in x.iter().enumerate() {
            s += *v * i as f64;
        }
        for (i, &v) in x.iter().enumerate() {
            s += v.sin() * w[i];
        }
        for (a, b) in x.iter().zip(w.iter()) {
            s += a * b * a;
        }
        for v in &w {
            s += v * x[0];
        }
        for v in w {
            s += v * x[1];
        }
        s
    }
}

mod rows_and_targets {
    use super::*;
    #[derive_gradient]
    pub fn f(x: &[f64]) -> f64 {
        let targets = [1.0, -2.0, 0.5];
        let mut loss = 0.0;
        for (row, &t) in x.chunks_exact(2).zip(targets.iter()) {
            let z: f64 = row.iter().map(|v| v * v).sum();
            loss += (z - t).powi(2);
        }
        loss
    }
}

#[test]
fn sum_of_elements() {
    check!(sum, X, |x: &[f64]| vec![1.0; x.len()]);
}

#[test]
fn sum_into_a_typed_let() {
    check!(typed_let_sum, X, |x: &[f64]| x.to_vec());
}

#[test]
fn zip_with_an_array_is_a_dot_product() {
    check!(zip_dot, X, |_: &[f64]| vec![1.0, 2.0, -1.0, 0.5, 3.0, -2.0]);
}

#[test]
fn zip_with_itself() {
    check!(zip_self, X, |x: &[f64]| x.iter().map(|v| 2.0 * v).collect());
}

#[test]
fn enumerate_weights() {
    check!(enumerate, X, |x: &[f64]| x
        .iter()
        .enumerate()
        .map(|(i, v)| (i as f64 + 1.0) * v.cos())
        .collect());
}

#[test]
fn copied_cloned_and_method_paths() {
    check!(copied_method_path, X, |x: &[f64]| x
        .iter()
        .map(|v| 1.0 - v.tanh().powi(2) + v.exp())
        .collect());
}

#[test]
fn filter_with_comparisons() {
    check!(filter_positive, X, |x: &[f64]| x
        .iter()
        .map(|&v| if v > 0.0 {
            2.0 * v
        } else {
            -0.5 / v.abs().sqrt()
        })
        .collect());
}

#[test]
fn rev_take_skip_step_by() {
    check!(rev_take_skip_step, X, |x: &[f64]| {
        let n = x.len();
        let mut g = vec![0.0; n];
        for i in 0..3 {
            g[n - 1 - i] += (i + 1) as f64;
        }
        for k in (1..n).step_by(2) {
            g[k] -= x[k].sin();
        }
        g
    });
}

#[test]
fn chunks_exact_windows_and_chunks() {
    check!(chunks_windows, X);
    check!(chunks_windows, [0.3, 1.2, -0.4, 2.0, 0.1]);
}

#[test]
fn product_fold_count_and_max() {
    check!(product_fold_count, X);
}

#[test]
fn fold_with_a_closure_that_is_not_a_sum() {
    check!(fold_closure, X, |x: &[f64]| {
        let n = x.len();
        (0..n).map(|i| 0.5f64.powi((n - 1 - i) as i32)).collect()
    });
}

#[test]
fn max_by_and_min_by() {
    check!(max_min_by, X, |x: &[f64]| {
        let mut g = vec![0.0; x.len()];
        g[2] = 2.0 * x[2];
        g[1] = -1.0;
        g
    });
}

#[test]
fn collect_into_a_vec() {
    check!(collect_then_index, X);
}

#[test]
fn iterators_over_ranges() {
    check!(ranges, X);
}

#[test]
fn for_loops_with_ordinary_patterns() {
    check!(for_patterns, X);
}

#[test]
fn rows_zipped_with_targets() {
    check!(rows_and_targets, X);
}
