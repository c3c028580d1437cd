//! Every name the generated code introduces, and how it is made hygienic.
//!
//! Each kind of generated variable is a [`Binder`]; [`Binder::ALL`] lists them, and the hygiene
//! tests compile functions whose parameters, locals and callees carry each of these names. A
//! companion's printed names come from one [`Names`] allocator per function: the user's
//! parameters keep their names, every other variable gets its own (a numeric suffix where two
//! would meet), so no two variables of a companion ever share a name. Every identifier is
//! printed with `Span::mixed_site()` hygiene, so the user's code, and the user's items, can
//! neither see nor capture them.

use crate::hash::HashSet;
use crate::ir::{Function, Origin, VarId};
use proc_macro2::Span;

/// Defines [`Binder`], its list [`Binder::ALL`] and each base name from one table, so a new
/// binder is in the list (and in the hygiene tests) by construction.
macro_rules! binders {
    ($($(#[doc = $doc:literal])* $variant:ident => $base:literal,)*) => {
        /// A kind of variable the generator introduces.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        pub enum Binder {
            $($(#[doc = $doc])* $variant,)*
        }

        impl Binder {
            /// Every binder.
            pub const ALL: &'static [Binder] = &[$(Binder::$variant),*];

            /// The name's base: a prefix joined to the name of what it belongs to (`adj_` +
            /// `x`), or a whole name.
            pub fn base(self) -> &'static str {
                match self {
                    $(Binder::$variant => $base,)*
                }
            }
        }
    };
}

binders! {
    /// The adjoint of a value: `adj_x`.
    Adjoint => "adj_",
    /// The tangent of a value: `tan_x`.
    Tangent => "tan_",
    /// A gradient output buffer of `_grad_into`: `grad_x`.
    Gradient => "grad_",
    /// A Hessian-vector product output: `hv_x`.
    HessianVector => "hv_",
    /// A Hessian direction parameter of `_hvp`: `v_x`.
    Direction => "v_",
    /// The seed of a pullback.
    Seed => "seed",
    /// The function's value in a companion.
    Value => "value",
    /// A temporary (numbered: `t1`, `t2`).
    Temp => "t",
    /// A saved value (store-on-overwrite): `saved_x`.
    Saved => "saved_",
    /// A stack of saved values: `stack_x`.
    Stack => "stack_",
    /// A fused loop's gradient of one term: `partial_x`.
    Partial => "partial_",
    /// A `while` loop's trip count.
    Trips => "trips",
    /// The counter of a replayed `while` loop.
    Trip => "trip",
    /// Whether a loop still runs (`break` and `return` clear it).
    Running => "running",
    /// Whether the rest of an iteration or of the function runs (`continue`, `break`,
    /// `return` clear it).
    Live => "live",
    /// The index of a loop made from an iterator chain.
    Index => "k",
    /// A counter of an iterator chain (`enumerate` after `filter`, `count`, `take`).
    Counter => "count",
    /// An accumulator of an iterator consumer (`sum`, `fold`, `product`).
    Acc => "acc",
    /// A scratch adjoint for an argument passed twice to one call.
    Scratch => "scratch_",
    /// The unit seed of a fused loop's per-iteration reverse sweep.
    UnitSeed => "unit",
    /// The first index of a chunk of a loop run in chunks (`parallel`).
    ChunkStart => "start",
    /// The end of a chunk.
    ChunkEnd => "end",
    /// A chunk's part of a sum: `part_x`.
    Part => "part_",
    /// The Jacobian or Hessian being filled by a wrapper companion.
    Matrix => "matrix",
    /// A row counter of a wrapper companion.
    Row => "row",
    /// A column counter of a wrapper companion.
    Col => "col",
    /// A Jacobian's number of rows.
    Rows => "rows",
    /// A Jacobian's number of columns.
    Cols => "cols",
    /// One column of a Jacobian, before it is stored.
    Column => "column",
    /// A Hessian's width (the differentiated floats).
    Width => "n",
    /// The value a Jacobian's sweep returns.
    Swept => "swept",
    /// The tangent a Jacobian's forward sweep returns.
    TangentOut => "tangent",
    /// The result of a loop with `break value` or of a block expression.
    Out => "out",
}

impl Binder {
    /// Whether the base is a prefix to a name.
    pub fn is_prefix(self) -> bool {
        self.base().ends_with('_')
    }

    /// The name for the binder of `of` (a prefix binder joins it; others ignore it).
    pub fn name(self, of: &str) -> String {
        if self.is_prefix() {
            format!("{}{}", self.base(), of)
        } else {
            self.base().to_string()
        }
    }

    /// Example names this binder produces next to a parameter `x`: what the hygiene tests
    /// give the user's own identifiers.
    pub fn example(self) -> String {
        self.name("x")
    }
}

/// Printed names of a function's variables: distinct, hygienic.
pub struct Names {
    names: Vec<String>,
}

impl Names {
    /// Names every variable of `f`. Parameters come first and keep their names; the rest
    /// take theirs in order, with `_1`, `_2`, ... where one is taken. Temporaries are
    /// numbered `t1`, `t2`, ...
    pub fn new(f: &Function) -> Names {
        let mut taken: HashSet<String> = HashSet::default();
        let mut names = vec![String::new(); f.vars.len()];
        let mut mentioned = mentioned(f);
        // What a mentioned variable is named after is named too.
        for i in 0..f.vars.len() {
            if let (true, Origin::Made(_, Some(of))) = (mentioned[i], &f.vars[i].origin) {
                mentioned[of.index()] = true;
            }
        }
        let params: HashSet<VarId> = f.params.iter().map(|p| p.var).collect();
        // Parameters first, then variables named by the user or numbered, then the ones
        // named after another variable (`adj_t1` after `t1`).
        let derived = |v: VarId| matches!(f.var(v).origin, Origin::Made(_, Some(_)));
        let mut order: Vec<VarId> = f.params.iter().map(|p| p.var).collect();
        let rest = (0..f.vars.len() as u32)
            .map(VarId)
            .filter(|v| !params.contains(v) && mentioned[v.index()]);
        let (later, now): (Vec<VarId>, Vec<VarId>) = rest.partition(|v| derived(*v));
        order.extend(now);
        order.extend(later);
        let mut temps = 0usize;
        for v in order {
            let var = f.var(v);
            let base = match &var.origin {
                Origin::Temp => {
                    temps += 1;
                    format!("t{temps}")
                }
                Origin::Made(binder, Some(of)) if !names[of.index()].is_empty() => {
                    binder.name(&names[of.index()])
                }
                _ => var.name.clone(),
            };
            let base = sanitize(&base);
            let mut name = base.clone();
            let mut k = 1;
            while taken.contains(&name) || is_keyword(&name) {
                name = format!("{base}_{k}");
                k += 1;
            }
            taken.insert(name.clone());
            names[v.index()] = name;
        }
        Names { names }
    }

    /// The printed name of a variable.
    pub fn name(&self, v: VarId) -> &str {
        &self.names[v.index()]
    }

    /// The identifier of a variable, hygienic, located at `span`.
    pub fn ident(&self, v: VarId, span: Span) -> syn::Ident {
        ident(&self.names[v.index()], span)
    }
}

/// Which variables a function's parameters, body or results mention.
fn mentioned(f: &Function) -> Vec<bool> {
    let mut out = vec![false; f.vars.len()];
    for p in &f.params {
        out[p.var.index()] = true;
    }
    for v in &f.returns {
        out[v.index()] = true;
    }
    crate::visit::walk(&f.body, &mut |s| {
        let e = crate::visit::effects(s);
        for r in e.reads {
            out[r.index()] = true;
        }
        for w in e.writes {
            out[w.var.index()] = true;
        }
    });
    out
}

/// A hygienic identifier: `mixed_site` (invisible to the user's code) located at `span` (so
/// errors point at the user's expression).
pub fn ident(name: &str, span: Span) -> syn::Ident {
    if name == "self" {
        return syn::Ident::new("self", span);
    }
    syn::Ident::new(name, Span::mixed_site().located_at(span))
}

/// A name made from others: any character an identifier cannot hold becomes `_`.
fn sanitize(name: &str) -> String {
    if name == "self" {
        return name.to_string();
    }
    let mut s: String = name
        .chars()
        .map(|c| {
            if c.is_alphanumeric() || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect();
    if s.is_empty() || s.starts_with(|c: char| c.is_ascii_digit()) {
        s.insert(0, 'v');
    }
    s
}

/// Whether `name` cannot be a variable's name: a keyword (`self` aside, which the
/// receiver keeps), or not an identifier at all. The words are those syn rejects as an
/// identifier; names of other characters than ASCII ask syn itself.
fn is_keyword(name: &str) -> bool {
    let simple = name.bytes().all(|c| c.is_ascii_alphanumeric() || c == b'_')
        && name.bytes().next().is_some_and(|c| !c.is_ascii_digit());
    if !simple {
        return name != "self" && syn::parse_str::<syn::Ident>(name).is_err();
    }
    matches!(
        name,
        "_" | "abstract"
            | "as"
            | "async"
            | "await"
            | "become"
            | "box"
            | "break"
            | "const"
            | "continue"
            | "crate"
            | "do"
            | "dyn"
            | "else"
            | "enum"
            | "extern"
            | "false"
            | "final"
            | "fn"
            | "for"
            | "if"
            | "impl"
            | "in"
            | "let"
            | "loop"
            | "macro"
            | "match"
            | "mod"
            | "move"
            | "mut"
            | "override"
            | "priv"
            | "pub"
            | "ref"
            | "return"
            | "Self"
            | "static"
            | "struct"
            | "super"
            | "trait"
            | "true"
            | "try"
            | "type"
            | "typeof"
            | "unsafe"
            | "unsized"
            | "use"
            | "virtual"
            | "where"
            | "while"
            | "yield"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keywords_are_the_ones_syn_rejects() {
        let words = [
            "_", "abstract", "as", "async", "await", "become", "box", "break", "const", "continue",
            "crate", "do", "dyn", "else", "enum", "extern", "false", "final", "fn", "for", "gen",
            "if", "impl", "in", "let", "loop", "macro", "match", "mod", "move", "mut", "override",
            "priv", "pub", "ref", "return", "Self", "self", "static", "struct", "super", "trait",
            "true", "try", "type", "typeof", "union", "unsafe", "unsized", "use", "virtual",
            "where", "while", "yield", "x", "adj_x", "t3", "_x", "x_1", "3x", "é", "seed",
        ];
        for w in words {
            let by_syn = w != "self" && syn::parse_str::<syn::Ident>(w).is_err();
            assert_eq!(is_keyword(w), by_syn, "{w}");
        }
    }
    use crate::shape::{FloatTy, Ty};

    #[test]
    fn names_are_distinct_and_parameters_keep_theirs() {
        let mut f = Function::new(FloatTy::F64);
        let s = Span::call_site();
        let seed = f.add_var("seed", Ty::Float, s, Origin::Param(0));
        f.params.push(crate::ir::Param {
            var: seed,
            passing: crate::ir::Passing::Value,
            written: syn::parse_quote!(f64),
        });
        let ours = f.add_var("seed", Ty::Float, s, Origin::Made(Binder::Seed, None));
        let t = f.add_var("", Ty::Float, s, Origin::Temp);
        let kw = f.add_var("type", Ty::Float, s, Origin::User);
        let adj = f.add_var("adj_", Ty::Float, s, Origin::Made(Binder::Adjoint, Some(t)));
        f.returns = vec![ours, t, kw, adj];
        let names = Names::new(&f);
        assert_eq!(names.name(seed), "seed");
        assert_eq!(names.name(ours), "seed_1");
        assert_eq!(names.name(t), "t1");
        assert_eq!(names.name(kw), "type_1");
        assert_eq!(names.name(adj), "adj_t1");
    }

    #[test]
    fn binders_are_listed_once() {
        let all: HashSet<&str> = Binder::ALL.iter().map(|b| b.base()).collect();
        assert_eq!(all.len(), Binder::ALL.len());
    }
}
