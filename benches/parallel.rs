//! Benchmark of issue 14's `parallel` option: the seed's ReLU-neuron loss gradient at
//! (N, d) = (1000000, 16), in one run:
//!
//! - `primal`: the loss itself, one thread (the denominator of the ratios);
//! - `hand_fused_into`: the hand-written single-pass gradient, one thread;
//! - `generated_grad_into`: `#[derive_gradient(wrt(w, b))]`, one thread;
//! - `parallel_grad_into_T1` / `_T2`: `#[derive_gradient(parallel, wrt(w, b))]` on a rayon
//!   pool of 1 and 2 threads.
//!
//! (64, 4) is measured too: there the loop is one chunk and runs on the calling thread, so
//! `parallel` must cost next to nothing. Every gradient is checked against the hand-written
//! one before timing. Run: `cargo bench -p grad-dev --bench parallel`, then
//! `python3 scripts/bench_table.py`.

#![allow(clippy::needless_range_loop, clippy::too_many_arguments)]

use std::hint::black_box;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion};
use grad::derive_gradient;
use grad::runtime::XorShift64;

/// The hand-written fused gradient, shared with `benches/relu_neuron.rs`.
#[path = "relu_hand.rs"]
mod relu_hand;
use relu_hand::hand_fused_into;

/// The loss as a user writes it, one thread.
#[derive_gradient(wrt(w, b))]
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

/// The same loss, its loop over samples in chunks on rayon's threads.
#[derive_gradient(parallel, wrt(w, b))]
fn loss_par(w: &[f64], b: f64, x: &[f64], y: &[f64], n: usize, d: usize) -> f64 {
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

fn bench_size(c: &mut Criterion, n: usize, d: usize) {
    let mut rng = XorShift64::new(42);
    let x: Vec<f64> = (0..n * d).map(|_| rng.next_f64() - 0.5).collect();
    let y: Vec<f64> = (0..n).map(|_| rng.next_f64()).collect();
    let w: Vec<f64> = (0..d).map(|_| rng.next_f64() - 0.5).collect();
    let b = 0.1;
    let pools: Vec<rayon::ThreadPool> = [1, 2]
        .iter()
        .map(|&t| {
            rayon::ThreadPoolBuilder::new()
                .num_threads(t)
                .build()
                .expect("a thread pool")
        })
        .collect();

    // Check before timing.
    let (mut hw, mut hb) = (vec![0.0; d], 0.0);
    let hv = hand_fused_into(&w, b, &x, &y, n, d, &mut hw, &mut hb);
    for pool in &pools {
        let (mut gw, mut gb) = (vec![0.0; d], 0.0);
        let v = pool.install(|| loss_par_grad_into(&w, b, &x, &y, n, d, &mut gw, &mut gb));
        let close = |a: f64, e: f64| (a - e).abs() <= 1e-9 * (1.0 + e.abs());
        assert!(close(v, hv) && close(gb, hb));
        assert!(gw.iter().zip(&hw).all(|(a, e)| close(*a, *e)));
    }

    let mut group = c.benchmark_group(format!("parallel_N{n}_d{d}"));
    group
        .sample_size(if n * d > 1_000_000 { 10 } else { 20 })
        .measurement_time(Duration::from_secs(2))
        .warm_up_time(Duration::from_millis(500));
    let (mut gw, mut gb) = (vec![0.0; d], 0.0);
    group.bench_function("primal", |bch| {
        bch.iter(|| loss(black_box(&w), b, black_box(&x), black_box(&y), n, d))
    });
    group.bench_function("hand_fused_into", |bch| {
        bch.iter(|| {
            hand_fused_into(
                black_box(&w),
                b,
                black_box(&x),
                black_box(&y),
                n,
                d,
                &mut gw,
                &mut gb,
            )
        })
    });
    group.bench_function("generated_grad_into", |bch| {
        bch.iter(|| {
            loss_grad_into(
                black_box(&w),
                b,
                black_box(&x),
                black_box(&y),
                n,
                d,
                &mut gw,
                &mut gb,
            )
        })
    });
    for (pool, threads) in pools.iter().zip([1, 2]) {
        group.bench_function(format!("parallel_grad_into_T{threads}"), |bch| {
            pool.install(|| {
                bch.iter(|| {
                    loss_par_grad_into(
                        black_box(&w),
                        b,
                        black_box(&x),
                        black_box(&y),
                        n,
                        d,
                        &mut gw,
                        &mut gb,
                    )
                })
            })
        });
    }
    group.finish();
}

fn benches(c: &mut Criterion) {
    bench_size(c, 64, 4);
    bench_size(c, 1_000_000, 16);
}

criterion_group!(parallel, benches);
criterion_main!(parallel);
