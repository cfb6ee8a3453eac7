//! Conditions of `#if` lines and `{% if %}` tags: tokens, values, and a small recursive parser
//! (`or`, `and`, `not`, comparisons, `length (list)`, parentheses) that stops at `MAX_NESTING`.

use super::render::Renderer;
use super::values::Value;
use super::MAX_NESTING;

impl Renderer {
    pub(super) fn condition(&mut self, expr: &str, line: usize) -> bool {
        let tokens = tokenize(expr);
        let mut p = Parser { tokens: &tokens, pos: 0, r: self, line, failed: false, depth: 0, too_deep: false };
        let v = p.or();
        let complete = p.pos == tokens.len();
        let (failed, too_deep) = (p.failed, p.too_deep);
        if too_deep {
            let msg = format!("Line {line}: the condition nests parentheses or 'not' more than {MAX_NESTING} deep.");
            self.warnings.push(msg.clone());
            self.too_deep.get_or_insert(msg);
            return false;
        }
        if failed || !complete {
            self.warnings.push(format!("Line {line}: cannot read the condition '{expr}'; the preview treats it as false."));
            return false;
        }
        v.truthy()
    }
}

#[derive(Clone, Debug, PartialEq)]
enum Tok {
    Word(String),
    Num(f64),
    Str(String),
    Op(&'static str),
    Open,
    Close,
}

fn tokenize(s: &str) -> Vec<Tok> {
    let b = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        if c.is_ascii_whitespace() {
            i += 1;
        } else if c == b'(' {
            out.push(Tok::Open);
            i += 1;
        } else if c == b')' {
            out.push(Tok::Close);
            i += 1;
        } else if c == b'"' || c == b'\'' {
            let end = s[i + 1..].find(c as char).map(|e| i + 1 + e).unwrap_or(b.len());
            out.push(Tok::Str(s[i + 1..end].to_string()));
            i = end + 1;
        } else if c.is_ascii_digit() {
            let end = s[i..].find(|ch: char| !ch.is_ascii_digit() && ch != '.').map(|e| i + e).unwrap_or(b.len());
            out.push(Tok::Num(s[i..end].parse().unwrap_or(0.0)));
            i = end;
        } else if c.is_ascii_alphabetic() || c == b'_' {
            let end = s[i..].find(|ch: char| !(ch.is_ascii_alphanumeric() || ch == '_' || ch == '.')).map(|e| i + e).unwrap_or(b.len());
            out.push(Tok::Word(s[i..end].to_string()));
            i = end;
        } else {
            let two = s.get(i..i + 2).unwrap_or("");
            let op = ["==", "!=", ">=", "<=", "&&", "||"].into_iter().find(|o| *o == two);
            match op {
                Some(o) => {
                    out.push(Tok::Op(o));
                    i += 2;
                }
                None => {
                    out.push(Tok::Op(match c {
                        b'>' => ">",
                        b'<' => "<",
                        b'!' => "!",
                        _ => "?",
                    }));
                    i += 1;
                }
            }
        }
    }
    out
}

#[derive(Clone, Debug)]
enum Val {
    Bool(bool),
    Num(f64),
    Str(String),
    Data(Value),
}

impl Val {
    fn truthy(&self) -> bool {
        match self {
            Val::Bool(b) => *b,
            Val::Num(n) => *n != 0.0,
            Val::Str(s) => !s.is_empty(),
            Val::Data(v) => v.truthy(),
        }
    }
    fn num(&self) -> Option<f64> {
        match self {
            Val::Num(n) => Some(*n),
            Val::Str(s) | Val::Data(Value::Str(s)) => s.parse().ok(),
            _ => None,
        }
    }
    fn text(&self) -> String {
        match self {
            Val::Bool(b) => b.to_string(),
            Val::Num(n) => n.to_string(),
            Val::Str(s) => s.clone(),
            Val::Data(v) => v.text(),
        }
    }
}

struct Parser<'a> {
    tokens: &'a [Tok],
    pos: usize,
    r: &'a mut Renderer,
    line: usize,
    failed: bool,
    /// Current nesting of parentheses and `not`; past `MAX_NESTING` parsing stops.
    depth: usize,
    too_deep: bool,
}

impl Parser<'_> {
    /// Enters one level of nesting; false (and parsing stops) beyond the limit.
    fn descend(&mut self) -> bool {
        self.depth += 1;
        if self.depth > MAX_NESTING {
            self.too_deep = true;
            self.failed = true;
            self.pos = self.tokens.len();
            return false;
        }
        true
    }

    fn peek(&self) -> Option<&Tok> {
        self.tokens.get(self.pos)
    }

    fn eat_word(&mut self, w: &str) -> bool {
        if matches!(self.peek(), Some(Tok::Word(x)) if x == w) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    fn eat_op(&mut self, o: &str) -> bool {
        if matches!(self.peek(), Some(Tok::Op(x)) if *x == o) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    fn or(&mut self) -> Val {
        let mut v = self.and();
        while self.eat_word("or") || self.eat_op("||") {
            let rhs = self.and();
            v = Val::Bool(v.truthy() || rhs.truthy());
        }
        v
    }

    fn and(&mut self) -> Val {
        let mut v = self.not();
        while self.eat_word("and") || self.eat_op("&&") {
            let rhs = self.not();
            v = Val::Bool(v.truthy() && rhs.truthy());
        }
        v
    }

    fn not(&mut self) -> Val {
        if self.eat_word("not") || self.eat_op("!") {
            if !self.descend() {
                return Val::Bool(false);
            }
            let v = Val::Bool(!self.not().truthy());
            self.depth -= 1;
            return v;
        }
        self.compare()
    }

    fn compare(&mut self) -> Val {
        let lhs = self.atom();
        let op = match self.peek() {
            Some(Tok::Op(o)) if ["==", "!=", ">", "<", ">=", "<="].contains(o) => *o,
            _ => return lhs,
        };
        self.pos += 1;
        let rhs = self.atom();
        let ord = match (lhs.num(), rhs.num()) {
            (Some(a), Some(b)) => a.partial_cmp(&b),
            _ => Some(lhs.text().cmp(&rhs.text())),
        };
        use std::cmp::Ordering::*;
        Val::Bool(matches!(
            (op, ord),
            ("==", Some(Equal))
                | ("!=", Some(Less | Greater))
                | (">", Some(Greater))
                | ("<", Some(Less))
                | (">=", Some(Greater | Equal))
                | ("<=", Some(Less | Equal))
        ))
    }

    fn atom(&mut self) -> Val {
        let Some(tok) = self.peek().cloned() else {
            self.failed = true;
            return Val::Bool(false);
        };
        self.pos += 1;
        match tok {
            Tok::Num(n) => Val::Num(n),
            Tok::Str(s) => Val::Str(s),
            Tok::Open => {
                if !self.descend() {
                    return Val::Bool(false);
                }
                let v = self.or();
                self.depth -= 1;
                if !matches!(self.peek(), Some(Tok::Close)) {
                    self.failed = true;
                }
                self.pos += 1;
                v
            }
            Tok::Word(w) if w == "length" => {
                let arg = self.atom();
                Val::Num(match arg {
                    Val::Data(Value::List(l)) => l.len() as f64,
                    Val::Data(Value::Str(s)) | Val::Str(s) => s.chars().count() as f64,
                    _ => 0.0,
                })
            }
            Tok::Word(w) if w == "true" || w == "false" => Val::Bool(w == "true"),
            Tok::Word(w) => match self.r.lookup(&w) {
                Some(v) => Val::Data(v),
                None => {
                    let line = self.line;
                    self.r.warnings.push(format!("Line {line}: '{w}' is not a variable the preview knows."));
                    Val::Bool(false)
                }
            },
            _ => {
                self.failed = true;
                Val::Bool(false)
            }
        }
    }
}
