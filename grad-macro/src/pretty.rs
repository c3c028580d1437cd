//! A compact text form of IR blocks, for golden tests and debugging.
//!
//! ```text
//! t0 = 3.0 * x
//! for i in t1..t2 {
//!   acc += t3
//! }
//! ```

use crate::ir::*;
use std::fmt::Write;

/// Prints a block of `f` with two-space indentation per nesting level.
pub fn block(f: &Function, b: &Block) -> String {
    let mut out = String::new();
    write_block(f, b, 0, &mut out);
    out
}

fn name(f: &Function, v: VarId) -> String {
    f.var(v).name.clone()
}

fn atom(f: &Function, a: &Atom) -> String {
    match a {
        Atom::Var(v) => name(f, *v),
        Atom::Float(x) => format!("{x:?}"),
        Atom::Int(i) => i.to_string(),
        Atom::Bool(b) => b.to_string(),
    }
}

fn place(f: &Function, p: &Place) -> String {
    match p {
        Place::Var(v) => name(f, *v),
        Place::Elem(v, i) => format!("{}[{}]", name(f, *v), atom(f, i)),
    }
}

fn op(f: &Function, o: &Op) -> String {
    let atoms = |xs: &[Atom]| xs.iter().map(|a| atom(f, a)).collect::<Vec<_>>().join(", ");
    match o {
        Op::Copy(a) => atom(f, a),
        Op::Prim(Prim::Add, a) => format!("{} + {}", atom(f, &a[0]), atom(f, &a[1])),
        Op::Prim(Prim::Sub, a) => format!("{} - {}", atom(f, &a[0]), atom(f, &a[1])),
        Op::Prim(Prim::Mul, a) => format!("{} * {}", atom(f, &a[0]), atom(f, &a[1])),
        Op::Prim(Prim::Div, a) => format!("{} / {}", atom(f, &a[0]), atom(f, &a[1])),
        Op::Prim(Prim::Neg, a) => format!("-{}", atom(f, &a[0])),
        Op::Prim(p, a) => format!("{}.{}({})", atom(f, &a[0]), p.method_name(), atoms(&a[1..])),
        Op::Int(i, a) => format!("int.{i:?}({})", atoms(a)),
        Op::Cmp(c, a, b) => format!("{} {c:?} {}", atom(f, a), atom(f, b)),
        Op::Bool(b, a) => format!("bool.{b:?}({})", atoms(a)),
        Op::Cast { value, to_name, .. } => format!("{} as {to_name}", atom(f, value)),
        Op::Index { array, index } => format!("{}[{}]", name(f, *array), atom(f, index)),
        Op::Len(v) => format!("{}.len()", name(f, *v)),
        Op::ArrayLit { elems, vec } => {
            format!("{}[{}]", if *vec { "vec!" } else { "" }, atoms(elems))
        }
        Op::Repeat { value, count, vec } => {
            format!(
                "{}[{}; {}]",
                if *vec { "vec!" } else { "" },
                atom(f, value),
                atom(f, count)
            )
        }
        Op::Call { func, args, .. } => {
            let path = quote::ToTokens::to_token_stream(func).to_string();
            format!("{path}({})", atoms(args))
        }
        Op::Const(c) => c.clone(),
    }
}

fn expr(f: &Function, e: &Expr) -> String {
    let bin = |a: &Expr, o: &str, b: &Expr| format!("({} {o} {})", expr(f, a), expr(f, b));
    match e {
        Expr::Atom(a) => atom(f, a),
        Expr::Index(v, i) => format!("{}[{}]", name(f, *v), atom(f, i)),
        Expr::Add(a, b) => bin(a, "+", b),
        Expr::Sub(a, b) => bin(a, "-", b),
        Expr::Mul(a, b) => bin(a, "*", b),
        Expr::Div(a, b) => bin(a, "/", b),
        Expr::Neg(a) => format!("-{}", expr(f, a)),
        Expr::Method(p, args) => {
            let rest: Vec<String> = args[1..].iter().map(|a| expr(f, a)).collect();
            format!(
                "{}.{}({})",
                expr(f, &args[0]),
                p.method_name(),
                rest.join(", ")
            )
        }
        Expr::Powi(a, n) => format!("{}.powi({})", expr(f, a), expr(f, n)),
        Expr::IntToFloat(n) => format!("float({})", expr(f, n)),
        Expr::IntSub1(n) => format!("({} - 1)", expr(f, n)),
        Expr::Cmp(c, a, b) => format!("({} {c:?} {})", expr(f, a), expr(f, b)),
        Expr::Or(a, b) => bin(a, "||", b),
        Expr::IsNan(a) => format!("{}.is_nan()", expr(f, a)),
        Expr::Select(c, a, b) => format!("select({}, {}, {})", expr(f, c), expr(f, a), expr(f, b)),
        Expr::GuardedMul(a, b) => format!("guarded({} * {})", expr(f, a), expr(f, b)),
        Expr::Sum(v) => format!("sum({})", name(f, *v)),
        Expr::FloatConst(c) => c.to_string(),
    }
}

fn write_block(f: &Function, b: &Block, depth: usize, out: &mut String) {
    for s in b {
        write_stmt(f, s, depth, out);
    }
}

fn write_stmt(f: &Function, s: &Stmt, depth: usize, out: &mut String) {
    let pad = "  ".repeat(depth);
    let line = |out: &mut String, text: String| {
        let _ = writeln!(out, "{pad}{text}");
    };
    match s {
        Stmt::Assign { target, op: o, .. } => {
            line(out, format!("{} = {}", name(f, *target), op(f, o)))
        }
        Stmt::Accumulate {
            target,
            value,
            negate,
            ..
        } => line(
            out,
            format!(
                "{} {}= {}",
                name(f, *target),
                if *negate { "-" } else { "+" },
                atom(f, value)
            ),
        ),
        Stmt::Store {
            array,
            index,
            value,
            ..
        } => line(
            out,
            format!(
                "{}[{}] = {}",
                name(f, *array),
                atom(f, index),
                atom(f, value)
            ),
        ),
        Stmt::If { cond, then, els } => {
            line(out, format!("if {} {{", atom(f, cond)));
            write_block(f, then, depth + 1, out);
            if !els.is_empty() {
                line(out, "} else {".into());
                write_block(f, els, depth + 1, out);
            }
            line(out, "}".into());
        }
        Stmt::For {
            var,
            lo,
            hi,
            rev,
            body,
        } => {
            let range = format!("{}..{}", atom(f, lo), atom(f, hi));
            let range = if *rev {
                format!("({range}).rev()")
            } else {
                range
            };
            line(out, format!("for {} in {range} {{", name(f, *var)));
            write_block(f, body, depth + 1, out);
            line(out, "}".into());
        }
        Stmt::While {
            cond_block,
            cond,
            body,
        } => {
            line(out, "loop {".into());
            write_block(f, cond_block, depth + 1, out);
            line(out, format!("  if !{} break", atom(f, cond)));
            write_block(f, body, depth + 1, out);
            line(out, "}".into());
        }
        Stmt::AddAssign { target, expr: e } => {
            line(out, format!("{} += {}", place(f, target), expr(f, e)))
        }
        Stmt::Set { target, expr: e } => {
            line(out, format!("{} = {}", place(f, target), expr(f, e)))
        }
        Stmt::Save { slot, place: p } => line(out, format!("save{} <- {}", slot.0, place(f, p))),
        Stmt::Restore { slot, place: p } => line(out, format!("{} <- save{}", place(f, p), slot.0)),
        Stmt::PullbackCall {
            func, args, seed, ..
        } => {
            let path = quote::ToTokens::to_token_stream(func).to_string();
            let a: Vec<String> = args.iter().map(|a| atom(f, a)).collect();
            line(
                out,
                format!("{path}_pullback({}; seed {})", a.join(", "), name(f, *seed)),
            )
        }
        Stmt::PushforwardCall {
            func,
            args,
            target,
            tangent,
            ..
        } => {
            let path = quote::ToTokens::to_token_stream(func).to_string();
            let a: Vec<String> = args.iter().map(|a| atom(f, a)).collect();
            line(
                out,
                format!(
                    "({}, {}) = {path}_pushforward({})",
                    name(f, *target),
                    name(f, *tangent),
                    a.join(", ")
                ),
            )
        }
        Stmt::Axpy {
            target,
            scale,
            source: Some(src),
        } => line(
            out,
            format!(
                "{} += {} * {}",
                name(f, *target),
                expr(f, scale),
                name(f, *src)
            ),
        ),
        Stmt::Axpy {
            target,
            scale,
            source: None,
        } => line(out, format!("{} *= {}", name(f, *target), expr(f, scale))),
        Stmt::Zero(v) => line(out, format!("{} = 0", name(f, *v))),
        Stmt::AllocLike { target, like } => line(
            out,
            format!("{} = zeros_like({})", name(f, *target), name(f, *like)),
        ),
        Stmt::AxpySlice {
            alpha,
            x,
            x_off,
            y,
            y_off,
            lo,
            hi,
        } => line(
            out,
            format!(
                "{}[{} + {}..{} + {}] += {} * {}[{} + {}..{} + {}]",
                name(f, *y),
                atom(f, y_off),
                atom(f, lo),
                atom(f, y_off),
                atom(f, hi),
                expr(f, alpha),
                name(f, *x),
                atom(f, x_off),
                atom(f, lo),
                atom(f, x_off),
                atom(f, hi)
            ),
        ),
        Stmt::Dot {
            acc,
            negate,
            a,
            a_off,
            b,
            b_off,
            lo,
            hi,
        } => line(
            out,
            format!(
                "{} {}= dot({}[{} + {}..{} + {}], {}[{} + {}..{} + {}])",
                name(f, *acc),
                if *negate { "-" } else { "+" },
                name(f, *a),
                atom(f, a_off),
                atom(f, lo),
                atom(f, a_off),
                atom(f, hi),
                name(f, *b),
                atom(f, b_off),
                atom(f, lo),
                atom(f, b_off),
                atom(f, hi)
            ),
        ),
    }
}
