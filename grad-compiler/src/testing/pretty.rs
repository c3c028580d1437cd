//! The IR as text, for golden tests and debugging.

use crate::ir::*;
use std::fmt::Write;

/// A function as text: one statement per line, nested blocks indented.
pub fn function(f: &Function) -> String {
    let mut out = String::new();
    let params: Vec<String> = f.params.iter().map(|p| var(f, p.var)).collect();
    let _ = writeln!(
        out,
        "fn({}) -> {}",
        params.join(", "),
        f.returns
            .iter()
            .map(|v| var(f, *v))
            .collect::<Vec<_>>()
            .join(", ")
    );
    block(f, &f.body, 1, &mut out);
    out
}

/// A block as text at an indentation depth.
pub fn block(f: &Function, b: &Block, depth: usize, out: &mut String) {
    for s in b {
        stmt(f, s, depth, out);
    }
}

fn var(f: &Function, v: VarId) -> String {
    let name = &f.var(v).name;
    if name.is_empty() {
        format!("%{}", v.0)
    } else {
        format!("{name}%{}", v.0)
    }
}

fn atom(f: &Function, a: &Atom) -> String {
    match a {
        Atom::Var(v) => var(f, *v),
        a => a.to_string(),
    }
}

fn atoms(f: &Function, a: &[Atom]) -> String {
    a.iter().map(|x| atom(f, x)).collect::<Vec<_>>().join(", ")
}

fn place(f: &Function, p: &Place) -> String {
    let mut s = var(f, p.root);
    for proj in &p.path {
        match proj {
            Proj::Index(i) => {
                let _ = write!(s, "[{}]", atom(f, i));
            }
            Proj::Field(Member::Named(n)) => {
                let _ = write!(s, ".{n}");
            }
            Proj::Field(Member::Unnamed(i)) => {
                let _ = write!(s, ".{i}");
            }
            Proj::Deref => s = format!("*{s}"),
        }
    }
    s
}

fn arg(f: &Function, a: &Arg) -> String {
    let range = |lo: &Option<Atom>, hi: &Option<Atom>| {
        format!(
            "{}..{}",
            lo.as_ref().map(|a| atom(f, a)).unwrap_or_default(),
            hi.as_ref().map(|a| atom(f, a)).unwrap_or_default()
        )
    };
    match a {
        Arg::Value(x) => atom(f, x),
        Arg::Seed(x) => format!("seed({})", atom(f, x)),
        Arg::Ref(p) => format!("&{}", place(f, p)),
        Arg::View(p, lo, hi) => format!("&{}[{}]", place(f, p), range(lo, hi)),
        Arg::MutRef(p) => format!("&mut {}", place(f, p)),
        Arg::MutView(p, lo, hi) => format!("&mut {}[{}]", place(f, p), range(lo, hi)),
    }
}

fn call(f: &Function, c: &Call) -> String {
    let name = match &c.callee {
        Callee::Path(p) => p
            .segments
            .iter()
            .map(|s| s.ident.to_string())
            .collect::<Vec<_>>()
            .join("::"),
        Callee::Method(m) => format!(".{m}"),
    };
    format!(
        "{name}({})",
        c.args
            .iter()
            .map(|a| arg(f, a))
            .collect::<Vec<_>>()
            .join(", ")
    )
}

/// An operation as text.
pub fn op(f: &Function, o: &Op) -> String {
    match o {
        Op::Use(a) => atom(f, a),
        Op::Load(p) => place(f, p),
        Op::Prim(p, args) => format!("{p:?}({})", atoms(f, args)),
        Op::Cmp(c, a, b) => format!("{} {} {}", atom(f, a), c.symbol(), atom(f, b)),
        Op::Not(a) => format!("!{}", atom(f, a)),
        Op::Select(c, a, b) => format!("select({}, {}, {})", atom(f, c), atom(f, a), atom(f, b)),
        Op::Cast(a, CastTo::Float) => format!("{} as float", atom(f, a)),
        Op::Cast(a, CastTo::Int(t)) => format!("{} as {t}", atom(f, a)),
        Op::Len(p) => format!("len({})", place(f, p)),
        Op::Seq(a, form) => format!("{form:?}[{}]", atoms(f, a)),
        Op::Repeat(a, Count::Atom(n), form) => format!("{form:?}[{}; {}]", atom(f, a), atom(f, n)),
        Op::Repeat(a, Count::Len(n), form) => format!("{form:?}[{}; {n:?}]", atom(f, a)),
        Op::Tuple(a) => format!("({})", atoms(f, a)),
        Op::Struct(p, fields) => format!(
            "{} {{ {} }}",
            p.join("::"),
            fields
                .iter()
                .map(|(n, a)| format!("{n}: {}", atom(f, a)))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        Op::Call(c) => call(f, c),
        Op::Const(c) => c.path.join("::"),
        Op::Num(n) => format!("num({n})"),
        Op::NoGrad(a) => format!("no_grad({})", atom(f, a)),
        Op::ZeroLike(a) => format!("zero_like({})", atom(f, a)),
        Op::Placeholder => "placeholder".into(),
    }
}

fn stmt(f: &Function, s: &Stmt, depth: usize, out: &mut String) {
    let pad = "    ".repeat(depth);
    match s {
        Stmt::Assign { target, op: o, .. } => {
            let _ = writeln!(out, "{pad}{} = {}", var(f, *target), op(f, o));
        }
        Stmt::Store {
            place: p, value, ..
        } => {
            let _ = writeln!(out, "{pad}{} = {}", place(f, p), atom(f, value));
        }
        Stmt::Accumulate {
            place: p,
            value,
            negate,
            ..
        } => {
            let _ = writeln!(
                out,
                "{pad}{} {}= {}",
                place(f, p),
                if *negate { "-" } else { "+" },
                atom(f, value)
            );
        }
        Stmt::If { cond, then, els } => {
            let _ = writeln!(out, "{pad}if {} {{", atom(f, cond));
            block(f, then, depth + 1, out);
            if !els.is_empty() {
                let _ = writeln!(out, "{pad}}} else {{");
                block(f, els, depth + 1, out);
            }
            let _ = writeln!(out, "{pad}}}");
        }
        Stmt::For {
            var: v,
            lo,
            hi,
            rev,
            body,
            chunked,
        } => {
            let chunks = match chunked {
                Some(c) => {
                    let sums: Vec<String> = c
                        .sums
                        .iter()
                        .map(|(s, p)| format!("{} += {}", var(f, *s), var(f, *p)))
                        .collect();
                    format!(
                        " chunked {}..{} [{}]",
                        var(f, c.start),
                        var(f, c.end),
                        sums.join(", ")
                    )
                }
                None => String::new(),
            };
            let _ = writeln!(
                out,
                "{pad}for {} in {}..{}{}{} {{",
                var(f, *v),
                atom(f, lo),
                atom(f, hi),
                if *rev { " rev" } else { "" },
                chunks
            );
            block(f, body, depth + 1, out);
            let _ = writeln!(out, "{pad}}}");
        }
        Stmt::While {
            cond_block,
            cond,
            body,
        } => {
            let _ = writeln!(out, "{pad}while {{");
            block(f, cond_block, depth + 1, out);
            let _ = writeln!(out, "{pad}}} {} {{", atom(f, cond));
            block(f, body, depth + 1, out);
            let _ = writeln!(out, "{pad}}}");
        }
        Stmt::Sweep(sw) => {
            let text = match sw {
                Sweep::Push { stack, value } => {
                    format!("push {} <- {}", var(f, *stack), atom(f, value))
                }
                Sweep::Pop { stack, place: p } => {
                    format!("{} = pop {}", place(f, p), var(f, *stack))
                }
                Sweep::Call { target, call: c } => match target {
                    Some(t) => format!("{} = {}", var(f, *t), call(f, c)),
                    None => call(f, c),
                },
                Sweep::Kernel(k) => kernel(f, k),
            };
            let _ = writeln!(out, "{pad}{text}");
        }
    }
}

fn run(f: &Function, r: &Run) -> String {
    format!("{}[{}..]", place(f, &r.place), atom(f, &r.start))
}

fn kernel(f: &Function, k: &Kernel) -> String {
    match k {
        Kernel::Dot {
            acc,
            negate,
            a,
            b,
            len,
        } => format!(
            "{} {}= dot({}, {}; {})",
            place(f, acc),
            if *negate { "-" } else { "+" },
            run(f, a),
            run(f, b),
            atom(f, len)
        ),
        Kernel::Axpy { alpha, x, y, len } => format!(
            "{} += {} * {}; {}",
            run(f, y),
            atom(f, alpha),
            run(f, x),
            atom(f, len)
        ),
        Kernel::AxpyAll { alpha, x, y } => format!(
            "{} += {} * {} (all)",
            place(f, y),
            atom(f, alpha),
            place(f, x)
        ),
        Kernel::ScaleAll { alpha, y } => format!("{} *= {} (all)", place(f, y), atom(f, alpha)),
        Kernel::ZeroAll { y } => format!("{} = 0 (all)", place(f, y)),
        Kernel::SetUnit { y, index } => {
            format!("{} = unit({}) (all)", place(f, y), atom(f, index))
        }
        Kernel::WriteRow { parts, out, row } => format!(
            "{}.row({}) = [{}]",
            place(f, out),
            atom(f, row),
            parts
                .iter()
                .map(|p| place(f, p))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        Kernel::SumAll { target, place: p } => {
            format!("{} = sum({})", var(f, *target), place(f, p))
        }
        Kernel::Along {
            target,
            tangent,
            gradient,
        } => format!(
            "{} = along({}, {})",
            var(f, *target),
            place(f, tangent),
            place(f, gradient)
        ),
    }
}
