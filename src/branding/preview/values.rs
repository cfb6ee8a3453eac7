//! The sample meeting a preview renders with: strings, lists and maps, as CMS fills them in for
//! a space's invitation.

use std::collections::BTreeMap;

#[derive(Clone, Debug)]
pub(super) enum Value {
    Str(String),
    List(Vec<Value>),
    Map(BTreeMap<String, Value>),
}

impl Value {
    pub(super) fn truthy(&self) -> bool {
        match self {
            Value::Str(s) => !s.is_empty(),
            Value::List(l) => !l.is_empty(),
            Value::Map(m) => !m.is_empty(),
        }
    }

    pub(super) fn text(&self) -> String {
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
pub(super) fn sample_context() -> BTreeMap<String, Value> {
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
