//! Renders the block tree with the sample meeting: branches chosen, lists looped, inline
//! `{% if %}` tags on a line, and `%dotted.variable%` substituted (unknown ones kept visible).

use super::blocks::Node;
use super::values::Value;
use std::collections::BTreeMap;

pub(super) struct Renderer {
    pub(super) scopes: Vec<BTreeMap<String, Value>>,
    pub(super) warnings: Vec<String>,
    pub(super) too_deep: Option<String>,
}

impl Renderer {
    pub(super) fn nodes(&mut self, nodes: &[Node], out: &mut Vec<String>) {
        for n in nodes {
            match n {
                Node::Text { text, line } => {
                    let l = self.line(text, *line);
                    out.push(l);
                }
                Node::If { branches, otherwise } => {
                    let chosen = branches.iter().find(|(expr, line, _)| self.condition(expr, *line)).map(|b| &b.2);
                    self.nodes(chosen.unwrap_or(otherwise), out);
                }
                Node::For { var, list, line, body } => {
                    let items = match self.lookup(list) {
                        Some(Value::List(items)) => items,
                        Some(_) => {
                            self.warnings.push(format!("Line {line}: '{list}' is not a list."));
                            Vec::new()
                        }
                        None => {
                            self.warnings.push(format!("Line {line}: unknown list '{list}'."));
                            Vec::new()
                        }
                    };
                    for item in items {
                        self.scopes.push(BTreeMap::from([(var.clone(), item)]));
                        self.nodes(body, out);
                        self.scopes.pop();
                    }
                }
            }
        }
    }

    pub(super) fn lookup(&self, path: &str) -> Option<Value> {
        let mut parts = path.split('.');
        let head = parts.next()?;
        let mut v = self.scopes.iter().rev().find_map(|s| s.get(head))?.clone();
        for p in parts {
            v = match v {
                Value::Map(m) => m.get(p)?.clone(),
                Value::List(l) => l.get(p.parse::<usize>().ok()?)?.clone(),
                Value::Str(_) => return None,
            };
        }
        Some(v)
    }

    /// One text line: inline `{% if %}` blocks first, then `%variables%`.
    pub(super) fn line(&mut self, text: &str, line: usize) -> String {
        let mut out = String::new();
        // Each open inline block: (this branch is shown, an earlier branch was shown, parent shown).
        let mut stack: Vec<(bool, bool, bool)> = Vec::new();
        let shown = |s: &Vec<(bool, bool, bool)>| s.last().map(|t| t.0).unwrap_or(true);
        let mut rest = text;
        while let Some(start) = rest.find("{%") {
            if shown(&stack) {
                out.push_str(&self.substitute(&rest[..start], line));
            }
            let Some(len) = rest[start..].find("%}") else {
                self.warnings.push(format!("Line {line}: '{{%' without a closing '%}}'."));
                rest = &rest[start..];
                break;
            };
            let tag = rest[start + 2..start + len].trim();
            rest = &rest[start + len + 2..];
            let (word, arg) = tag.split_once(char::is_whitespace).map(|(w, a)| (w, a.trim())).unwrap_or((tag, ""));
            match word {
                "if" => {
                    let parent = shown(&stack);
                    let c = parent && self.condition(arg, line);
                    stack.push((c, c, parent));
                }
                "elif" => match stack.last_mut() {
                    Some(top) => {
                        let c = top.2 && !top.1 && self.condition(arg, line);
                        top.0 = c;
                        top.1 |= c;
                    }
                    None => self.warnings.push(format!("Line {line}: {{% elif %}} without {{% if %}}.")),
                },
                "else" => match stack.last_mut() {
                    Some(top) => top.0 = top.2 && !top.1,
                    None => self.warnings.push(format!("Line {line}: {{% else %}} without {{% if %}}.")),
                },
                "endif" => {
                    if stack.pop().is_none() {
                        self.warnings.push(format!("Line {line}: {{% endif %}} without {{% if %}}."));
                    }
                }
                other => self.warnings.push(format!("Line {line}: unknown tag '{{% {other} %}}'.")),
            }
        }
        if !stack.is_empty() {
            self.warnings.push(format!("Line {line}: {{% if %}} is not closed with {{% endif %}} on the same line."));
        }
        if shown(&stack) {
            out.push_str(&self.substitute(rest, line));
        }
        out
    }

    fn substitute(&mut self, text: &str, line: usize) -> String {
        let mut out = String::with_capacity(text.len());
        let mut rest = text;
        while let Some(i) = rest.find('%') {
            out.push_str(&rest[..i]);
            let after = &rest[i + 1..];
            let name_len = after.find('%');
            let is_var = name_len.is_some_and(|n| {
                n > 0
                    && after[..n].bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'.')
                    && after.as_bytes()[0].is_ascii_alphabetic()
            });
            match (is_var, name_len) {
                (true, Some(n)) => {
                    let name = &after[..n];
                    match self.lookup(name) {
                        Some(v) => out.push_str(&v.text()),
                        None => {
                            self.warnings
                                .push(format!("Line {line}: %{name}% is not a variable the preview knows (CMS may leave it empty)."));
                            out.push('%');
                            out.push_str(name);
                            out.push('%');
                        }
                    }
                    rest = &after[n + 1..];
                }
                _ => {
                    out.push('%');
                    rest = after;
                }
            }
        }
        out.push_str(rest);
        out
    }
}
