//! A preview of a CMS 3.1+ invitation template with sample meeting values, so operators see what
//! a guest would receive while they edit. Runs in the browser (no server dependencies). The
//! grammar is what the published sample templates use (reference/cms.md §1.1): a `Subject:` line
//! with `{% if x %}…{% else %}…{% endif %}`, body lines `#if` / `#else` / `#endif`,
//! `#for v in list` / `#endfor`, `length (list) > 0`, and `%dotted.variable%`. CMS's own grammar
//! is richer and not fully documented, so anything unknown becomes a warning, never a failure.

use std::collections::BTreeMap;

/// Deepest nesting of `#if`/`#for` blocks, and of parentheses and `not` in one condition.
/// CMS's own templates use a handful; the limit keeps the parser and renderer (which recurse)
/// far from the stack's end whatever is uploaded.
pub const MAX_NESTING: usize = 32;

/// The rendered template and what looked wrong.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Preview {
    pub subject: Option<String>,
    pub body: String,
    pub warnings: Vec<String>,
    /// The first place nested deeper than `MAX_NESTING`; such a template is refused on upload.
    pub too_deep: Option<String>,
}

#[derive(Clone, Debug)]
enum Value {
    Str(String),
    List(Vec<Value>),
    Map(BTreeMap<String, Value>),
}

impl Value {
    fn truthy(&self) -> bool {
        match self {
            Value::Str(s) => !s.is_empty(),
            Value::List(l) => !l.is_empty(),
            Value::Map(m) => !m.is_empty(),
        }
    }

    fn text(&self) -> String {
        match self {
            Value::Str(s) => s.clone(),
            Value::List(l) => format!("[{} items]", l.len()),
            Value::Map(_) => "[object]".into(),
        }
    }
}

fn map(pairs: &[(&str, &str)]) -> Value {
    Value::Map(pairs.iter().map(|(k, v)| (k.to_string(), Value::Str(v.to_string()))).collect())
}

/// The sample meeting: what CMS fills in for a space's invitation.
fn sample_context() -> BTreeMap<String, Value> {
    let mut root = BTreeMap::new();
    root.insert("name".into(), Value::Str("Quarterly review".into()));
    root.insert("uri".into(), Value::Str("quarterly.review@video.example.com".into()));
    root.insert("numeric_id".into(), Value::Str("4455667788".into()));
    root.insert("passcode".into(), Value::Str("2468".into()));
    root.insert(
        "web_bridge_addresses".into(),
        Value::List(vec![
            map(&[
                ("label", "Web app"),
                ("address", "https://join.example.com/meeting/4455667788"),
                ("hyperlink", "https://join.example.com/meeting/4455667788?secret=Qa1b2c3"),
            ]),
            map(&[
                ("label", "Web app (EU)"),
                ("address", "https://join-eu.example.com/meeting/4455667788"),
                ("hyperlink", "https://join-eu.example.com/meeting/4455667788?secret=Qa1b2c3"),
            ]),
        ]),
    );
    root
}

/// Renders `template` with the sample meeting.
pub fn render_preview(template: &str) -> Preview {
    let mut warnings = Vec::new();
    let text = template.replace("\r\n", "\n");
    let (subject_line, body_text) = match text.split_once('\n') {
        Some((first, rest)) if first.trim_start().starts_with("Subject:") => (Some(first.to_string()), rest.to_string()),
        None if text.trim_start().starts_with("Subject:") => (Some(text.clone()), String::new()),
        _ => {
            warnings.push("The first line is not 'Subject: …'; CMS 3.1+ templates start with the subject.".into());
            (None, text.clone())
        }
    };
    let mut too_deep = None;
    let nodes = parse_lines(&body_text, if subject_line.is_some() { 2 } else { 1 }, &mut warnings, &mut too_deep);
    let mut r = Renderer { scopes: vec![sample_context()], warnings, too_deep };
    let subject = subject_line.map(|l| {
        let rest = l.trim_start().trim_start_matches("Subject:").trim_start();
        r.line(rest, 1)
    });
    let mut out = Vec::new();
    r.nodes(&nodes, &mut out);
    let mut warnings = r.warnings;
    warnings.dedup();
    Preview { subject, body: out.join("\n"), warnings, too_deep: r.too_deep }
}

#[derive(Debug)]
enum Node {
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

fn parse_lines(text: &str, first_line: usize, warnings: &mut Vec<String>, too_deep: &mut Option<String>) -> Vec<Node> {
    let mut root: Vec<Node> = Vec::new();
    let mut stack: Vec<Open> = Vec::new();
    // Blocks opened beyond the nesting limit: not built (the tree stays shallow), and their
    // closing lines are swallowed so the rest still pairs up.
    let mut ignored = 0usize;
    let mut deep = |line: usize, warnings: &mut Vec<String>| {
        let msg = format!("Line {line}: #if/#for blocks are nested more than {MAX_NESTING} deep.");
        if too_deep.is_none() {
            *too_deep = Some(msg.clone());
            warnings.push(msg);
        }
    };

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

    for (i, raw) in text.split('\n').enumerate() {
        let line = first_line + i;
        let opens = directive(raw, "#if").is_some() || directive(raw, "#for").is_some();
        let closes = directive(raw, "#endif").is_some() || directive(raw, "#endfor").is_some();
        if opens && (ignored > 0 || stack.len() >= MAX_NESTING) {
            ignored += 1;
            deep(line, warnings);
            continue;
        }
        if ignored > 0 && closes {
            ignored -= 1;
            continue;
        }
        if ignored > 0 {
            continue;
        }
        if let Some(expr) = directive(raw, "#if") {
            stack.push(Open::If { branches: vec![(expr.to_string(), line, Vec::new())], otherwise: None, line });
        } else if let Some(expr) = directive(raw, "#elif") {
            match stack.last_mut() {
                Some(Open::If { branches, otherwise: None, .. }) => branches.push((expr.to_string(), line, Vec::new())),
                _ => warnings.push(format!("Line {line}: #elif without an open #if.")),
            }
        } else if directive(raw, "#else").is_some() {
            match stack.last_mut() {
                Some(Open::If { otherwise: o @ None, .. }) => *o = Some(Vec::new()),
                _ => warnings.push(format!("Line {line}: #else without an open #if.")),
            }
        } else if directive(raw, "#endif").is_some() {
            match stack.pop() {
                Some(Open::If { branches, otherwise, .. }) => {
                    let node = Node::If { branches, otherwise: otherwise.unwrap_or_default() };
                    target(&mut root, &mut stack).push(node);
                }
                Some(other) => {
                    warnings.push(format!("Line {line}: #endif closes a #for; expected #endfor."));
                    stack.push(other);
                }
                None => warnings.push(format!("Line {line}: #endif without an open #if.")),
            }
        } else if let Some(spec) = directive(raw, "#for") {
            let parts: Vec<&str> = spec.split_whitespace().collect();
            match parts.as_slice() {
                [var, "in", list] => stack.push(Open::For { var: var.to_string(), list: list.to_string(), line, body: Vec::new() }),
                _ => {
                    warnings.push(format!("Line {line}: expected '#for item in list'."));
                    stack.push(Open::For { var: String::new(), list: String::new(), line, body: Vec::new() });
                }
            }
        } else if directive(raw, "#endfor").is_some() {
            match stack.pop() {
                Some(Open::For { var, list, line: l, body }) => target(&mut root, &mut stack).push(Node::For { var, list, line: l, body }),
                Some(other) => {
                    warnings.push(format!("Line {line}: #endfor closes an #if; expected #endif."));
                    stack.push(other);
                }
                None => warnings.push(format!("Line {line}: #endfor without an open #for.")),
            }
        } else {
            target(&mut root, &mut stack).push(Node::Text { text: raw.to_string(), line });
        }
    }
    while let Some(open) = stack.pop() {
        let node = match open {
            Open::If { branches, otherwise, line } => {
                warnings.push(format!("Line {line}: #if is never closed with #endif."));
                Node::If { branches, otherwise: otherwise.unwrap_or_default() }
            }
            Open::For { var, list, line, body } => {
                warnings.push(format!("Line {line}: #for is never closed with #endfor."));
                Node::For { var, list, line, body }
            }
        };
        target(&mut root, &mut stack).push(node);
    }
    root
}

struct Renderer {
    scopes: Vec<BTreeMap<String, Value>>,
    warnings: Vec<String>,
    too_deep: Option<String>,
}

impl Renderer {
    fn nodes(&mut self, nodes: &[Node], out: &mut Vec<String>) {
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

    fn lookup(&self, path: &str) -> Option<Value> {
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
    fn line(&mut self, text: &str, line: usize) -> String {
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

    fn condition(&mut self, expr: &str, line: usize) -> bool {
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

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = "Subject: {% if name %}Join %name%{% else %}Join a meeting{% endif%}\n\
#if name\nSpace: %name%\n#else\nNo name\n#endif\n\
#if length (web_bridge_addresses) > 0\nBrowser: %web_bridge_addresses.0.address%\n#endif\n\
#for wba in web_bridge_addresses\n- %wba.label%: %wba.hyperlink%\n#endfor\n\
#if passcode\nPasscode: %passcode%\n#endif\n100% sure";

    #[test]
    fn the_sample_template_renders_subject_conditions_loops_and_variables() {
        let p = render_preview(SAMPLE);
        assert_eq!(p.subject.as_deref(), Some("Join Quarterly review"));
        assert!(p.body.contains("Space: Quarterly review"), "{}", p.body);
        assert!(!p.body.contains("No name"));
        assert!(p.body.contains("Browser: https://join.example.com/meeting/4455667788\n"), "{}", p.body);
        assert!(p.body.contains("- Web app: https://join.example.com/meeting/4455667788?secret=Qa1b2c3"));
        assert!(p.body.contains("- Web app (EU): "));
        assert!(p.body.contains("Passcode: 2468"));
        assert!(p.body.ends_with("100% sure"), "a lone percent sign is text: {}", p.body);
        assert!(!p.body.contains('#'), "directives are not output: {}", p.body);
        assert!(p.warnings.is_empty(), "{:?}", p.warnings);
    }

    #[test]
    fn false_conditions_take_the_else_branches() {
        let p = render_preview("Subject: {% if missing_thing %}A{% else %}B{% endif %}\n#if not passcode\nopen\n#else\nlocked\n#endif");
        assert_eq!(p.subject.as_deref(), Some("B"));
        assert_eq!(p.body, "locked");
    }

    #[test]
    fn unbalanced_blocks_and_unknown_variables_are_warnings_with_line_numbers() {
        let p = render_preview("Hello %nmae%\n#if name\nopen\n#endfor\n");
        assert!(p.subject.is_none());
        let all = p.warnings.join("\n");
        assert!(all.contains("Subject"), "{all}");
        assert!(all.contains("Line 1: %nmae%"), "{all}");
        assert!(all.contains("Line 2: #if is never closed"), "{all}");
        assert!(all.contains("Line 4: #endfor closes an #if"), "{all}");
        assert!(p.body.contains("%nmae%"), "unknown variables stay visible");
    }

    #[test]
    fn unreadable_conditions_are_false_and_reported() {
        let p = render_preview("Subject: x\n#if length (\nshown\n#endif\nafter");
        assert_eq!(p.body, "after");
        assert!(p.warnings.iter().any(|w| w.contains("cannot read the condition")), "{:?}", p.warnings);
    }

    #[test]
    fn deeply_nested_conditions_and_blocks_are_reported_not_a_stack_overflow() {
        let parens = format!("Subject: x\n#if {}name{}\nhi\n#endif", "(".repeat(30_000), ")".repeat(30_000));
        let p = render_preview(&parens);
        assert!(p.too_deep.as_deref().is_some_and(|m| m.contains("Line 2") && m.contains("32")), "{:?}", p.too_deep);
        let nots = format!("Subject: x\n#if {}name\nhi\n#endif", "not ".repeat(30_000));
        assert!(render_preview(&nots).too_deep.is_some());
        let blocks = format!("Subject: x\n{}hi\n{}after", "#if name\n".repeat(30_000), "#endif\n".repeat(30_000));
        let p = render_preview(&blocks);
        assert!(p.too_deep.as_deref().is_some_and(|m| m.contains("Line 34")), "{:?}", p.too_deep);
        assert!(p.body.ends_with("after"), "the rest of the template still renders");
    }

    #[test]
    fn nesting_up_to_the_limit_still_renders() {
        let ok = format!("Subject: x\n#if {}name{}\nyes\n#endif", "(".repeat(MAX_NESTING), ")".repeat(MAX_NESTING));
        let p = render_preview(&ok);
        assert_eq!((p.too_deep, p.body.as_str()), (None, "yes"));
        let blocks = format!("Subject: x\n{}in\n{}", "#if name\n".repeat(MAX_NESTING), "#endif\n".repeat(MAX_NESTING));
        let p = render_preview(&blocks);
        assert_eq!(p.too_deep, None);
        assert!(p.body.starts_with("in"));
    }
}
