//! Simulators of the systems Switchboard talks to, speaking their documented wire formats over
//! real HTTP, awkward parts included (short pages, resends, faults), for tests and demo mode.

pub mod cms;
pub mod connect;
pub mod ews;
pub mod faults;
pub mod graph;
pub mod lost;
pub mod request_log;
pub mod webex;

#[cfg(test)]
mod tests {
    use std::path::Path;

    fn sources(dir: &Path, out: &mut Vec<(String, String)>) {
        for entry in std::fs::read_dir(dir).expect("read the simulators' folder") {
            let path = entry.expect("folder entry").path();
            if path.is_dir() {
                sources(&path, out);
            } else if path.extension().is_some_and(|e| e == "rs") {
                out.push((path.display().to_string(), std::fs::read_to_string(&path).expect("read a source file")));
            }
        }
    }

    /// A simulator written from the reference, not from our client: it may use the lock policy
    /// (`crate::sync`) and other simulators, nothing else of this crate — no client's reader,
    /// writer, wire types or constants.
    #[test]
    fn simulators_import_nothing_of_the_clients_they_imitate() {
        let mut files = Vec::new();
        sources(&Path::new(env!("CARGO_MANIFEST_DIR")).join("sim"), &mut files);
        assert!(files.len() >= 30, "all the simulators' files are read: {}", files.len());
        // Spelled in two halves so that this test's own source does not match.
        let (krate, lib) = (concat!("crate", "::"), concat!("switch", "board::"));
        let mut offending = Vec::new();
        for (path, text) in &files {
            for (i, line) in text.lines().enumerate() {
                let mut rest = line;
                while let Some(at) = rest.find(krate) {
                    let after = &rest[at + krate.len()..];
                    if !(after.starts_with("sim") || after.starts_with("sync")) {
                        offending.push(format!("{path}:{}: {}", i + 1, line.trim()));
                    }
                    rest = after;
                }
                if line.contains(lib) {
                    offending.push(format!("{path}:{}: {}", i + 1, line.trim()));
                }
            }
        }
        assert!(offending.is_empty(), "simulators importing the crate's clients:\n{}", offending.join("\n"));
    }
}
