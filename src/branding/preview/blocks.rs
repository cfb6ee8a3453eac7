//! The line structure of a template body: `#if` / `#elif` / `#else` / `#endif` and `#for` /
//! `#endfor` lines become a tree of blocks; mismatched or unclosed blocks become warnings, and
//! blocks nested past `MAX_NESTING` are skipped whole.

use super::MAX_NESTING;

#[derive(Debug)]
pub(super) enum Node {
    Text { text: String, line: usize },
    If { branches: Vec<(String, usize, Vec<Node>)>, otherwise: Vec<Node> },
    For { var: String, list: String, line: usize, body: Vec<Node> },
}

/// One open block while parsing.
enum Open {
    If { branches: Vec<(String, usize, Vec<Node>)>, otherwise: Option<Vec<Node>>, line: usize },
    For { var: String, list: String, line: usize, body: Vec<Node> },
}

fn directive<'a>(line: &'a str, word: &str) -> Option<&'a str> {
    let t = line.trim();
    let rest = t.strip_prefix(word)?;
    (rest.is_empty() || rest.starts_with(char::is_whitespace)).then(|| rest.trim())
}

/// The block tree of `text`, whose first line is template line `first_line`.
pub(super) fn parse_lines(text: &str, first_line: usize, warnings: &mut Vec<String>, too_deep: &mut Option<String>) -> Vec<Node> {
    let mut p = LineParser { root: Vec::new(), stack: Vec::new(), ignored: 0, warnings, too_deep };
    for (i, raw) in text.split('\n').enumerate() {
        p.line(raw, first_line + i);
    }
    p.finish()
}

/// Where the next node goes: the innermost open block (its current branch), or the top level.
fn target<'s>(root: &'s mut Vec<Node>, stack: &'s mut [Open]) -> &'s mut Vec<Node> {
    match stack.last_mut() {
        None => root,
        Some(Open::If { branches, otherwise, .. }) => match otherwise {
            Some(o) => o,
            None => &mut branches.last_mut().expect("an open #if has a branch").2,
        },
        Some(Open::For { body, .. }) => body,
    }
}

struct LineParser<'w> {
    root: Vec<Node>,
    stack: Vec<Open>,
    /// Blocks opened beyond the nesting limit: not built (the tree stays shallow), and their
    /// closing lines are swallowed so the rest still pairs up.
    ignored: usize,
    warnings: &'w mut Vec<String>,
    too_deep: &'w mut Option<String>,
}

impl LineParser<'_> {
    fn line(&mut self, raw: &str, line: usize) {
        if self.skipped(raw, line) {
            return;
        }
        if let Some(expr) = directive(raw, "#if") {
            self.stack.push(Open::If { branches: vec![(expr.to_string(), line, Vec::new())], otherwise: None, line });
        } else if let Some(expr) = directive(raw, "#elif") {
            self.elif(expr, line);
        } else if directive(raw, "#else").is_some() {
            self.otherwise(line);
        } else if directive(raw, "#endif").is_some() {
            self.end_if(line);
        } else if let Some(spec) = directive(raw, "#for") {
            self.open_for(spec, line);
        } else if directive(raw, "#endfor").is_some() {
            self.end_for(line);
        } else {
            self.push(Node::Text { text: raw.to_string(), line });
        }
    }

    /// Whether this line belongs to a block nested past the limit (and so is left out).
    fn skipped(&mut self, raw: &str, line: usize) -> bool {
        let opens = directive(raw, "#if").is_some() || directive(raw, "#for").is_some();
        let closes = directive(raw, "#endif").is_some() || directive(raw, "#endfor").is_some();
        if opens && (self.ignored > 0 || self.stack.len() >= MAX_NESTING) {
            self.ignored += 1;
            self.note_too_deep(line);
            return true;
        }
        if self.ignored > 0 && closes {
            self.ignored -= 1;
            return true;
        }
        self.ignored > 0
    }

    /// Records the first place nested too deep (once, also as a warning).
    fn note_too_deep(&mut self, line: usize) {
        let msg = format!("Line {line}: #if/#for blocks are nested more than {MAX_NESTING} deep.");
        if self.too_deep.is_none() {
            *self.too_deep = Some(msg.clone());
            self.warnings.push(msg);
        }
    }

    fn push(&mut self, node: Node) {
        target(&mut self.root, &mut self.stack).push(node);
    }

    fn elif(&mut self, expr: &str, line: usize) {
        match self.stack.last_mut() {
            Some(Open::If { branches, otherwise: None, .. }) => branches.push((expr.to_string(), line, Vec::new())),
            _ => self.warnings.push(format!("Line {line}: #elif without an open #if.")),
        }
    }

    fn otherwise(&mut self, line: usize) {
        match self.stack.last_mut() {
            Some(Open::If { otherwise: o @ None, .. }) => *o = Some(Vec::new()),
            _ => self.warnings.push(format!("Line {line}: #else without an open #if.")),
        }
    }

    fn end_if(&mut self, line: usize) {
        match self.stack.pop() {
            Some(Open::If { branches, otherwise, .. }) => self.push(Node::If { branches, otherwise: otherwise.unwrap_or_default() }),
            Some(other) => {
                self.warnings.push(format!("Line {line}: #endif closes a #for; expected #endfor."));
                self.stack.push(other);
            }
            None => self.warnings.push(format!("Line {line}: #endif without an open #if.")),
        }
    }

    fn open_for(&mut self, spec: &str, line: usize) {
        let parts: Vec<&str> = spec.split_whitespace().collect();
        match parts.as_slice() {
            [var, "in", list] => self.stack.push(Open::For { var: var.to_string(), list: list.to_string(), line, body: Vec::new() }),
            _ => {
                self.warnings.push(format!("Line {line}: expected '#for item in list'."));
                self.stack.push(Open::For { var: String::new(), list: String::new(), line, body: Vec::new() });
            }
        }
    }

    fn end_for(&mut self, line: usize) {
        match self.stack.pop() {
            Some(Open::For { var, list, line: l, body }) => self.push(Node::For { var, list, line: l, body }),
            Some(other) => {
                self.warnings.push(format!("Line {line}: #endfor closes an #if; expected #endif."));
                self.stack.push(other);
            }
            None => self.warnings.push(format!("Line {line}: #endfor without an open #for.")),
        }
    }

    /// Closes whatever is still open at the end (with a warning each) and returns the tree.
    fn finish(mut self) -> Vec<Node> {
        while let Some(open) = self.stack.pop() {
            let node = match open {
                Open::If { branches, otherwise, line } => {
                    self.warnings.push(format!("Line {line}: #if is never closed with #endif."));
                    Node::If { branches, otherwise: otherwise.unwrap_or_default() }
                }
                Open::For { var, list, line, body } => {
                    self.warnings.push(format!("Line {line}: #for is never closed with #endfor."));
                    Node::For { var, list, line, body }
                }
            };
            self.push(node);
        }
        self.root
    }
}
