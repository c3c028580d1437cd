//! Ratios timed alternately: on a shared machine the speed drifts by up to a half within
//! seconds, so two benchmarks measured one after the other (as criterion measures a group)
//! can differ by the drift alone. Here the two computations run in alternating blocks of a
//! few milliseconds, the order swapped every round, and the ratio of each round's pair is
//! kept: the median of those ratios compares them under the same conditions.
//!
//! Each benchmark file that uses it includes it with `#[path]`; the results go to
//! `target/criterion/interleaved/<id>.txt` (median, lower and upper quartile) for
//! `scripts/bench_table.py`.

use std::hint::black_box;
use std::time::{Duration, Instant};

/// Alternating rounds per comparison.
const ROUNDS: usize = 41;
/// Each timed block runs about this long.
const BLOCK: Duration = Duration::from_millis(4);

/// Times `a` and `b` alternately and records the median ratio `a / b` (with quartiles) under
/// `id`; prints it too.
pub fn ratio<A, B>(id: &str, mut a: impl FnMut() -> A, mut b: impl FnMut() -> B) {
    let iters = calibrate(&mut a).min(calibrate(&mut b));
    let mut ratios = Vec::with_capacity(ROUNDS);
    for round in 0..ROUNDS {
        let (ta, tb) = if round % 2 == 0 {
            let ta = time(&mut a, iters);
            (ta, time(&mut b, iters))
        } else {
            let tb = time(&mut b, iters);
            (time(&mut a, iters), tb)
        };
        ratios.push(ta.as_secs_f64() / tb.as_secs_f64());
    }
    ratios.sort_by(f64::total_cmp);
    let at = |q: f64| ratios[((ratios.len() - 1) as f64 * q).round() as usize];
    let (low, median, high) = (at(0.25), at(0.5), at(0.75));
    println!("interleaved {id}: {median:.3} (quartiles {low:.3}-{high:.3})");
    let dir = target_dir().join("criterion").join("interleaved");
    let written = std::fs::create_dir_all(&dir).and_then(|_| {
        std::fs::write(
            dir.join(format!("{id}.txt")),
            format!("{median} {low} {high}\n"),
        )
    });
    if let Err(e) = written {
        eprintln!("interleaved {id}: cannot write the result: {e}");
    }
}

/// How many calls of `f` take about [`BLOCK`].
fn calibrate<T>(f: &mut impl FnMut() -> T) -> u64 {
    let mut n = 1u64;
    loop {
        if time(f, n) >= BLOCK / 4 || n >= 1 << 30 {
            return n * 4;
        }
        n *= 2;
    }
}

fn time<T>(f: &mut impl FnMut() -> T, n: u64) -> Duration {
    let start = Instant::now();
    for _ in 0..n {
        black_box(f());
    }
    start.elapsed()
}

/// The `target` directory this benchmark runs from (`target/release/deps/<bench>`).
fn target_dir() -> std::path::PathBuf {
    if let Some(dir) = std::env::var_os("CARGO_TARGET_DIR") {
        return dir.into();
    }
    let exe = std::env::current_exe().expect("the benchmark's path");
    exe.ancestors()
        .nth(3)
        .map(|p| p.to_path_buf())
        .unwrap_or_else(|| "target".into())
}
