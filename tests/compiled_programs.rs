//! The compile-level property test: fifty random programs from the generator
//! (`grad-compiler/src/testing/gen.rs`: loops with carried state, `while`/`loop` with
//! `break` and `return`, branches, `match`, iterator chains, closures, tuples, local arrays,
//! nested arrays, structs, calls between annotated functions, every float method), written
//! out as Rust in `tests/compiled/programs.rs` (regenerate with `GRAD_COMPILED=$PWD/tests/compiled/programs.rs
//! cargo test -p grad-compiler --lib write_compiled_programs`) and compiled through the real
//! macro in this one crate. For each,
//! at several points and sizes, the generated reverse-mode gradient must agree with the
//! generated forward mode (every main function has `forward`, so `f_pushforward` is forward
//! mode; the helpers it calls have `forward` or not, as drawn, so their pushforwards are
//! forward mode or the gradient along the tangent) to rounding and with central finite differences (away from kinks,
//! detected as two step sizes disagreeing). This covers code generation, which the IR-level
//! property tests in `grad-macro` do not.

#[path = "compiled/programs.rs"]
mod programs;

use grad::runtime::XorShift64;
use programs::{Program, PROGRAMS};
use std::panic::{catch_unwind, AssertUnwindSafe};

/// One evaluation point of a program.
#[derive(Clone)]
struct Point {
    x: [f64; 3],
    a: Vec<f64>,
    b: [f64; 3],
    n: usize,
    idx: Vec<usize>,
}

impl Point {
    fn random(rng: &mut XorShift64, n: usize) -> Point {
        let mut u = || rng.uniform(-2.0, 2.0);
        let x = [u(), u(), u()];
        let a = (0..n).map(|_| u()).collect();
        let b = [u(), u(), u()];
        let idx = (0..4)
            .map(|_| (rng.next_u64() % n as u64) as usize)
            .collect();
        Point { x, a, b, n, idx }
    }

    /// The float inputs, flattened: x0, x1, x2, a.., b...
    fn flat(&self) -> Vec<f64> {
        let mut v = self.x.to_vec();
        v.extend(&self.a);
        v.extend(self.b);
        v
    }

    fn with_flat(&self, v: &[f64]) -> Point {
        let n = self.n;
        Point {
            x: [v[0], v[1], v[2]],
            a: v[3..3 + n].to_vec(),
            b: [v[3 + n], v[4 + n], v[5 + n]],
            ..self.clone()
        }
    }

    fn eval(&self, p: &Program) -> f64 {
        (p.f)(
            self.x[0], self.x[1], self.x[2], &self.a, self.b, self.n, &self.idx,
        )
    }
}

/// Equal to rounding, or both not finite. (Where an intermediate overflows, forward and
/// reverse mode multiply the same infinite and zero factors in different orders, so one may
/// say `inf` where the other says NaN: neither is a finite derivative.)
fn agree(a: f64, b: f64, rel: f64) -> bool {
    if !a.is_finite() || !b.is_finite() {
        return !a.is_finite() && !b.is_finite();
    }
    (a - b).abs() <= rel * a.abs().max(b.abs()).max(1.0)
}

#[derive(Default, Debug)]
struct Counts {
    evaluations: usize,
    components: usize,
    versus_finite_differences: usize,
    skipped_at_kinks: usize,
    skipped_near_overflow: usize,
}

fn check(p: &Program, pt: &Point, counts: &mut Counts) {
    let value = pt.eval(p);
    let (gv, (g0, g1, g2, ga, gb)) =
        (p.grad)(pt.x[0], pt.x[1], pt.x[2], &pt.a, pt.b, pt.n, &pt.idx);
    assert!(
        agree(gv, value, 1e-12) || gv.to_bits() == value.to_bits(),
        "{}: grad's value {gv} vs the function's {value}",
        p.name
    );
    counts.evaluations += 1;
    let mut g = vec![g0, g1, g2];
    g.extend(&ga);
    g.extend(gb);
    let base = pt.flat();
    for (k, &gk) in g.iter().enumerate() {
        counts.components += 1;
        // Forward mode along input k.
        let mut t = vec![0.0; base.len()];
        t[k] = 1.0;
        let tp = pt.with_flat(&t);
        let (fv, dk) = (p.pushforward)(
            pt.x[0], pt.x[1], pt.x[2], &pt.a, pt.b, pt.n, &pt.idx, tp.x[0], tp.x[1], tp.x[2],
            &tp.a, tp.b,
        );
        assert!(
            agree(fv, value, 1e-12),
            "{}: pushforward's value {fv} vs {value}",
            p.name
        );
        // Near overflow (|values| beyond 1e100) forward and reverse mode can differ in
        // which intermediate product overflows (inf * 0 = NaN in one order, finite in the
        // other): such points are outside what either mode can answer reliably.
        // Where the value itself is not finite there is no derivative to compare.
        if !value.is_finite() || value.abs() > 1e100 || dk.abs() > 1e100 || gk.abs() > 1e100 {
            counts.skipped_near_overflow += 1;
            continue;
        }
        assert!(
            agree(dk, gk, 1e-9),
            "{} at input {k}: forward {dk} vs reverse {gk} at x {:?} a {:?} b {:?} n {} idx {:?}",
            p.name,
            pt.x,
            pt.a,
            pt.b,
            pt.n,
            pt.idx
        );
        if !value.is_finite() || !gk.is_finite() {
            continue;
        }
        // Beyond 2^52 every float is an integer: `trunc`, `floor` and `round` are the identity
        // there, so finite differences see a slope where their derivative is 0 (and their own
        // rounding, |f| eps / h, is above 1e5 anyway).
        if value.abs() > 4.5e15 {
            counts.skipped_near_overflow += 1;
            continue;
        }
        // Central differences with three steps; where they disagree a kink is near: skip.
        // Two steps alone miss jumps repeating at about the step's spacing (`trunc` of a
        // steep `powf`: 8 jumps within h, 16 within 2h give the same quotient); a step 16
        // times smaller sees a different number of them.
        let fd = |h: f64| {
            let (mut plus, mut minus) = (base.clone(), base.clone());
            plus[k] += h;
            minus[k] -= h;
            (pt.with_flat(&plus).eval(p) - pt.with_flat(&minus).eval(p)) / (2.0 * h)
        };
        let h = 1e-6;
        // The finite difference's own rounding error grows with |f| / h.
        let rounding = 10.0 * f64::EPSILON * value.abs() / h;
        let (d1, d2, d3) = (fd(h), fd(2.0 * h), fd(h / 16.0));
        let apart = |a: f64, b: f64, slack: f64| (a - b).abs() > 1e-5 * a.abs().max(1.0) + slack;
        if !(d1.is_finite() && d2.is_finite() && d3.is_finite())
            || apart(d1, d2, 0.0)
            || apart(d1, d3, 16.0 * rounding)
        {
            counts.skipped_at_kinks += 1;
            continue;
        }
        assert!(
            (d1 - gk).abs() <= 1e-4 * gk.abs().max(1.0) + rounding,
            "{} at input {k}: finite difference {d1} vs reverse {gk}",
            p.name
        );
        counts.versus_finite_differences += 1;
    }
}

#[test]
fn compiled_random_programs_agree_with_forward_mode_and_finite_differences() {
    let mut rng = XorShift64::new(2026);
    let mut counts = Counts::default();
    for p in PROGRAMS {
        for n in 1..=5 {
            for _ in 0..2 {
                let pt = Point::random(&mut rng, n);
                // Programs index `a` and `idx` as the generator allows for its own `n`; a size
                // at which the primal itself panics is not one to differentiate at.
                let primal = catch_unwind(AssertUnwindSafe(|| pt.eval(p)));
                if primal.is_err() {
                    continue;
                }
                check(p, &pt, &mut counts);
            }
        }
    }
    eprintln!("compiled programs: {} programs, {counts:?}", PROGRAMS.len());
    assert!(
        counts.evaluations >= PROGRAMS.len(),
        "too few evaluations: {counts:?}"
    );
    assert!(
        counts.versus_finite_differences * 2 >= counts.components,
        "too few finite-difference checks: {counts:?}"
    );
}
